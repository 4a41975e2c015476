// The groups API and the authority's write path (SPEC.md sections 2 and 4).
#include "groups/groups_scope.hpp"

#include "node/scope_host.hpp"
#include "wire/meta_codec.hpp"
#include "wire/term_codec.hpp"

#include <mutex>

namespace syn::detail {

namespace {
constexpr int kMaxUpdateAttempts = 1000;  // compare-and-set retries before giving up
}  // namespace

GroupsScope::GroupsScope(const ScopeContext& context)
    : node_(context.host),
      engine_(context, Kind::groups, *this),
      scope_subscribers_(std::make_shared<const std::vector<std::shared_ptr<SubscriptionState>>>()) {}

GroupsScope::~GroupsScope() = default;

void GroupsScope::clear() {
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    std::unique_lock lock(shard.mutex);
    shard.groups.clear();
  }
}

// ---- reads -------------------------------------------------------------------------------

std::vector<Member> GroupsScope::visible_members(const Group& group, std::optional<std::uint32_t> only_node,
                                                 bool include_dead) const {
  std::vector<Member> out;
  out.reserve(group.members.size());
  for (const auto& [pid, rec] : group.members) {
    if (only_node && pid.node_atom() != *only_node) continue;
    if (!include_dead && rec.local && !rec.local->alive()) continue;  // died, cleanup pending
    out.push_back(Member{pid, meta_term(rec.meta.view())});
  }
  return out;
}

std::vector<Member> GroupsScope::members(const Term& group, std::optional<std::uint32_t> only_node) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  std::shared_lock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return {};
  return visible_members(it->second, only_node);
}

std::optional<Member> GroupsScope::member(const Term& group, const Pid& pid) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  std::shared_lock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) return std::nullopt;
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end() || (m->second.local && !m->second.local->alive())) return std::nullopt;
  return Member{pid, meta_term(m->second.meta.view())};
}

std::size_t GroupsScope::member_count(const Term& group, std::optional<std::uint32_t> only_node) const {
  std::string key = wire::canonical(group);
  const auto& shard = table_.shard_for(key);
  std::shared_lock lock(shard.mutex);
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
    std::shared_lock lock(shard.mutex);
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
    std::shared_lock lock(shard.mutex);
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
  if (change.op == wire::entries::Op::put) return apply_put(authority, change.put, Reason::normal());
  if (change.op == wire::entries::Op::del) return apply_del(authority, change.del, Reason::normal());
  return 0;
}

template <class A>
std::future<A> GroupsScope::call_write(const Pid& pid, const wire::entries::CallRequest& request) {
  return detail::call_write<A>(engine_, pid, request, [this](std::uint32_t authority, const wire::entries::Change& change) {
    return apply_reply_change(authority, change);
  });
}

// ---- join / leave ------------------------------------------------------------------------

Result<void> GroupsScope::join(const Term& group, const Pid& pid, Term meta, bool by_self) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  if (node_->options().strict_mode && !by_self) return syn::unexpected(Errc::not_self);
  std::string key = wire::canonical(group);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return syn::unexpected(Errc::bad_argument);
  if (node_->is_local(pid)) return settle(*node_, authority_join(key, pid, std::move(meta_bytes), 0));
  return settle(*node_, call_write<Answer<void>>(pid, put_request(key, pid, std::move(meta_bytes))));
}

std::future<Result<void>> GroupsScope::join_async(const Term& group, const Pid& pid, Term meta) {
  if (node_->stopped()) return ready_result(syn::unexpected(Errc::node_down));
  if (node_->options().strict_mode) return ready_result(syn::unexpected(Errc::not_self));
  std::string key = wire::canonical(group);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return ready_result(syn::unexpected(Errc::bad_argument));
  if (node_->is_local(pid)) return ready_result(result_of(authority_join(key, pid, std::move(meta_bytes), 0)));
  return call_write<Result<void>>(pid, put_request(key, pid, std::move(meta_bytes)));
}

Result<void> GroupsScope::leave(const Term& group, const Pid& pid) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  std::string key = wire::canonical(group);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  if (node_->is_local(pid)) return settle(*node_, authority_leave(key, pid, 0));
  return settle(*node_, call_write<Answer<void>>(pid, remove_request(key, pid)));
}

std::future<Result<void>> GroupsScope::leave_async(const Term& group, const Pid& pid) {
  if (node_->stopped()) return ready_result(syn::unexpected(Errc::node_down));
  std::string key = wire::canonical(group);
  if (!node_->fits(key)) return ready_result(syn::unexpected(Errc::bad_argument));
  if (node_->is_local(pid)) return ready_result(result_of(authority_leave(key, pid, 0)));
  return call_write<Result<void>>(pid, remove_request(key, pid));
}

WriteOutcome GroupsScope::authority_join(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                                          std::uint64_t request_id) {
  WriteOutcome out;
  auto process = node_->find_local(pid);
  if (!process || !process->alive()) {
    out.error = Errc::not_alive;
    return answered(engine_, out, caller, request_id);
  }
  auto& shard = table_.shard_for(key);
  std::unique_lock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it != shard.groups.end()) {
    auto m = it->second.members.find(pid);
    if (m != it->second.members.end()) {
      MemberRec& rec = m->second;
      if (rec.meta.view() == meta) return answered(engine_, out, caller, request_id);  // same meta again: a no-op
      std::string previous(rec.meta.view());
      rec.meta.assign(meta);
      rec.time = node_->unique_time_ns();
      out.event_seq = post_change(shard, Change::updated, key, pid, previous, meta, Reason::normal());
      out.change = encode_put(key, pid, rec.time, meta, Reason::Kind::normal);
      engine_.broadcast(out.change, caller);
      return answered(engine_, out, caller, request_id);
    }
  }
  if (!process->attach(this, key)) {
    out.error = Errc::not_alive;
    return answered(engine_, out, caller, request_id);
  }
  if (it == shard.groups.end()) it = shard.groups.try_emplace(key).first;
  MemberRec& rec = it->second.put(pid, MemberRec{node_->unique_time_ns(), CompactBytes(meta), process.get()});
  out.event_seq = post_change(shard, Change::joined, key, pid, {}, meta, Reason::normal());
  out.change = encode_put(key, pid, rec.time, meta, Reason::Kind::normal);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

WriteOutcome GroupsScope::authority_leave(const std::string& key, const Pid& pid, std::uint32_t caller,
                                           std::uint64_t request_id) {
  WriteOutcome out;
  auto& shard = table_.shard_for(key);
  std::unique_lock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) {
    out.error = Errc::not_in_group;
    return answered(engine_, out, caller, request_id);
  }
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end()) {
    out.error = Errc::not_in_group;
    return answered(engine_, out, caller, request_id);
  }
  if (m->second.local) m->second.local->detach(this, key);
  out.change = encode_del(key, pid, m->second.time, Reason::Kind::normal);
  out.event_seq = post_change(shard, Change::left, key, pid, {}, m->second.meta.view(), Reason::normal());
  it->second.erase(m);
  if (it->second.members.empty()) shard.groups.erase(it);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

// ---- update_member -----------------------------------------------------------------------

Result<Member> GroupsScope::update_member(const Term& group, const Pid& pid, const std::function<Term(const Term&)>& fn) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  std::string key = wire::canonical(group);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  // No pre-check on this replica (SPEC 4): start from its value when it has one, else ask the
  // authority (an expected time of -1 never matches, so it answers with the current value).
  std::string meta;
  std::int64_t time = -1;
  {
    const auto& shard = table_.shard_for(key);
    std::shared_lock lock(shard.mutex);
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
  return syn::unexpected(Errc::timeout);
}

WriteOutcome GroupsScope::authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time,
                                           std::string meta, std::uint32_t caller, std::uint64_t request_id) {
  WriteOutcome out;
  auto process = node_->find_local(pid);
  if (!process || !process->alive()) {
    out.error = Errc::not_alive;  // SPEC 4: not_alive first, then undefined
    return answered(engine_, out, caller, request_id);
  }
  auto& shard = table_.shard_for(key);
  std::unique_lock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(key));
  if (it == shard.groups.end()) {
    out.error = Errc::undefined;
    return answered(engine_, out, caller, request_id);
  }
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end()) {
    out.error = Errc::undefined;
    return answered(engine_, out, caller, request_id);
  }
  MemberRec& rec = m->second;
  if (rec.time != expected_time) {
    out.stale = true;
    out.current_meta.assign(rec.meta.view());
    out.current_time = rec.time;
    return answered(engine_, out, caller, request_id);
  }
  if (rec.meta.view() == meta) return answered(engine_, out, caller, request_id);  // unchanged: no callback
  std::string previous(rec.meta.view());
  rec.meta.assign(meta);
  rec.time = node_->unique_time_ns();
  out.event_seq = post_change(shard, Change::updated, key, pid, previous, meta, Reason::normal());
  out.change = encode_put(key, pid, rec.time, meta, Reason::Kind::normal);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

// ---- calls from other nodes (engine thread) ------------------------------------------------

void GroupsScope::on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) {
  auto request = wire::entries::decode_call_request(payload);
  Pid pid = Pid::from_atom(node_->atom(), request.pid_creation, request.pid_id);
  if (!node_->accepts(from, request.key, request.meta)) {
    WriteOutcome refused;  // a caller with a larger max_term_bytes than ours
    refused.error = Errc::bad_argument;
    answered(engine_, refused, from, request_id);
    return;
  }
  // The authority_* functions answer the call themselves, under the shard lock (see detail::answered).
  switch (request.op) {
    case wire::entries::CallOp::put:
      authority_join(request.key, pid, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::remove:
      authority_leave(request.key, pid, from, request_id);
      break;
    case wire::entries::CallOp::update:
      authority_update(request.key, pid, request.expected_time, meta_stored(std::move(request.meta)), from, request_id);
      break;
  }
}

}  // namespace syn::detail
