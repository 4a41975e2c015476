#include "groups/groups_table.hpp"

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

}  // namespace syn::detail
