#include "registry/registry_table.hpp"

#include <mutex>

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
    auto lock = s.read_lock();
    n += s.entries.size();
  }
  return n;
}

std::size_t RegistryTable::count(std::uint32_t node_atom) const {
  std::size_t n = 0;
  for (const auto& s : shards_) {
    auto lock = s.read_lock();
    if (auto it = s.per_node.find(node_atom); it != s.per_node.end()) n += it->second;
  }
  return n;
}

}  // namespace syn::detail
