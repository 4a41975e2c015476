// Joins and leaves of a list of pids (SPEC 4, OTP pg's multi-join): the pids running on one
// node are written there together, under one lock of the group's shard, as one replicated
// change (put_many / del_many) and one subscription event on every node. The caller sends one
// call per node, all at once, and returns one result per pid, in input order. A node whose
// link runs an older protocol gets one call per pid instead, and older members are sent one
// change per pid (ScopeEngine::old_members).
#include "groups/groups_scope.hpp"

#include "node/scope_host.hpp"
#include "scope/entry_writes.hpp"
#include "wire/messages.hpp"

#include <algorithm>
#include <map>

namespace syn::detail {

namespace {

/// A list call's answer on the calling thread.
struct ListAnswer {
  Result<void> result;  ///< the call as a whole (node_down, timeout, ...)
  std::vector<std::uint32_t> statuses;
  std::uint64_t event_seq = 0;
  bool peer_too_old = false;
  static ListAnswer failed(Errc e) { return {syn::unexpected(e), {}, 0, false}; }
};

std::vector<Pid> pick(const std::vector<Pid>& pids, const std::vector<std::size_t>& indexes) {
  std::vector<Pid> out;
  out.reserve(indexes.size());
  for (auto i : indexes) out.push_back(pids[i]);
  return out;
}

void fill(std::vector<Result<void>>& results, const std::vector<std::size_t>& indexes,
          const std::vector<std::uint32_t>& statuses) {
  for (std::size_t k = 0; k < indexes.size(); ++k) {
    if (statuses[k] == 0) {
      results[indexes[k]] = {};
    } else {
      results[indexes[k]] = syn::unexpected(errc_of(statuses[k]));
    }
  }
}

}  // namespace

std::vector<Result<void>> GroupsScope::join_list(const Term& group, const std::vector<Pid>& pids, const Term& meta) {
  for (std::size_t i = 0; i < pids.size(); ++i) engine_.counters().count(WriteCall::join);
  std::vector<Result<void>> results(pids.size());
  if (pids.empty()) return results;
  auto fail_all = [&](Errc e) {
    for (auto& r : results) r = syn::unexpected(e);
    return results;
  };
  if (auto refused = write_refused(engine_, node_->stopped())) return fail_all(*refused);
  if (node_->options().strict_mode) return fail_all(Errc::not_self);
  std::string key = wire::canonical(group);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return fail_all(Errc::bad_argument);
  write_list(wire::entries::CallOp::put_many, key, pids, meta_bytes, results);
  return results;
}

std::vector<Result<void>> GroupsScope::leave_list(const Term& group, const std::vector<Pid>& pids) {
  for (std::size_t i = 0; i < pids.size(); ++i) engine_.counters().count(WriteCall::leave);
  std::vector<Result<void>> results(pids.size());
  if (pids.empty()) return results;
  auto key = removal_key(engine_, group);
  if (!key) {
    for (auto& r : results) r = syn::unexpected(key.error());
    return results;
  }
  write_list(wire::entries::CallOp::remove_many, *key, pids, {}, results);
  return results;
}

void GroupsScope::write_list(wire::entries::CallOp op, const std::string& key, const std::vector<Pid>& pids,
                             const std::string& meta, std::vector<Result<void>>& results) {
  const bool put = op == wire::entries::CallOp::put_many;
  // The pids by node incarnation (a call goes to one); this node's own are written here.
  std::map<std::pair<std::uint32_t, std::uint32_t>, std::vector<std::size_t>> by_node;
  std::vector<std::size_t> local;
  for (std::size_t i = 0; i < pids.size(); ++i) {
    const Pid& pid = pids[i];
    if (node_->is_local(pid)) {
      local.push_back(i);
    } else if (pid.is_null() || pid.node_atom() == node_->atom()) {
      results[i] = syn::unexpected(Errc::not_alive);  // an old incarnation of this node
    } else {
      by_node[{pid.node_atom(), pid.creation()}].push_back(i);
    }
  }
  struct Call {
    std::vector<std::size_t> indexes;
    std::vector<Pid> pids;
    std::future<ListAnswer> answer;
  };
  std::vector<Call> calls;
  for (auto& [node, indexes] : by_node) {
    Call call{indexes, pick(pids, indexes), {}};
    std::uint32_t authority = node.first;
    std::size_t count = call.pids.size();
    call.answer = call_authority<ListAnswer>(
        engine_, call.pids.front(), many_request(op, key, call.pids, meta),
        [this, authority, count](const CallOutcome& o) -> ListAnswer {
          if (o.status == kStatusPeerTooOld) return {{}, {}, 0, true};
          if (o.status != 0) return ListAnswer::failed(errc_of(o.status));
          auto reply = wire::entries::decode_many_reply(*o.payload);
          if (reply.statuses.size() != count) throw wire::DecodeError("a list reply with the wrong number of results");
          std::uint64_t seq = apply_reply_change(authority, reply.change);
          return {{}, std::move(reply.statuses), seq, false};
        },
        wire::batched_changes_since);
    calls.push_back(std::move(call));
  }
  std::uint64_t last_callback = 0;
  if (!local.empty()) {
    auto local_pids = pick(pids, local);
    auto outcome = put ? authority_put_many(key, local_pids, meta, 0) : authority_remove_many(key, local_pids, 0);
    fill(results, local, *outcome.statuses);
    last_callback = std::max(last_callback, outcome.event_seq);
  }
  for (auto& call : calls) {
    auto answer = get_answer(call.answer);
    if (answer.peer_too_old) {
      // That node cannot read a list call: one call per pid, pipelined.
      std::vector<std::future<Result<void>>> singles;
      for (const auto& pid : call.pids) {
        singles.push_back(remote_write<std::future<Result<void>>>(
            *this, pid, put ? put_request(key, pid, meta) : remove_request(key, pid)));
      }
      for (std::size_t k = 0; k < singles.size(); ++k) results[call.indexes[k]] = singles[k].get();
      continue;
    }
    if (!answer.result) {
      for (auto i : call.indexes) results[i] = syn::unexpected(answer.result.error());
      continue;
    }
    fill(results, call.indexes, answer.statuses);
    last_callback = std::max(last_callback, answer.event_seq);
  }
  node_->wait_for_callback(last_callback);
}

void GroupsScope::list_changed(AuthorityWrite<WriteLock>& w, std::string batched, std::vector<std::string> singles,
                               std::uint64_t event_seq) {
  if (singles.empty()) {
    w.changed(std::move(batched), event_seq);
  } else {
    w.changed_as_singles(std::move(batched), singles, event_seq);
  }
}

WriteOutcome GroupsScope::authority_put_many(const std::string& key, const std::vector<Pid>& pids, std::string meta,
                                             std::uint32_t caller, std::uint64_t request_id) {
  // The processes, found before the shard lock (as authority_put does).
  std::vector<std::shared_ptr<ProcessControl>> processes;
  processes.reserve(pids.size());
  for (const auto& pid : pids) processes.push_back(node_->find_local(pid));
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    std::vector<std::uint32_t> statuses(pids.size(), 0);
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    std::vector<MemberChange> changes;
    std::vector<wire::entries::Put> puts;
    const bool singles = engine_.old_members() > 0;
    std::vector<std::string> single_changes;
    for (std::size_t i = 0; i < pids.size(); ++i) {
      const Pid& pid = pids[i];
      auto& process = processes[i];
      if (!process || !process->alive()) {
        statuses[i] = status_of(Errc::not_alive);
        continue;
      }
      auto it = shard.groups.find(std::string_view(key));
      MemberRec* rec = nullptr;
      if (it != shard.groups.end()) {
        if (auto m = it->second.members.find(pid); m != it->second.members.end()) rec = &m->second;
      }
      if (rec) {
        if (rec->meta.view() == meta) continue;  // same meta again: a no-op
        std::string previous(rec->meta.view());
        rec->meta.assign(meta);
        rec->time = node_->unique_time_ns();
        changes.push_back(MemberChange{Change::updated, pid, std::move(previous), meta});
      } else {
        if (!process->attach(this, key)) {
          statuses[i] = status_of(Errc::not_alive);
          continue;
        }
        if (it == shard.groups.end()) it = shard.groups.try_emplace(key).first;
        rec = &it->second.put(pid, MemberRec{node_->unique_time_ns(), CompactBytes(meta), process.get()});
        changes.push_back(MemberChange{Change::joined, pid, {}, meta});
      }
      puts.push_back(
          wire::entries::Put{key, pid.id(), rec->time, meta, static_cast<std::uint32_t>(Reason::Kind::normal)});
      if (singles) single_changes.push_back(encode_put(key, pid, rec->time, meta, Reason::Kind::normal));
    }
    w.many(std::move(statuses));
    if (puts.empty()) return;
    wire::OutBuffer batched;
    wire::entries::encode_put_many(batched, puts);
    list_changed(w, batched.release(), std::move(single_changes),
                 post_changes(shard, key, std::move(changes), Reason::normal()));
  });
}

WriteOutcome GroupsScope::authority_remove_many(const std::string& key, const std::vector<Pid>& pids,
                                                std::uint32_t caller, std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    std::vector<std::uint32_t> statuses(pids.size(), status_of(Errc::not_in_group));
    auto& shard = table_.shard_for(key);
    w.lock(shard.mutex);
    shard.mutex.assert_held();
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) return w.many(std::move(statuses));
    std::vector<MemberChange> changes;
    std::vector<wire::entries::Del> dels;
    const bool singles = engine_.old_members() > 0;
    std::vector<std::string> single_changes;
    for (std::size_t i = 0; i < pids.size(); ++i) {
      const Pid& pid = pids[i];
      auto m = it->second.members.find(pid);
      if (m == it->second.members.end()) continue;  // not_in_group (also a pid listed twice)
      statuses[i] = 0;
      if (m->second.local) m->second.local->detach(this, key);
      if (!shard.join_counts.empty()) shard.join_counts.erase({key, pid});  // whatever its count (SPEC 4)
      dels.push_back(
          wire::entries::Del{key, pid.id(), m->second.time, static_cast<std::uint32_t>(Reason::Kind::normal), {}});
      if (singles) single_changes.push_back(encode_del(key, pid, m->second.time, Reason::Kind::normal));
      changes.push_back(MemberChange{Change::left, pid, {}, std::string(m->second.meta.view())});
      it->second.erase(m);
    }
    w.many(std::move(statuses));
    if (dels.empty()) return;
    std::uint64_t seq = post_changes(shard, key, std::move(changes), Reason::normal());
    if (it->second.members.empty()) shard.groups.erase(it);
    wire::OutBuffer batched;
    wire::entries::encode_del_many(batched, dels);
    list_changed(w, batched.release(), std::move(single_changes), seq);
  });
}

}  // namespace syn::detail
