#include "driver/cluster.hpp"

#include <chrono>

namespace syn::bench {

Cluster::Cluster(ClusterConfig config, std::size_t size) : config_(std::move(config)) {
  start({});
  std::vector<std::string> seeds{nodes_.front()->endpoint()};
  for (std::size_t i = 1; i < size; ++i) start(seeds);
  wait_mesh(size - 1);
}

Cluster::~Cluster() {
  for (auto& n : nodes_) n->begin_stop();
  for (auto& n : nodes_) n->finish_stop();
}

NodeProcess& Cluster::start(const std::vector<std::string>& seeds) {
  std::string name = "n" + std::to_string(nodes_.size() + 1);
  Term options{{"name", name}, {"listen", "tcp://127.0.0.1:0"}, {"seeds", seeds}, {"scopes", {"bench"}}};
  if (!config_.cluster_key_file.empty()) options["cluster_key_file"] = config_.cluster_key_file;
  std::string log = config_.log_dir + "/" + config_.tag + "-" + name + ".log";
  nodes_.push_back(std::make_unique<NodeProcess>(config_.node_binary, options, log));
  return *nodes_.back();
}

NodeProcess& Cluster::add_unconnected() { return start({}); }

void Cluster::wait_mesh(std::size_t peers) {
  std::vector<std::pair<NodeProcess*, std::int64_t>> pending;
  for (auto& n : nodes_) {
    if (n->running()) pending.emplace_back(n.get(), n->send("wait_mesh", {{"peers", peers}, {"timeout_ms", 20000}}));
  }
  for (auto& [node, id] : pending) node->await(id, std::chrono::seconds(30));
}

}  // namespace syn::bench
