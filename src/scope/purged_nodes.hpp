#pragma once
// The nodes one purge removes (ScopeHandler::purge_nodes), each with the reason its entries'
// callbacks carry. Peers that go down together are purged together: a handler scans its
// table once and asks each entry's node here, rather than scanning once per node.
#include <syn/events.hpp>
#include <syn/pid.hpp>

#include <cstdint>
#include <utility>
#include <vector>

namespace syn::detail {

class PurgedNodes {
 public:
  explicit PurgedNodes(const std::vector<std::uint32_t>& nodes) : nodes_(nodes) {
    reasons_.reserve(nodes.size());
    for (auto node : nodes) reasons_.emplace_back(node, Reason::node_down(node_name_of(node)));
  }

  /// The reason for the entries of `node`, or nullptr when `node` is not purged. Asked once
  /// per entry of the table: a look along a few atoms (one, mostly; at most the peers) costs
  /// less than hashing.
  const Reason* find(std::uint32_t node) const {
    for (const auto& [atom, reason] : reasons_) {
      if (atom == node) return &reason;
    }
    return nullptr;
  }
  bool contains(std::uint32_t node) const { return find(node) != nullptr; }

  /// True when `per_node` (a count of entries by node atom) counts any purged node: a shard
  /// or group without one has nothing to purge.
  template <class PerNode>
  bool any_counted_in(const PerNode& per_node) const {
    for (auto node : nodes_) {
      if (per_node.count(node)) return true;
    }
    return false;
  }

  const std::vector<std::uint32_t>& nodes() const { return nodes_; }

 private:
  const std::vector<std::uint32_t>& nodes_;
  std::vector<std::pair<std::uint32_t, Reason>> reasons_;
};

}  // namespace syn::detail
