// The groups API and the authority's write path (SPEC.md sections 2 and 4).
#include "groups/groups_scope.hpp"

#include "node/scope_host.hpp"
#include "scope/authority_write.hpp"
#include "scope/entry_writes.hpp"
#include "wire/meta_codec.hpp"
#include "wire/term_codec.hpp"

#include <mutex>

namespace syn::detail {

GroupsScope::GroupsScope(const ScopeContext& context)
    : node_(context.host),
      engine_(context, Kind::groups, *this),
      scope_subscribers_(std::make_shared<const std::vector<std::shared_ptr<SubscriptionState>>>()),
      engine_thread_(*context.host) {}

GroupsScope::~GroupsScope() = default;

void GroupsScope::clear() {
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    WriterLock lock(shard.mutex);
    shard.groups.clear();
    shard.join_counts.clear();
  }
}

std::uint64_t GroupsScope::leave_scope() {
  engine_thread_.assert_held();
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    WriterLock lock(shard.mutex);
    for (const auto& [key, group] : shard.groups) {
      for (const auto& [pid, rec] : group.members) {
        if (!rec.local) continue;
        rec.local->detach(this, key);
        last = post_change(shard, Change::left, key, pid, {}, rec.meta.view(), Reason::normal());
      }
    }
    shard.groups.clear();
    shard.join_counts.clear();
  }
  return last;
}

// ---- reads -------------------------------------------------------------------------------

std::vector<Member> GroupsScope::visible_members(const Group& group, std::optional<std::uint32_t> only_node,
                                                 bool include_dead) const {
  std::vector<Member> out;
  auto first = only_node ? group.first_of(*only_node) : group.members.begin();
  std::size_t expected = group.members.size();
  if (only_node) {
    auto on_node = group.per_node.find(*only_node);
    expected = on_node == group.per_node.end() ? 0 : on_node->second;
  }
  out.reserve(expected);
  for (auto m = first; m != group.members.end(); ++m) {
    const auto& [pid, rec] = *m;
    if (only_node && pid.node_atom() != *only_node) break;            // a node's members follow one another
    if (!include_dead && rec.local && !rec.local->alive()) continue;  // died, cleanup pending
    out.push_back(Member{pid, meta_term(rec.meta.view())});
  }
  return out;
}

std::vector<Member> GroupsScope::members(const Term& group, std::optional<std::uint32_t> only_node) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  ReaderLock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return {};
  return visible_members(it->second, only_node);
}

std::vector<Pid> GroupsScope::member_pids(const Term& group) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  ReaderLock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return {};
  std::vector<Pid> out;
  out.reserve(it->second.members.size());
  for (const auto& [pid, rec] : it->second.members) {
    if (rec.local && !rec.local->alive()) continue;  // died, cleanup pending (as members())
    out.push_back(pid);
  }
  return out;
}

std::optional<Member> GroupsScope::member(const Term& group, const Pid& pid) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  ReaderLock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return std::nullopt;
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end() || (m->second.local && !m->second.local->alive())) return std::nullopt;
  return Member{pid, meta_term(m->second.meta.view())};
}

std::size_t GroupsScope::member_count(const Term& group, std::optional<std::uint32_t> only_node) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  ReaderLock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return 0;
  if (!only_node) return it->second.members.size();
  auto n = it->second.per_node.find(*only_node);
  return n == it->second.per_node.end() ? 0 : n->second;
}

std::size_t GroupsScope::group_count(std::optional<std::uint32_t> only_node) const {
  std::size_t n = 0;
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    const auto& shard = table_.shard(i);
    ReaderLock lock(shard.mutex);
    if (!only_node) {
      n += shard.groups.size();
      continue;
    }
    for (const auto& [key, group] : shard.groups) n += group.per_node.count(*only_node);
  }
  return n;
}

std::vector<Term> GroupsScope::group_names(std::optional<std::uint32_t> only_node) const {
  std::vector<std::string> keys;
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    const auto& shard = table_.shard(i);
    ReaderLock lock(shard.mutex);
    for (const auto& [key, group] : shard.groups) {
      if (!only_node || group.per_node.count(*only_node)) keys.push_back(key);
    }
  }
  std::vector<Term> out;
  out.reserve(keys.size());
  for (const auto& key : keys) out.push_back(wire::decode_canonical(key));
  return out;
}

// ---- calls to a remote authority -----------------------------------------------------------

std::uint64_t GroupsScope::apply_reply_change(std::uint32_t authority, const wire::entries::Change& change) {
  engine_thread_.assert_held();
  close_open_group(authority);  // the authority sent its reply after its snapshot's chunks
  if (change.op == wire::entries::Op::put) return apply_put(authority, change.put, Reason::normal());
  if (change.op == wire::entries::Op::del) return apply_del(authority, change.del, Reason::normal());
  if (change.op == wire::entries::Op::put_many) return apply_puts(authority, change.puts);
  if (change.op == wire::entries::Op::del_many) return apply_dels(authority, change.dels);
  return 0;
}

// ---- join / leave ------------------------------------------------------------------------

Result<void> GroupsScope::join(const Term& group, const Pid& pid, Term meta, bool by_self) {
  engine_.counters().count(WriteCall::join);
  return put_entry<Result<void>>(*this, group, pid, meta, by_self);
}

std::future<Result<void>> GroupsScope::join_async(const Term& group, const Pid& pid, Term meta) {
  engine_.counters().count(WriteCall::join);
  return put_entry<std::future<Result<void>>>(*this, group, pid, meta, false);
}

template <class R>
R GroupsScope::leave_key(const Term& group, const Pid& pid) {
  engine_.counters().count(WriteCall::leave);
  auto key = removal_key(engine_, group);
  if (!key) return write_result<R>(syn::unexpected(key.error()));
  return remove_entry<R>(*this, *key, pid);
}

Result<void> GroupsScope::leave(const Term& group, const Pid& pid) { return leave_key<Result<void>>(group, pid); }

std::future<Result<void>> GroupsScope::leave_async(const Term& group, const Pid& pid) {
  return leave_key<std::future<Result<void>>>(group, pid);
}

WriteOutcome GroupsScope::authority_put(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                                        std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto process = node_->find_local(pid);
    if (!process || !process->alive()) return w.fail(Errc::not_alive);
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it != shard.groups.end()) {
      auto m = it->second.members.find(pid);
      if (m != it->second.members.end()) {
        MemberRec& rec = m->second;
        if (rec.meta.view() == meta) return;  // same meta again: a no-op
        std::string previous(rec.meta.view());
        rec.meta.assign(meta);
        rec.time = node_->unique_time_ns();
        return w.changed(encode_put(key, pid, rec.time, meta, Reason::Kind::normal),
                         post_change(shard, Change::updated, key, pid, previous, meta, Reason::normal()));
      }
    }
    join_here(w, shard, it, key, pid, meta, *process);
  });
}

bool GroupsScope::join_here(AuthorityWrite<WriteLock>& w, GroupsTable::Shard& shard, GroupsTable::Map::iterator group,
                            const std::string& key, const Pid& pid, const std::string& meta, ProcessControl& process) {
  if (!process.attach(this, key)) {
    w.fail(Errc::not_alive);
    return false;
  }
  if (group == shard.groups.end()) group = shard.groups.try_emplace(key).first;
  MemberRec& rec = group->second.put(pid, MemberRec{node_->unique_time_ns(), CompactBytes(meta), &process});
  w.changed(encode_put(key, pid, rec.time, meta, Reason::Kind::normal),
            post_change(shard, Change::joined, key, pid, {}, meta, Reason::normal()));
  return true;
}

WriteOutcome GroupsScope::authority_remove(const std::string& key, const Pid& pid, std::uint32_t caller,
                                           std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) return w.fail(Errc::not_in_group);
    auto m = it->second.members.find(pid);
    if (m == it->second.members.end()) return w.fail(Errc::not_in_group);
    leave_here(w, shard, it, m);  // whatever its count (SPEC 4)
  });
}

void GroupsScope::leave_here(AuthorityWrite<WriteLock>& w, GroupsTable::Shard& shard, GroupsTable::Map::iterator group,
                             absl::btree_map<Pid, MemberRec>::iterator m) {
  const std::string& key = group->first;
  const Pid pid = m->first;
  if (m->second.local) m->second.local->detach(this, key);
  if (!shard.join_counts.empty()) shard.join_counts.erase({key, pid});  // empty: no key copy
  std::string change = encode_del(key, pid, m->second.time, Reason::Kind::normal);
  std::uint64_t seq = post_change(shard, Change::left, key, pid, {}, m->second.meta.view(), Reason::normal());
  group->second.erase(m);
  if (group->second.members.empty()) shard.groups.erase(group);
  w.changed(std::move(change), seq);
}

// ---- update_member -----------------------------------------------------------------------

Result<Member> GroupsScope::update_member(const Term& group, const Pid& pid,
                                          const std::function<Term(const Term&)>& fn) {
  engine_.counters().count(WriteCall::update_member);
  if (auto refused = write_refused(engine_, node_->stopped())) return syn::unexpected(*refused);
  std::string key = wire::canonical(group);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  // No pre-check on this replica (SPEC 4): start from its value when it has one, else ask the
  // authority (an expected time of -1 never matches, so it answers with the current value).
  std::string meta;
  std::int64_t time = -1;
  {
    const auto& shard = table_.shard_for(key);
    ReaderLock lock(shard.mutex);
    auto it = shard.groups.find(std::string_view(key));
    if (it != shard.groups.end()) {
      auto m = it->second.members.find(pid);
      if (m != it->second.members.end()) {
        meta.assign(m->second.meta.view());
        time = m->second.time;
      }
    }
  }
  bool local = node_->is_local(pid);
  for (int attempt = 0; attempt < kMaxUpdateAttempts; ++attempt) {
    if (local) {
      auto process = node_->find_local(pid);
      if (!process || !process->alive()) return syn::unexpected(Errc::not_alive);
      if (time < 0) {
        auto current = authority_update(key, pid, -1, {}, 0);
        if (current.error) return syn::unexpected(*current.error);
        meta = std::move(current.current_meta);
        time = current.current_time;
      }
      Term next = fn(meta_term(meta));  // user code, no lock held; exceptions reach the caller
      std::string next_bytes = meta_canonical(next);
      if (!node_->fits(next_bytes)) return syn::unexpected(Errc::bad_argument);
      auto outcome = authority_update(key, pid, time, std::move(next_bytes), 0);
      if (outcome.error) return syn::unexpected(*outcome.error);
      if (outcome.stale) {
        meta = std::move(outcome.current_meta);
        time = outcome.current_time;
        continue;
      }
      node_->wait_for_callback(outcome.event_seq);
      return Member{pid, std::move(next)};
    }
    std::optional<Term> next;
    if (time >= 0) next = fn(meta_term(meta));
    std::string next_bytes = next ? meta_canonical(*next) : std::string();
    if (!node_->fits(next_bytes)) return syn::unexpected(Errc::bad_argument);
    auto future = call_update(engine_, pid, key, std::move(next_bytes), time,
                              [this](std::uint32_t authority, const wire::entries::Change& change) {
                                return apply_reply_change(authority, change);
                              });
    auto answer = get_answer(future);
    if (!answer.result) return syn::unexpected(answer.result.error());
    if (answer.stale) {
      meta = std::move(answer.current_meta);
      time = answer.current_time;
      continue;
    }
    node_->wait_for_callback(answer.event_seq);
    return Member{pid, std::move(*next)};
  }
  return syn::unexpected(Errc::race_condition);  // SPEC 3: concurrent writers kept winning
}

WriteOutcome GroupsScope::authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time,
                                           std::string meta, std::uint32_t caller, std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto process = node_->find_local(pid);
    if (!process || !process->alive()) return w.fail(Errc::not_alive);  // SPEC 4: not_alive first, then undefined
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) return w.fail(Errc::undefined);
    auto m = it->second.members.find(pid);
    if (m == it->second.members.end()) return w.fail(Errc::undefined);
    MemberRec& rec = m->second;
    if (rec.time != expected_time) return w.stale(std::string(rec.meta.view()), rec.time);
    if (rec.meta.view() == meta) return;  // unchanged: no callback
    std::string previous(rec.meta.view());
    rec.meta.assign(meta);
    rec.time = node_->unique_time_ns();
    w.changed(encode_put(key, pid, rec.time, meta, Reason::Kind::normal),
              post_change(shard, Change::updated, key, pid, previous, meta, Reason::normal()));
  });
}

// ---- calls from other nodes (engine thread) ------------------------------------------------

void GroupsScope::on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) {
  auto request = wire::entries::decode_call_request(payload);
  Pid pid = Pid::from_atom(node_->atom(), request.pid_creation, request.pid_id);
  if (!node_->accepts(from, request.key, request.meta)) {
    // A caller with a larger max_term_bytes than ours.
    authority_write<WriteLock>(engine_, from, request_id, [](auto& w) { w.fail(Errc::bad_argument); });
    return;
  }
  // The authority_* functions answer the call themselves, under the shard lock (AuthorityWrite).
  switch (request.op) {
    case wire::entries::CallOp::put:
      authority_put(request.key, pid, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::remove: authority_remove(request.key, pid, from, request_id); break;
    case wire::entries::CallOp::update:
      authority_update(request.key, pid, request.expected_time, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::put_counted:
      authority_join_counted(request.key, pid, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::remove_counted: authority_leave_counted(request.key, pid, from, request_id); break;
    case wire::entries::CallOp::put_many:
    case wire::entries::CallOp::remove_many: {
      std::vector<Pid> pids;
      pids.reserve(request.pid_ids.size());
      for (auto id : request.pid_ids) pids.push_back(Pid::from_atom(node_->atom(), request.pid_creation, id));
      if (request.op == wire::entries::CallOp::put_many) {
        authority_put_many(request.key, pids, meta_stored(std::move(request.meta)), from, request_id);
      } else {
        authority_remove_many(request.key, pids, from, request_id);
      }
      break;
    }
  }
}

}  // namespace syn::detail
