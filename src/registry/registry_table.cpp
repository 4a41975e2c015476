#include "registry/registry_table.hpp"

#include <mutex>
#include <set>
#include <string>

namespace syn::detail {

static_assert(RegistryTable::kShards == 64, "index() takes the top 6 bits of the hash");

RegEntry& RegistryTable::Shard::put(std::string_view key, RegEntry entry) {
  auto [it, inserted] = entries.try_emplace(key);
  if (!inserted) {
    if (--per_node[it->second.pid.node_atom()] == 0) per_node.erase(it->second.pid.node_atom());
  }
  ++per_node[entry.pid.node_atom()];
  it->second = std::move(entry);
  return it->second;
}

void RegistryTable::Shard::erase(Map::iterator it) {
  auto atom = it->second.pid.node_atom();
  if (--per_node[atom] == 0) per_node.erase(atom);
  entries.erase(it);
}

void RegistryTable::Shard::replace(Map::iterator it, RegEntry entry) {
  auto old_atom = it->second.pid.node_atom();
  if (--per_node[old_atom] == 0) per_node.erase(old_atom);
  ++per_node[entry.pid.node_atom()];
  it->second = std::move(entry);
}

std::size_t RegistryTable::size() const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    Shard::ReadLock lock(s);
    n += s.entries.size();
  }
  return n;
}

std::size_t RegistryTable::count(std::uint32_t node_atom) const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    Shard::ReadLock lock(s);
    if (auto it = s.per_node.find(node_atom); it != s.per_node.end()) n += it->second;
  }
  return n;
}

std::vector<std::string> RegistryTable::check_invariants(std::uint32_t self_atom) const {
  std::vector<std::string> broken;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    Shard::ReadLock lock(s);
    absl::flat_hash_map<std::uint32_t, std::size_t> counted;
    for (const auto& [key, e] : s.entries) {
      ++counted[e.pid.node_atom()];
      if (e.local() && e.pid.node_atom() != self_atom) {
        broken.push_back("shard " + std::to_string(i) + ": a local entry of another node's pid " + e.pid.to_string());
      }
    }
    if (counted.size() != s.per_node.size()) {
      broken.push_back("shard " + std::to_string(i) + ": per-node counts for " + std::to_string(s.per_node.size()) +
                       " nodes, entries of " + std::to_string(counted.size()));
    }
    for (const auto& [atom, n] : counted) {
      auto it = s.per_node.find(atom);
      if (it == s.per_node.end() || it->second != n) {
        broken.push_back("shard " + std::to_string(i) + ": per-node count of " + std::to_string(atom) + " is " +
                         (it == s.per_node.end() ? std::string("missing") : std::to_string(it->second)) + ", entries " +
                         std::to_string(n));
      }
    }
    for (const auto& [key, hidden] : s.hidden) {
      auto shown = s.entries.find(std::string_view(key));
      if (shown == s.entries.end()) {
        broken.push_back("shard " + std::to_string(i) + ": a hidden registration with no shown one");
        continue;
      }
      std::set<std::uint32_t> nodes;
      for (const auto& h : hidden) {
        if (h.local()) broken.push_back("a hidden registration of a local process " + h.pid.to_string());
        if (!nodes.insert(h.pid.node_atom()).second) {
          broken.push_back("two hidden registrations of one node for a name (" + h.pid.to_string() + ")");
        }
        if (h.pid.node_atom() == shown->second.pid.node_atom()) {
          broken.push_back("a hidden registration of the shown one's node (" + h.pid.to_string() + ")");
        }
      }
      if (hidden.empty()) broken.push_back("shard " + std::to_string(i) + ": an empty hidden list");
    }
  }
  return broken;
}

}  // namespace syn::detail
