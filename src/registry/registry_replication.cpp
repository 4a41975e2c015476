// Replication of the registry: changes from peers, snapshots, purges of nodes that went
// down, process deaths, and registry conflicts (SPEC.md sections 1, 2, 5 and 6).
#include "common/log.hpp"
#include "node/scope_host.hpp"
#include "registry/registry_scope.hpp"
#include "wire/meta_codec.hpp"
#include "scope/entry_calls.hpp"
#include "scope/purged_nodes.hpp"

#include <algorithm>
#include <mutex>
#include <utility>

namespace syn::detail {

namespace {

void keep_last(std::uint64_t* slot, std::uint64_t seq) {
  if (slot && seq) *slot = seq;
}

/// The order in which registrations of a name show, and the default resolver's choice (SPEC
/// 6): the newer time, then the greater pid (a deterministic tie-break, the same on every
/// node). `Registration` is a RegEntry or a ConflictCandidate.
template <class Registration>
bool shows_over(const Registration& a, const Registration& b) {
  return a.time != b.time ? a.time > b.time : b.pid < a.pid;
}

}  // namespace

// ---- replicated changes -----------------------------------------------------------------

void RegistryScope::on_replicated(std::uint32_t from, const msgpack::object& payload) {
  engine_thread_.assert_held();
  auto change = wire::entries::decode_change(payload);
  if (change.op == wire::entries::Op::put) {
    // A change that overtakes its part of a snapshot being streamed is current, not stale.
    if (auto syncing = stale_candidates_.find(from); syncing != stale_candidates_.end()) {
      syncing->second.erase(change.put.key);
    }
    std::vector<Kill> kills;
    apply_put(from, change.put, reason_of(change.put.reason, {}, from), kills);
    run_kills(kills);
  } else if (change.op == wire::entries::Op::del) {
    apply_del(from, change.del, reason_of(change.del.reason, change.del.exit_reason, from));
  } else {
    throw wire::DecodeError("registry: a reply where a change was expected");
  }
}

std::uint64_t RegistryScope::apply_reply_change(std::uint32_t authority, const wire::entries::Change& change) {
  engine_thread_.assert_held();
  std::uint64_t seq = 0;
  if (change.op == wire::entries::Op::put) {
    std::vector<Kill> kills;
    apply_put(authority, change.put, Reason::normal(), kills, &seq);
    run_kills(kills);
  } else if (change.op == wire::entries::Op::del) {
    apply_del(authority, change.del, Reason::normal(), &seq);
  }
  return seq;
}

void RegistryScope::apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason,
                              std::vector<Kill>& kills, std::uint64_t* event_seq) {
  engine_thread_.assert_held();
  if (!node_->accepts(from, put.key, put.meta)) return;
  Pid pid = peer_pid(*node_, from, put.pid_id);
  std::string meta = meta_stored(put.meta);
  auto& shard = table_.shard_for(put.key);
  RegistryTable::Shard::WriteLock lock(shard);
  auto it = shard.entries.find(std::string_view(put.key));
  if (it == shard.entries.end()) {
    shard.put(put.key, RegEntry(pid, put.time, meta, nullptr));
    keep_last(event_seq, post_registered(put.key, pid, meta, reason));
    return;
  }
  RegEntry& e = it->second;
  if (e.pid == pid) {
    // The same registration again (a snapshot, a restamp) or a newer meta: newest time wins.
    if (put.time <= e.time) return;
    e.time = put.time;
    if (e.meta() != meta) {
      std::string previous(e.meta());
      e.set_meta(meta);
      keep_last(event_seq, post_updated(put.key, pid, previous, meta, reason));
    }
    return;
  }
  if (!e.local()) {
    // We own neither process: the newer registration shows (SPEC 6), the other is kept hidden.
    apply_foreign_put(shard, it, from, RegEntry(pid, put.time, meta, nullptr), reason, event_seq);
    return;
  }
  if (!e.local()->alive()) {
    // Our holder died and its cleanup has not run yet: no conflict, the name was free.
    Term why = e.local()->exit_reason().value_or(Term("noproc"));
    post_unregistered(put.key, e.pid, e.meta(), Reason::process_exit(why));
    engine_.broadcast(encode_del(put.key, e.pid, e.time, Reason::Kind::process_exit, why), 0);
    shard.replace(it, RegEntry(pid, put.time, meta, nullptr));
    keep_last(event_seq, post_registered(put.key, pid, meta, reason));
    return;
  }

  // A conflict: this node runs the local holder, so this node resolves (SPEC 6).
  Term name = wire::decode_canonical(put.key);
  ConflictCandidate incoming{pid, meta_term(meta), put.time};
  ConflictCandidate local{e.pid, meta_term(e.meta()), e.time};
  bool by_default = false;
  std::optional<Pid> keep;
  if (disagreeing_rounds(put.key, reason) >= kMaxDisagreeingRounds) {
    // Both owners' resolvers kept their own this many times: each side counts the same rounds
    // and compares the same two times, so both now apply the default choice, and kill nothing
    // (SPEC 6).
    keep = default_choice(incoming, local);
    SYN_LOG_SCOPE(warn, node_->name(), scope(), "scope ", scope(),
                  ": conflict_resolver disagreed with the other owner ", kMaxDisagreeingRounds, " times on ",
                  name.dump(-1, ' ', false, Term::error_handler_t::replace),
                  "; applying the default choice without killing");
  } else {
    keep = resolve_conflict(name, incoming, local, by_default);
  }
  SYN_LOG_SCOPE(info, node_->name(), scope(), "scope ", scope(), ": conflict on ",
                name.dump(-1, ' ', false, Term::error_handler_t::replace), " between ", local.pid, " and ",
                incoming.pid, ": keeping ", keep ? keep->to_string() : std::string("neither"));
  if (!keep || *keep != local.pid) disagreements_.erase(put.key);

  engine_.counters().count(!keep                ? ConflictOutcome::kept_neither
                           : *keep == local.pid ? ConflictOutcome::kept_local
                                                : ConflictOutcome::kept_remote);
  if (keep && *keep == local.pid) {
    // Keep ours and tell everyone, the other owner included; no callbacks here. Ours gets a
    // new time only when it is the older of the two (a custom resolver's choice), so that it
    // shows over the other everywhere (newer than it, whatever the two clocks say). The newer
    // needs none, and a new time would make it newer than a third owner's registration still
    // in flight to it: with three owners at once, each would then keep its own against every
    // registration it is sent, for ever (the default resolver always keeps the newer;
    // docs/internals.md).
    if (!shows_over(local, incoming)) e.time = std::max(node_->unique_time_ns(), incoming.time + 1);
    engine_.broadcast(encode_put(put.key, e.pid, e.time, e.meta(), Reason::Kind::conflict_resolution), 0);
    return;
  }
  e.local()->detach(this, put.key);
  std::string removal = encode_del(put.key, e.pid, e.time, Reason::Kind::conflict_resolution);
  std::uint64_t seq = post_unregistered(put.key, e.pid, e.meta(), Reason::conflict());
  if (keep) {
    // Keep theirs: replace ours, kill ours (default resolver only), tell everyone ours is gone.
    if (by_default) {
      if (auto loser = node_->find_local(local.pid)) {
        kills.push_back({std::move(loser), Term::array({"syn_resolve_kill", name, local.meta})});
        ScopeCounters::add(engine_.counters().kills);
      }
    }
    shard.replace(it, RegEntry(pid, put.time, meta, nullptr));
    seq = post_registered(put.key, pid, meta, Reason::conflict());
    engine_.broadcast(removal, 0);
  } else {
    // Keep neither: free the name here and tell everyone. SPEC 6 leaves the other owner out
    // (it resolves the same conflict on its side and frees its own; our removal does not match
    // its pid, so it ignores it), but the other owner may have lost its process meanwhile and
    // taken ours in its place, with nothing to resolve: without the removal it would keep
    // showing a name freed everywhere else (simulator seed 453873905901, keep-neither).
    shard.erase(it);
    engine_.broadcast(removal, 0);
  }
  keep_last(event_seq, seq);
}

// ---- registrations of other nodes hidden behind a newer one --------------------------------
//
// A node that owns neither of two registrations of a name (it sees both sides of a partial
// split, or learns of both before their owners resolved) shows the newer one, as SPEC 6 says,
// and keeps the other hidden (RegistryTable::Shard::hidden): its owner still holds it and will
// not send it again. Without that, when the shown one goes (its process dies, its node leaves,
// it is unregistered) this node would hold nothing while the other owner, linked to it, holds
// the name: the replicas would never converge. Each node holds a name at most once, so there
// is at most one candidate per node: the last one that node sent.

void RegistryScope::apply_foreign_put(RegistryTable::Shard& shard, RegistryTable::Map::iterator it, std::uint32_t from,
                                      RegEntry incoming, const Reason& reason, std::uint64_t* event_seq) {
  const std::string key = it->first.str();  // `it` may be replaced below
  RegEntry& shown = it->second;
  auto hidden_it = shard.hidden.find(std::string_view(key));
  if (shown.pid.node_atom() == from) {
    // Its node replaced its own registration: the old one is gone, not hidden. Show the newest
    // of the new one and the hidden ones.
    post_unregistered(key, shown.pid, shown.meta(), reason);
    if (hidden_it != shard.hidden.end()) {
      auto& hidden = hidden_it->second;
      auto best = std::max_element(hidden.begin(), hidden.end(),
                                   [](const RegEntry& x, const RegEntry& y) { return shows_over(y, x); });
      if (shows_over(*best, incoming)) {
        RegEntry promoted = std::move(*best);
        *best = std::move(incoming);
        std::string meta(promoted.meta());
        Pid pid = promoted.pid;
        shard.replace(it, std::move(promoted));
        keep_last(event_seq, post_registered(key, pid, meta, Reason::conflict()));
        return;
      }
    }
    std::string meta(incoming.meta());
    Pid pid = incoming.pid;
    shard.replace(it, std::move(incoming));
    keep_last(event_seq, post_registered(key, pid, meta, reason));
    return;
  }
  // The sender's previous registration of the name, if hidden here, is superseded.
  if (hidden_it != shard.hidden.end()) {
    auto& hidden = hidden_it->second;
    for (auto h = hidden.begin(); h != hidden.end(); ++h) {
      if (h->pid.node_atom() != from) continue;
      if (h->pid == incoming.pid && incoming.time <= h->time) return;  // nothing new
      hidden.erase(h);
      break;
    }
  }
  if (!shows_over(incoming, shown)) {
    // Older: it stays hidden (no callback; SPEC 6 "otherwise ignore it").
    shard.hidden[key].push_back(std::move(incoming));
    return;
  }
  post_unregistered(key, shown.pid, shown.meta(), reason);
  std::string meta(incoming.meta());
  Pid pid = incoming.pid;
  RegEntry previous = shown;  // a copy: replace() reads the old pid to keep the counts right
  shard.replace(it, std::move(incoming));
  shard.hidden[key].push_back(std::move(previous));
  keep_last(event_seq, post_registered(key, pid, meta, reason));
}

std::uint64_t RegistryScope::remove_shown(RegistryTable::Shard& shard, RegistryTable::Map::iterator it,
                                          const Reason& reason) {
  std::string key = it->first.str();
  std::uint64_t seq = post_unregistered(key, it->second.pid, it->second.meta(), reason);
  auto hidden_it = shard.hidden.find(std::string_view(key));
  if (hidden_it == shard.hidden.end()) {
    shard.erase(it);
    return seq;
  }
  // The newest hidden registration shows again: the conflict between the two, that this node
  // could not resolve, is resolved by the other one going.
  auto& hidden = hidden_it->second;
  auto best = std::max_element(hidden.begin(), hidden.end(),
                               [](const RegEntry& x, const RegEntry& y) { return shows_over(y, x); });
  RegEntry promoted = std::move(*best);
  hidden.erase(best);
  if (hidden.empty()) shard.hidden.erase(hidden_it);
  Pid pid = promoted.pid;
  std::string meta(promoted.meta());
  shard.replace(it, std::move(promoted));
  return post_registered(key, pid, meta, Reason::conflict());
}

void RegistryScope::drop_hidden(RegistryTable::Shard& shard, std::string_view key, std::uint32_t node, const Pid* pid,
                                std::int64_t not_after) {
  auto hidden_it = shard.hidden.find(key);
  if (hidden_it == shard.hidden.end()) return;
  auto& hidden = hidden_it->second;
  for (auto h = hidden.begin(); h != hidden.end(); ++h) {
    if (h->pid.node_atom() != node) continue;
    if (pid && (h->pid != *pid || h->time > not_after)) return;
    hidden.erase(h);
    break;
  }
  if (hidden.empty()) shard.hidden.erase(hidden_it);
}

std::optional<Pid> RegistryScope::resolve_conflict(const Term& name, const ConflictCandidate& incoming,
                                                   const ConflictCandidate& local, bool& by_default) {
  const auto& custom = node_->options().conflict_resolver;
  if (!custom) {
    by_default = true;
    return default_choice(incoming, local);
  }
  by_default = false;
  try {
    auto keep = custom(scope(), name, incoming, local);
    if (keep && (*keep == incoming.pid || *keep == local.pid)) return keep;
  } catch (const std::exception& e) {
    SYN_LOG_SCOPE(error, node_->name(), scope(), "scope ", scope(), ": conflict_resolver threw: ", e.what(),
                  " (keeping neither)");
  } catch (...) {
    SYN_LOG_SCOPE(error, node_->name(), scope(), "scope ", scope(), ": conflict_resolver threw (keeping neither)");
  }
  return std::nullopt;
}

Pid RegistryScope::default_choice(const ConflictCandidate& incoming, const ConflictCandidate& local) {
  return shows_over(incoming, local) ? incoming.pid : local.pid;
}

std::uint32_t RegistryScope::disagreeing_rounds(const std::string& key, const Reason& reason) {
  engine_thread_.assert_held();
  if (!node_->options().conflict_resolver) return 0;
  if (reason.kind != Reason::Kind::conflict_resolution) {
    // Not the other owner's answer to a resolution of ours: a conflict starts here.
    disagreements_.erase(key);
    return 0;
  }
  // The other owner kept its own (its restamp) after this node kept its own: one more round.
  return ++disagreements_[key];
}

void RegistryScope::run_kills(std::vector<Kill>& kills) {
  for (auto& kill : kills) kill.process->kill(kill.reason);
  kills.clear();
}

void RegistryScope::apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason,
                              std::uint64_t* event_seq) {
  engine_thread_.assert_held();
  Pid pid = peer_pid(*node_, from, del.pid_id);
  auto& shard = table_.shard_for(del.key);
  RegistryTable::Shard::WriteLock lock(shard);
  auto it = shard.entries.find(std::string_view(del.key));
  if (it == shard.entries.end()) return;
  if (it->second.pid != pid) {
    // Not the one shown: it may be hidden here (see apply_foreign_put); it goes silently.
    drop_hidden(shard, del.key, from, &pid, del.time);
    return;
  }
  // Only that registration goes, and not a newer one of the same pid (SPEC 6).
  if (it->second.time > del.time) return;
  keep_last(event_seq, remove_shown(shard, it, reason));
}

// ---- process deaths -----------------------------------------------------------------------

void RegistryScope::on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) {
  Reason why = Reason::process_exit(reason);
  for (const auto& key : keys) {
    auto& shard = table_.shard_for(key);
    RegistryTable::Shard::WriteLock lock(shard);
    auto it = shard.entries.find(std::string_view(key));
    if (it == shard.entries.end() || it->second.pid != pid) continue;  // already replaced or freed
    post_unregistered(key, pid, it->second.meta(), why);
    std::string removal = encode_del(key, it->second.pid, it->second.time, Reason::Kind::process_exit, reason);
    shard.erase(it);
    engine_.broadcast(removal, 0);
  }
}

// ---- nodes going down ---------------------------------------------------------------------

void RegistryScope::purge_nodes(const std::vector<std::uint32_t>& nodes) {
  engine_thread_.assert_held();
  const PurgedNodes purged(nodes);
  for (auto node : nodes) stale_candidates_.erase(node);
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    // Each shard is scanned whole, once for all the nodes purged: seconds for a million names
    // on a crowded node.
    engine_.host().keep_links_alive();
    auto& shard = table_.shard(i);
    RegistryTable::Shard::WriteLock lock(shard);
    // Their hidden registrations first, so that none of them shows in place of their shown ones.
    for (auto h = shard.hidden.begin(); h != shard.hidden.end();) {
      auto& hidden = h->second;
      hidden.erase(std::remove_if(hidden.begin(), hidden.end(),
                                  [&](const RegEntry& e) { return purged.contains(e.pid.node_atom()); }),
                   hidden.end());
      if (hidden.empty()) {
        shard.hidden.erase(h++);
      } else {
        ++h;
      }
    }
    if (!purged.any_counted_in(shard.per_node)) continue;
    std::vector<std::pair<std::string, const Reason*>> keys;
    for (const auto& [key, e] : shard.entries) {
      if (const Reason* why = purged.find(e.pid.node_atom())) keys.emplace_back(key.str(), why);
    }
    for (const auto& [key, why] : keys) remove_shown(shard, shard.entries.find(std::string_view(key)), *why);
  }
}

// ---- snapshots ----------------------------------------------------------------------------

void RegistryScope::write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) {
  wire::entries::SnapshotChunker chunks(emit_chunk);
  auto& shard = table_.shard(part);
  RegistryTable::Shard::ReadLock lock(shard);
  for (const auto& [key, e] : shard.entries) {
    // Only our own processes: each node sends its local data (SPEC 1).
    if (!e.local() || !e.local()->alive()) continue;
    chunks.add(key, e.pid.id(), e.time, e.meta());
  }
  chunks.finish();
}

void RegistryScope::begin_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  auto& candidates = stale_candidates_[from];
  candidates.clear();
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    engine_.host().keep_links_alive();  // a scan of the whole table, as in purge_nodes
    auto& shard = table_.shard(i);
    RegistryTable::Shard::ReadLock lock(shard);
    for (const auto& [key, hidden] : shard.hidden) {
      for (const auto& e : hidden) {
        if (e.pid.node_atom() == from) candidates.insert(key);
      }
    }
    // The usual case: its entries were purged when it went down.
    if (!shard.per_node.count(from)) continue;
    for (const auto& [key, e] : shard.entries) {
      if (e.pid.node_atom() == from) candidates.insert(key.str());
    }
  }
}

void RegistryScope::apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) {
  engine_thread_.assert_held();
  auto entries = wire::entries::decode_snapshot_chunk(chunk);
  Reason why = Reason::node_up(node_name_of(from));
  auto& candidates = stale_candidates_[from];
  std::vector<Kill> kills;
  for (auto& entry : entries) {
    if (!candidates.empty()) candidates.erase(entry.key);
    wire::entries::Put put{std::move(entry.key), entry.pid_id, entry.time, std::move(entry.meta),
                           static_cast<std::uint32_t>(Reason::Kind::remote_scope_node_up)};
    apply_put(from, put, why, kills);
  }
  run_kills(kills);
}

void RegistryScope::end_remote_snapshot(std::uint32_t from) {
  engine_thread_.assert_held();
  auto found = stale_candidates_.find(from);
  if (found == stale_candidates_.end()) return;
  // What we held for that node and its authoritative snapshot lacks is stale (SPEC 1).
  Reason why = Reason::node_up(node_name_of(from));
  ScopeHost::KeepAliveCounter keep_alive(engine_.host());
  for (const auto& key : found->second) {
    keep_alive.count();  // a node back after a long absence may have left a million stale names here
    auto& shard = table_.shard_for(key);
    RegistryTable::Shard::WriteLock lock(shard);
    drop_hidden(shard, key, from, nullptr, 0);
    auto it = shard.entries.find(std::string_view(key));
    if (it == shard.entries.end() || it->second.pid.node_atom() != from) continue;
    remove_shown(shard, it, why);
  }
  stale_candidates_.erase(found);
}

}  // namespace syn::detail
