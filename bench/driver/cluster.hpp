#pragma once
/// \file
/// A benchmark cluster: syn-bench-node processes on 127.0.0.1, one per node, fully meshed.

#include "driver/node_process.hpp"

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace syn::bench {

/// Where nodes come from and where their logs go.
struct ClusterConfig {
  std::string node_binary;
  std::string log_dir;
  std::string tag;               ///< log file prefix, e.g. "registry-r1"
  std::string cluster_key_file;  ///< non-empty: every node holds this key (CURVE links)
};

/// Nodes n1..nk, each seeded with n1, waited until every one sees the others in both
/// handlers of the scope "bench". The destructor stops every node it started (by pid).
class Cluster {
 public:
  /// Starts `size` meshed nodes. Throws std::runtime_error when the mesh does not form.
  Cluster(ClusterConfig config, std::size_t size);
  ~Cluster();
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  /// Node i (0-based: node 0 is "n1").
  NodeProcess& operator[](std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const { return nodes_.size(); }
  /// Starts one more node, not connected to anyone (it joins with its "connect" command).
  NodeProcess& add_unconnected();
  /// Waits until every running node sees `peers` others (both handlers).
  void wait_mesh(std::size_t peers);

 private:
  NodeProcess& start(const std::vector<std::string>& seeds);

  ClusterConfig config_;
  std::vector<std::unique_ptr<NodeProcess>> nodes_;
};

}  // namespace syn::bench
