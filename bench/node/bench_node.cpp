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

void BenchNode::start_background(std::function<void()> fn) {
  std::lock_guard lock(background_mutex_);
  background_.emplace_back(std::move(fn));
}

}  // namespace syn::bench
