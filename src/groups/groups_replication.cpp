// Replication of groups: changes from peers, snapshots, purges of nodes that went down, and
// process deaths. No conflicts exist for groups: a replicated join or update applies only when
// its time is newer (SPEC 4).
#include "groups/groups_scope.hpp"
#include "node/scope_host.hpp"
#include "wire/meta_codec.hpp"

#include <mutex>

namespace syn::detail {

void GroupsScope::on_replicated(std::uint32_t from, const msgpack::object& payload) {
  engine_thread_.assert_held();
  auto change = wire::entries::decode_change(payload);
  if (change.op == wire::entries::Op::put) {
    // A change that overtakes its part of a snapshot being streamed is current, not stale.
    if (auto syncing = stale_candidates_.find(from); syncing != stale_candidates_.end()) {
      syncing->second.erase({change.put.key, change.put.pid_id});
    }
    apply_put(from, change.put, reason_of(change.put.reason, {}, from));
  } else if (change.op == wire::entries::Op::del) {
    apply_del(from, change.del, reason_of(change.del.reason, change.del.exit_reason, from));
  } else {
    throw wire::DecodeError("groups: a reply where a change was expected");
  }
}

std::uint64_t GroupsScope::apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason) {
  engine_thread_.assert_held();
  if (!node_->accepts(from, put.key, put.meta)) return 0;
  Pid pid = peer_pid(*node_, from, put.pid_id);
  std::string meta = meta_stored(put.meta);
  auto& shard = table_.shard_for(put.key);
  WriterLock lock(shard.mutex);
  auto it = shard.groups.try_emplace(put.key).first;
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end()) {
    it->second.put(pid, MemberRec{put.time, CompactBytes(meta), nullptr});
    return post_change(shard, Change::joined, put.key, pid, {}, meta, reason);
  }
  MemberRec& rec = m->second;
  if (put.time <= rec.time) return 0;  // an older or the same join: nothing new
  rec.time = put.time;
  if (rec.meta.view() == meta) return 0;
  std::string previous(rec.meta.view());
  rec.meta.assign(meta);
  return post_change(shard, Change::updated, put.key, pid, previous, meta, reason);
}

std::uint64_t GroupsScope::apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason) {
  engine_thread_.assert_held();
  Pid pid = peer_pid(*node_, from, del.pid_id);
  auto& shard = table_.shard_for(del.key);
  WriterLock lock(shard.mutex);
  auto it = shard.groups.find(std::string_view(del.key));
  if (it == shard.groups.end()) return 0;
  auto m = it->second.members.find(pid);
  // Only that membership goes, not a newer one of the same pid.
  if (m == it->second.members.end() || m->second.time > del.time) return 0;
  std::uint64_t seq = post_change(shard, Change::left, del.key, pid, {}, m->second.meta.view(), reason);
  it->second.erase(m);
  if (it->second.members.empty()) shard.groups.erase(it);
  return seq;
}

void GroupsScope::on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) {
  Reason why = Reason::process_exit(reason);
  end_subscriptions_of_dead(keys);
  for (const auto& key : keys) {
    if (is_subscription_key(key)) continue;
    auto& shard = table_.shard_for(key);
    WriterLock lock(shard.mutex);
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) continue;
    auto m = it->second.members.find(pid);
    if (m == it->second.members.end()) continue;
    shard.join_counts.erase({key, pid});
    post_change(shard, Change::left, key, pid, {}, m->second.meta.view(), why);
    std::string removal = encode_del(key, pid, m->second.time, Reason::Kind::process_exit, reason);
    it->second.erase(m);
    if (it->second.members.empty()) shard.groups.erase(it);
    engine_.broadcast(removal, 0);
  }
}

void GroupsScope::purge_node(std::uint32_t node) {
  engine_thread_.assert_held();
  stale_candidates_.erase(node);
  Reason why = Reason::node_down(node_name_of(node));
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    WriterLock lock(shard.mutex);
    for (auto it = shard.groups.begin(); it != shard.groups.end();) {
      Group& group = it->second;
      if (group.per_node.count(node)) {
        for (auto m = group.members.begin(); m != group.members.end();) {
          if (m->first.node_atom() != node) {
            ++m;
            continue;
          }
          post_change(shard, Change::left, it->first, m->first, {}, m->second.meta.view(), why);
          m = group.erase(m);
        }
      }
      if (group.members.empty()) {
        shard.groups.erase(it++);
      } else {
        ++it;
      }
    }
  }
}

void GroupsScope::write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) {
  wire::entries::SnapshotChunker chunks(emit_chunk);
  std::uint32_t self = node_->atom();
  auto& shard = table_.shard(part);
  ReaderLock lock(shard.mutex);
  for (const auto& [key, group] : shard.groups) {
    if (!group.per_node.count(self)) continue;
    for (const auto& [pid, rec] : group.members) {
      // Only our own processes: each node sends its local data (SPEC 1).
      if (!rec.local || !rec.local->alive()) continue;
      chunks.add(key, pid.id(), rec.time, rec.meta.view());
    }
  }
  chunks.finish();
}

void GroupsScope::begin_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  auto& candidates = stale_candidates_[from];
  candidates.clear();
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    ReaderLock lock(shard.mutex);
    for (const auto& [key, group] : shard.groups) {
      if (!group.per_node.count(from)) continue;
      for (const auto& [pid, rec] : group.members) {
        if (pid.node_atom() == from) candidates.emplace(key, pid.id());
      }
    }
  }
}

void GroupsScope::apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) {
  engine_thread_.assert_held();
  auto entries = wire::entries::decode_snapshot_chunk(chunk);
  Reason why = Reason::node_up(node_name_of(from));
  auto& candidates = stale_candidates_[from];
  for (auto& entry : entries) {
    if (!candidates.empty()) candidates.erase({entry.key, entry.pid_id});
    wire::entries::Put put{std::move(entry.key), entry.pid_id, entry.time, std::move(entry.meta),
                           static_cast<std::uint32_t>(Reason::Kind::remote_scope_node_up)};
    apply_put(from, put, why);
  }
}

void GroupsScope::end_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  auto found = stale_candidates_.find(from);
  if (found == stale_candidates_.end()) return;
  // What we held for that node and its authoritative snapshot lacks is stale (SPEC 1).
  Reason why = Reason::node_up(node_name_of(from));
  for (const auto& [key, id] : found->second) {
    Pid pid = peer_pid(*node_, from, id);
    auto& shard = table_.shard_for(key);
    WriterLock lock(shard.mutex);
    auto it = shard.groups.find(std::string_view(key));
    if (it == shard.groups.end()) continue;
    auto m = it->second.members.find(pid);
    if (m == it->second.members.end()) continue;
    post_change(shard, Change::left, key, pid, {}, m->second.meta.view(), why);
    it->second.erase(m);
    if (it->second.members.empty()) shard.groups.erase(it);
  }
  stale_candidates_.erase(found);
}

}  // namespace syn::detail
