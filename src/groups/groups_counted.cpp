// Counted memberships (OTP pg's join/leave semantics, SPEC 4): a pid joined n times with
// join_counted stays a member until n leave_counted. The count lives on the pid's node only
// (GroupsTable::Shard::join_counts); peers see one membership, made by the first counted join
// and removed by the last counted leave, the only two that replicate and fire callbacks.
// A plain join of a non-member counts 1; a plain leave removes the membership whatever the count.
#include "groups/groups_scope.hpp"

#include "node/scope_host.hpp"
#include "scope/entry_writes.hpp"
#include "wire/messages.hpp"

namespace syn::detail {

Result<std::size_t> GroupsScope::join_counted(const Term& group, const Pid& pid, Term meta, bool by_self) {
  engine_.counters().count(WriteCall::join);
  if (auto refused = write_refused(engine_, node_->stopped())) return syn::unexpected(*refused);
  if (node_->options().strict_mode && !by_self) return syn::unexpected(Errc::not_self);
  std::string key = wire::canonical(group);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return syn::unexpected(Errc::bad_argument);
  if (node_->is_local(pid)) {
    auto outcome = authority_join_counted(key, pid, std::move(meta_bytes), 0);
    node_->wait_for_callback(outcome.event_seq);
    if (outcome.error) return syn::unexpected(*outcome.error);
    return static_cast<std::size_t>(outcome.count.value_or(0));
  }
  return call_counted(pid, put_counted_request(key, pid, std::move(meta_bytes)));
}

Result<std::size_t> GroupsScope::leave_counted(const Term& group, const Pid& pid) {
  engine_.counters().count(WriteCall::leave);
  auto key = removal_key(engine_, group);
  if (!key) return syn::unexpected(key.error());
  if (node_->is_local(pid)) {
    auto outcome = authority_leave_counted(*key, pid, 0);
    node_->wait_for_callback(outcome.event_seq);
    if (outcome.error) return syn::unexpected(*outcome.error);
    return static_cast<std::size_t>(outcome.count.value_or(0));
  }
  return call_counted(pid, remove_counted_request(*key, pid));
}

Result<std::size_t> GroupsScope::call_counted(const Pid& pid, const wire::entries::CallRequest& request) {
  std::uint32_t authority = pid.node_atom();
  auto future = call_authority<Answer<std::size_t>>(
      engine_, pid, request,
      [this, authority](const CallOutcome& o) -> Answer<std::size_t> {
        if (o.status != 0) return Answer<std::size_t>::failed(errc_of(o.status));
        auto reply = wire::entries::decode_counted_reply(*o.payload);
        std::uint64_t seq = apply_reply_change(authority, reply.change);
        return {static_cast<std::size_t>(reply.count), seq};
      },
      wire::counted_calls_since);
  auto answer = get_answer(future);
  node_->wait_for_callback(answer.event_seq);
  return answer.result;
}

WriteOutcome GroupsScope::authority_join_counted(const std::string& key, const Pid& pid, std::string meta,
                                                 std::uint32_t caller, std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto process = node_->find_local(pid);
    if (!process || !process->alive()) return w.fail(Errc::not_alive);
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it != shard.groups.end() && it->second.members.count(pid)) {
      // Already a member: only the count moves (the meta stays that of the first join).
      std::uint32_t& count = shard.join_counts[{key, pid}];
      count = (count == 0 ? 1 : count) + 1;
      return w.counted(count);
    }
    shard.join_counts.erase({key, pid});  // a stale count cannot outlive its membership
    if (join_here(w, shard, it, key, pid, meta, *process)) w.counted(1);
  });
}

WriteOutcome GroupsScope::authority_leave_counted(const std::string& key, const Pid& pid, std::uint32_t caller,
                                                  std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) return w.fail(Errc::not_in_group);
    auto m = it->second.members.find(pid);
    if (m == it->second.members.end()) return w.fail(Errc::not_in_group);
    if (auto count = shard.join_counts.find({key, pid}); count != shard.join_counts.end()) {
      std::uint32_t left = --count->second;
      if (left <= 1) shard.join_counts.erase(count);
      return w.counted(left);
    }
    leave_here(w, shard, it, m);  // the last one
    w.counted(0);
  });
}

}  // namespace syn::detail
