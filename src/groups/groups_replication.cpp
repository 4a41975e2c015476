// Replication of groups: changes from peers, snapshots, purges of nodes that went down, and
// process deaths. No conflicts exist for groups: a replicated join or update applies only when
// its time is newer (SPEC 4).
#include "groups/groups_scope.hpp"
#include "node/scope_host.hpp"
#include "scope/purged_nodes.hpp"
#include "wire/meta_codec.hpp"

#include <mutex>

namespace syn::detail {

void GroupsScope::on_replicated(std::uint32_t from, const msgpack::object& payload) {
  engine_thread_.assert_held();
  close_open_group(from);  // that node sent it after its snapshot's chunks
  auto change = wire::entries::decode_change(payload);
  switch (change.op) {
    case wire::entries::Op::put:
      not_stale(from, change.put);
      apply_put(from, change.put, reason_of(change.put.reason, {}, from));
      return;
    case wire::entries::Op::del:
      apply_del(from, change.del, reason_of(change.del.reason, change.del.exit_reason, from));
      return;
    case wire::entries::Op::put_many:
      for (const auto& put : change.puts) not_stale(from, put);
      apply_puts(from, change.puts);
      return;
    case wire::entries::Op::del_many: apply_dels(from, change.dels); return;
    case wire::entries::Op::none:
    case wire::entries::Op::stale: break;
  }
  throw wire::DecodeError("groups: a reply where a change was expected");
}

void GroupsScope::not_stale(std::uint32_t from, const wire::entries::Put& put) {
  if (auto syncing = incoming_.find(from); syncing != incoming_.end()) {
    syncing->second.stale_candidates.erase({put.key, put.pid_id});
  }
}

void GroupsScope::put_replica(GroupsTable::Shard& shard, std::uint32_t from, const wire::entries::Put& put,
                              std::vector<MemberChange>* out) {
  if (!node_->accepts(from, put.key, put.meta)) return;
  Pid pid = peer_pid(*node_, from, put.pid_id);
  std::string meta = meta_stored(put.meta);
  auto it = shard.groups.try_emplace(put.key).first;
  auto m = it->second.members.find(pid);
  if (m == it->second.members.end()) {
    it->second.put(pid, MemberRec{put.time, CompactBytes(meta), nullptr});
    if (out) out->push_back(MemberChange{Change::joined, pid, {}, std::move(meta)});
    return;
  }
  MemberRec& rec = m->second;
  if (put.time <= rec.time) return;  // an older or the same join: nothing new
  rec.time = put.time;
  if (rec.meta.view() == meta) return;
  if (out) out->push_back(MemberChange{Change::updated, pid, std::string(rec.meta.view()), meta});
  rec.meta.assign(meta);
}

void GroupsScope::del_replica(GroupsTable::Shard& shard, std::uint32_t from, const wire::entries::Del& del,
                              std::vector<MemberChange>* out) {
  Pid pid = peer_pid(*node_, from, del.pid_id);
  auto it = shard.groups.find(std::string_view(del.key));
  if (it == shard.groups.end()) return;
  auto m = it->second.members.find(pid);
  // Only that membership goes, not a newer one of the same pid.
  if (m == it->second.members.end() || m->second.time > del.time) return;
  if (out) out->push_back(MemberChange{Change::left, pid, {}, std::string(m->second.meta.view())});
  it->second.erase(m);
  if (it->second.members.empty()) shard.groups.erase(it);
}

std::uint64_t GroupsScope::apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason) {
  engine_thread_.assert_held();
  auto& shard = table_.shard_for(put.key);
  WriterLock lock(shard.mutex);
  if (!listened(shard, put.key)) {
    put_replica(shard, from, put, nullptr);
    return 0;
  }
  std::vector<MemberChange> changes;
  put_replica(shard, from, put, &changes);
  return post_changes(shard, put.key, std::move(changes), reason);
}

std::uint64_t GroupsScope::apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason) {
  engine_thread_.assert_held();
  auto& shard = table_.shard_for(del.key);
  WriterLock lock(shard.mutex);
  if (!listened(shard, del.key)) {
    del_replica(shard, from, del, nullptr);
    return 0;
  }
  std::vector<MemberChange> changes;
  del_replica(shard, from, del, &changes);
  return post_changes(shard, del.key, std::move(changes), reason);
}

std::uint64_t GroupsScope::apply_puts(std::uint32_t from, const std::vector<wire::entries::Put>& puts) {
  engine_thread_.assert_held();
  if (puts.empty()) return 0;
  auto& shard = table_.shard_for(puts.front().key);
  WriterLock lock(shard.mutex);
  std::vector<MemberChange> changes;
  auto* record = listened(shard, puts.front().key) ? &changes : nullptr;
  for (const auto& put : puts) put_replica(shard, from, put, record);
  return post_changes(shard, puts.front().key, std::move(changes), reason_of(puts.front().reason, {}, from));
}

std::uint64_t GroupsScope::apply_dels(std::uint32_t from, const std::vector<wire::entries::Del>& dels) {
  engine_thread_.assert_held();
  if (dels.empty()) return 0;
  auto& shard = table_.shard_for(dels.front().key);
  WriterLock lock(shard.mutex);
  std::vector<MemberChange> changes;
  auto* record = listened(shard, dels.front().key) ? &changes : nullptr;
  for (const auto& del : dels) del_replica(shard, from, del, record);
  return post_changes(shard, dels.front().key, std::move(changes), reason_of(dels.front().reason, {}, from));
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
    if (!shard.join_counts.empty()) shard.join_counts.erase({key, pid});  // empty: no key copy
    post_change(shard, Change::left, key, pid, {}, m->second.meta.view(), why);
    std::string removal = encode_del(key, pid, m->second.time, Reason::Kind::process_exit, reason);
    it->second.erase(m);
    if (it->second.members.empty()) shard.groups.erase(it);
    engine_.broadcast(removal, 0);
  }
}

void GroupsScope::purge_nodes(const std::vector<std::uint32_t>& nodes) {
  engine_thread_.assert_held();
  const PurgedNodes purged(nodes);
  for (auto node : nodes) incoming_.erase(node);
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    // Each shard is scanned whole, once for all the nodes purged: seconds for a million
    // members on a crowded node.
    engine_.host().keep_links_alive();
    auto& shard = table_.shard(i);
    WriterLock lock(shard.mutex);
    for (auto it = shard.groups.begin(); it != shard.groups.end();) {
      Group& group = it->second;
      for (auto node : purged.nodes()) {
        if (!group.per_node.count(node)) continue;
        std::vector<MemberChange> changes;  // one event for the group and node (SPEC 4)
        for (auto m = group.first_of(node); m != group.members.end() && m->first.node_atom() == node;) {
          changes.push_back(MemberChange{Change::left, m->first, {}, std::string(m->second.meta.view())});
          m = group.erase(m);
        }
        post_changes(shard, it->first, std::move(changes), *purged.find(node));
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
    for (auto m = group.first_of(self); m != group.members.end() && m->first.node_atom() == self; ++m) {
      // Only our own processes: each node sends its local data (SPEC 1).
      const MemberRec& rec = m->second;
      if (!rec.local || !rec.local->alive()) continue;
      chunks.add(key, m->first.id(), rec.time, rec.meta.view());
    }
  }
  chunks.finish();
}

void GroupsScope::begin_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  auto& incoming = incoming_[from];
  incoming = IncomingSnapshot{};
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
    engine_.host().keep_links_alive();  // a scan of the whole table, as in purge_nodes
    auto& shard = table_.shard(i);
    ReaderLock lock(shard.mutex);
    for (const auto& [key, group] : shard.groups) {
      if (!group.per_node.count(from)) continue;
      for (auto m = group.first_of(from); m != group.members.end() && m->first.node_atom() == from; ++m) {
        incoming.stale_candidates.emplace(key, m->first.id());
      }
    }
  }
}

void GroupsScope::apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) {
  engine_thread_.assert_held();
  auto entries = wire::entries::decode_snapshot_chunk(chunk);
  if (entries.empty()) return;
  auto& open = incoming_[from].open_group;
  if (!open.empty()) {  // it goes on in this chunk, or ends before its first group
    entries.insert(entries.begin(), std::make_move_iterator(open.begin()), std::make_move_iterator(open.end()));
    open.clear();
  }
  std::size_t last_group = entries.size() - 1;
  while (last_group > 0 && entries[last_group - 1].key == entries.back().key) --last_group;
  open.assign(std::make_move_iterator(entries.begin() + static_cast<std::ptrdiff_t>(last_group)),
              std::make_move_iterator(entries.end()));
  entries.resize(last_group);
  apply_snapshot_entries(from, entries);
}

void GroupsScope::close_open_group(std::uint32_t from) {
  auto found = incoming_.find(from);
  if (found == incoming_.end() || found->second.open_group.empty()) return;
  std::vector<wire::entries::SnapshotEntry> group;
  group.swap(found->second.open_group);
  apply_snapshot_entries(from, group);
}

void GroupsScope::apply_snapshot_entries(std::uint32_t from, std::vector<wire::entries::SnapshotEntry>& entries) {
  Reason why = Reason::node_up(node_name_of(from));
  auto& candidates = incoming_[from].stale_candidates;
  // A group of a million members is applied under one hold of its lock (heartbeats meanwhile).
  ScopeHost::KeepAliveCounter keep_alive(engine_.host());
  for (std::size_t first = 0; first < entries.size();) {
    const std::string key = entries[first].key;
    auto& shard = table_.shard_for(key);
    WriterLock lock(shard.mutex);
    std::vector<MemberChange> changes;
    auto* record = listened(shard, key) ? &changes : nullptr;
    std::size_t end = first;
    for (; end < entries.size() && entries[end].key == key; ++end) {
      keep_alive.count();
      auto& entry = entries[end];
      if (!candidates.empty()) candidates.erase({entry.key, entry.pid_id});
      wire::entries::Put put{std::move(entry.key), entry.pid_id, entry.time, std::move(entry.meta),
                             static_cast<std::uint32_t>(Reason::Kind::remote_scope_node_up)};
      put_replica(shard, from, put, record);
    }
    post_changes(shard, key, std::move(changes), why);
    first = end;
  }
}

void GroupsScope::end_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  close_open_group(from);
  auto found = incoming_.find(from);
  if (found == incoming_.end()) return;
  // What we held for that node and its authoritative snapshot lacks is stale (SPEC 1).
  // The candidates are ordered by group: one lock and one event per group (SPEC 4).
  Reason why = Reason::node_up(node_name_of(from));
  const auto& stale = found->second.stale_candidates;
  ScopeHost::KeepAliveCounter keep_alive(engine_.host());
  for (auto first = stale.begin(); first != stale.end();) {
    const std::string& key = first->first;
    auto& shard = table_.shard_for(key);
    WriterLock lock(shard.mutex);
    std::vector<MemberChange> changes;
    auto end = first;
    for (; end != stale.end() && end->first == key; ++end) {
      // A node back after a long absence may have left a million stale members here, in one
      // group as well as in many (the heartbeats go under this shard's lock: see the counter).
      keep_alive.count();
      auto it = shard.groups.find(std::string_view(key));
      if (it == shard.groups.end()) continue;
      Pid pid = peer_pid(*node_, from, end->second);
      auto m = it->second.members.find(pid);
      if (m == it->second.members.end()) continue;
      changes.push_back(MemberChange{Change::left, pid, {}, std::string(m->second.meta.view())});
      it->second.erase(m);
      if (it->second.members.empty()) shard.groups.erase(it);
    }
    post_changes(shard, key, std::move(changes), why);
    first = end;
  }
  incoming_.erase(found);
}

}  // namespace syn::detail
