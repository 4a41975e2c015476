#include "groups/groups_table.hpp"

#include <mutex>
#include <string>

namespace syn::detail {

MemberRec& Group::put(const Pid& pid, MemberRec rec) {
  auto [it, inserted] = members.try_emplace(pid);
  if (inserted) ++per_node[pid.node_atom()];
  it->second = std::move(rec);
  return it->second;
}

absl::btree_map<Pid, MemberRec>::iterator Group::erase(absl::btree_map<Pid, MemberRec>::iterator it) {
  auto atom = it->first.node_atom();
  if (--per_node[atom] == 0) per_node.erase(atom);
  return members.erase(it);
}

std::vector<std::string> GroupsTable::check_invariants(std::uint32_t self_atom) const {
  std::vector<std::string> broken;
  for (std::size_t i = 0; i < kShards; ++i) {
    const Shard& s = shards_[i];
    ReaderLock lock(s.mutex);
    for (const auto& [key, group] : s.groups) {
      if (group.members.empty()) broken.push_back("shard " + std::to_string(i) + ": an empty group");
      absl::flat_hash_map<std::uint32_t, std::uint32_t> counted;
      for (const auto& [pid, rec] : group.members) {
        ++counted[pid.node_atom()];
        if (rec.local && pid.node_atom() != self_atom) {
          broken.push_back("a local member of another node's pid " + pid.to_string());
        }
      }
      if (counted != group.per_node) {
        broken.push_back("shard " + std::to_string(i) + ": a group's per-node counts do not match its members");
      }
    }
  }
  return broken;
}

}  // namespace syn::detail
