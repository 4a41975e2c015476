#pragma once
// In-process clusters for tests: several Nodes in this OS process, real TCP on loopback.
#include "support/eventually.hpp"

#include <syn/syn.hpp>

#include <memory>
#include <string>
#include <vector>

namespace syn::test {

/// Options for a test node: loopback, port 0, quick failure detection.
NodeOptions test_options(const std::string& name, std::vector<std::string> scopes = {});

/// Nodes named `prefix`1..n, each seeded with the first, waited until fully meshed.
class Cluster {
 public:
  Cluster(std::size_t n, std::vector<std::string> scopes = {}, const std::string& prefix = "n",
          bool auto_connect = true);
  /// Builds from explicit options (the first node's endpoint is added to the others' seeds
  /// when `seed_first` is set).
  explicit Cluster(std::vector<NodeOptions> options, bool seed_first = true);

  Node& operator[](std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const { return nodes_.size(); }
  /// Waits until every node sees every other one.
  bool wait_full_mesh(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Destroys node i (graceful leave).
  void stop(std::size_t i) { nodes_.at(i).reset(); }
  bool running(std::size_t i) const { return nodes_.at(i) != nullptr; }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
};

/// True when `node.nodes()` equals `expected` (any order).
bool sees_exactly(const Node& node, std::vector<std::string> expected);

}  // namespace syn::test
