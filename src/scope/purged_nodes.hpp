#pragma once
// The nodes one purge removes (ScopeHandler::purge_nodes), each with the reason its entries'
// callbacks carry. Peers that go down together are purged together: a handler scans its
// table once and asks each entry's node here, rather than scanning once per node.
#include <syn/events.hpp>
#include <syn/pid.hpp>

#include <absl/container/flat_hash_map.h>

#include <cstdint>
#include <vector>

namespace syn::detail {

class PurgedNodes {
 public:
  explicit PurgedNodes(const std::vector<std::uint32_t>& nodes) : nodes_(nodes) {
    reasons_.reserve(nodes.size());
    for (auto node : nodes) reasons_.try_emplace(node, Reason::node_down(node_name_of(node)));
  }

  /// The reason for the entries of `node`, or nullptr when `node` is not purged.
  const Reason* find(std::uint32_t node) const {
    auto it = reasons_.find(node);
    return it == reasons_.end() ? nullptr : &it->second;
  }
  bool contains(std::uint32_t node) const { return reasons_.contains(node); }

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
  absl::flat_hash_map<std::uint32_t, Reason> reasons_;
};

}  // namespace syn::detail
