// Messaging to groups: publish (pub/sub) and multi_call (scatter/gather). Members come from
// this node's replica only (SPEC 2).
#include "groups/groups_scope.hpp"
#include "node/scope_host.hpp"
#include "wire/term_codec.hpp"

#include <map>
#include <mutex>

namespace syn::detail {

std::size_t GroupsScope::publish(const Term& group, const Term& message, bool local_only) {
  std::string key = wire::canonical(group);
  node_->require_fits_bytes(key, "the group");
  node_->require_fits(message, "the message");
  std::size_t delivered = 0;
  // Remote members by (node, incarnation): one message per node carries them all.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::uint64_t>> remote;
  {
    const auto& shard = table_.shard_for(key);
    ReaderLock lock(shard.mutex);
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) return 0;
    for (const auto& [pid, rec] : it->second.members) {
      if (rec.local) {
        if (rec.local->deliver(Message{message, nullptr})) ++delivered;
      } else if (!local_only) {
        remote[{pid.node_atom(), pid.creation()}].push_back(pid.id());
        ++delivered;
      }
    }
  }
  if (remote.empty()) return delivered;
  std::string body = wire::canonical(message);
  for (const auto& [node, ids] : remote) node_->send_to_many(node.first, node.second, ids, body);
  return delivered;
}

MultiCallResult GroupsScope::multi_call(const Term& group, const Term& message, std::chrono::milliseconds timeout) {
  node_->require_fits(group, "the group");
  node_->require_fits(message, "the multi_call message");
  return node_->multi_call(members(group), message, timeout);
}

}  // namespace syn::detail
