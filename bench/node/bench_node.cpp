#include "node/bench_node.hpp"

#include <stdexcept>

namespace syn::bench {

namespace {

syn::NodeOptions options_with_scope(const Term& json) {
  syn::NodeOptions options = syn::NodeOptions::from_json(json);
  bool has = false;
  for (const auto& s : options.scopes) has = has || s == kScope;
  if (!has) options.scopes.emplace_back(kScope);
  return options;
}

}  // namespace

BenchNode::BenchNode(const Term& options)
    : node_(std::make_unique<syn::Node>(options_with_scope(options))),
      registry_(node_->registry(kScope)),
      groups_(node_->groups(kScope)) {}

BenchNode::~BenchNode() {
  request_stop();
  for (auto& p : procs_) p.exit("shutdown");  // wakes threads blocked in receive()
  std::vector<std::thread> threads;
  {
    std::lock_guard lock(background_mutex_);
    threads.swap(background_);
  }
  for (auto& t : threads) t.join();
  {
    std::lock_guard lock(kept_mutex_);
    kept_.clear();
  }
  procs_.clear();
  node_.reset();
}

std::vector<Term>& BenchNode::name_set(const std::string& set) {
  std::lock_guard lock(names_mutex_);
  auto it = names_.find(set);
  if (it == names_.end()) throw std::runtime_error("unknown name set '" + set + "'");
  return it->second;
}

void BenchNode::put_name_set(const std::string& set, std::vector<Term> names) {
  std::lock_guard lock(names_mutex_);
  names_[set] = std::move(names);
}

void BenchNode::keep(const std::string& key, std::shared_ptr<void> object) {
  std::lock_guard lock(kept_mutex_);
  kept_[key] = std::move(object);
}

std::shared_ptr<void> BenchNode::kept(const std::string& key) {
  std::lock_guard lock(kept_mutex_);
  auto it = kept_.find(key);
  if (it == kept_.end()) throw std::runtime_error("nothing kept under '" + key + "'");
  return it->second;
}

void BenchNode::start_background(std::function<void()> fn) {
  std::lock_guard lock(background_mutex_);
  background_.emplace_back(std::move(fn));
}

}  // namespace syn::bench
