#include "scope/scope_engine.hpp"

#include "common/clock.hpp"
#include "common/log.hpp"

#include <msgpack.hpp>

#include <algorithm>
#include <cassert>

namespace syn::detail {

namespace {
/// How much of a snapshot one loop turn sends to one peer before the loop goes on: small
/// against what a turn may take (heartbeats are due every heartbeat_interval). 4 MB was too
/// much: encoding it took a Debug build hundreds of milliseconds, and peers with a short
/// peer_timeout took the node for dead (issue 14; links_test's million-name snapshot). A turn
/// still writes at least one whole part (a table shard).
constexpr std::size_t kSnapshotBytesPerTurn = 256 << 10;
// How long a snapshot stream to a peer with much unread waits before it looks again. The peer
// says what it read at each of its heartbeats.
constexpr auto kSnapshotWait = std::chrono::milliseconds(20);
/// Writes queued by other threads go out in parts of about this size, each in a frame of its
/// own (the transport sends a peer's frame once it holds 64 kB). Sent whole, a burst that
/// waited for the engine made one frame of megabytes: a peer given 3% of a core by 64 nodes
/// on 2 cores took seconds to apply it, and it held everything else that peer had to read.
constexpr std::size_t kBatchPartBytes = 64 << 10;
}  // namespace

ScopeEngine::ScopeEngine(const ScopeContext& context, Kind kind, ScopeHandler& handler)
    : node_(*context.host),
      handler_(&handler),
      calls_(context.calls),
      address_{static_cast<std::uint32_t>(kind), context.scope},
      engine_thread_(*context.host) {
  wire::OutBuffer header;
  wire::begin_scope_message(header, address_);
  header_ = header.release();
}

std::vector<std::string> ScopeEngine::member_names() const {
  std::vector<std::string> out;
  {
    MutexLock lock(members_mutex_);
    for (auto atom : members_) out.push_back(node_name_of(atom));
  }
  std::sort(out.begin(), out.end());
  return out;
}

const std::set<std::uint32_t>& ScopeEngine::members_on_engine_thread() const {
  // members_ changes only on the engine thread (under the lock, for readers elsewhere), so the
  // engine thread reads it without the lock. The analysis cannot express "this thread, or the
  // lock": this function is the one place it is told, and the assertion checks the thread.
  assert(node_.on_engine_thread() && "ScopeEngine: members read without the lock off the engine thread");
  return members_;
}

template <class Send>
void ScopeEngine::for_each_member(Send&& send) {
  // A send may end links (a queue full: Transport::send_blocked, teardown), this member's or,
  // through what the teardown sends in turn, another's, and that drops them from members_
  // there and then: no iterator is held across a send, the next member is found afresh.
  const auto& members = members_on_engine_thread();
  for (auto it = members.begin(); it != members.end();) {
    std::uint32_t atom = *it;
    send(atom);
    it = members.upper_bound(atom);
  }
}

bool ScopeEngine::is_member(std::uint32_t atom) const {
  MutexLock lock(members_mutex_);
  return members_.count(atom) != 0;
}

void ScopeEngine::broadcast(std::string_view payload, std::uint32_t exclude) {
  if (node_.on_engine_thread()) {
    drain_pending();
    for_each_member([&](std::uint32_t atom) {
      if (atom == exclude) return;
      node_.send_to_peer(atom, [&](wire::OutBuffer& out) {
        out.append(header_);
        out.append(payload);
      });
    });
    return;
  }
  bool post = false;
  {
    MutexLock lock(pending_mutex_);
    pending_.append(header_);
    pending_.append(payload);
    std::size_t part_began = pending_cuts_.empty() ? 0 : pending_cuts_.back();
    if (pending_.size() - part_began >= kBatchPartBytes) pending_cuts_.push_back(pending_.size());
    if (!drain_posted_) drain_posted_ = post = true;
  }
  if (post) node_.post([this] { drain_pending(); });
}

void ScopeEngine::drain_pending() {
  assert_engine_thread();
  std::string batch;
  std::vector<std::size_t> cuts;
  {
    MutexLock lock(pending_mutex_);
    if (pending_.empty()) {
      drain_posted_ = false;
      return;
    }
    batch = pending_.release();
    cuts.swap(pending_cuts_);
    drain_posted_ = false;
  }
  if (cuts.empty() || cuts.back() != batch.size()) cuts.push_back(batch.size());
  const std::string_view all(batch);
  for_each_member([&](std::uint32_t atom) {
    std::size_t from = 0;
    for (std::size_t to : cuts) {
      assert(from < to && to <= all.size());
      // Each part in a call of its own: the transport sends the frame before, once it is full.
      if (!node_.send_to_peer(atom, [&](wire::OutBuffer& out) { out.append(all.substr(from, to - from)); })) return;
      from = to;
    }
  });
}

void ScopeEngine::start() {
  assert_engine_thread();
  for (auto atom : node_.up_peers()) send_discover(atom);
  started_.store(true, std::memory_order_release);
}

void ScopeEngine::send_discover(std::uint32_t atom) {
  assert_engine_thread();
  // A peer of protocol 1 never says it does not run the scope: awaiting it could last for
  // ever. It counts once its own discover says it runs the scope (on_discover).
  if (node_.peer_protocol(atom) >= wire::not_here_since) await_sync(atom);
  node_.send_to_peer(atom, [&](wire::OutBuffer& out) { wire::encode_discover(out, address_); });
}

void ScopeEngine::on_peer_up(std::uint32_t atom) { send_discover(atom); }

void ScopeEngine::on_peers_down(const std::vector<std::uint32_t>& atoms) {
  assert_engine_thread();
  drop_members(atoms);
}

void ScopeEngine::drop_members(const std::vector<std::uint32_t>& atoms) {
  std::vector<bool> was_member(atoms.size(), false);
  for (auto atom : atoms) {
    count_old_member(atom, false);
    end_await_sync(atom);
    syncing_from_.erase(atom);
    streams_.erase(atom);
  }
  {
    MutexLock lock(members_mutex_);
    for (std::size_t i = 0; i < atoms.size(); ++i) was_member[i] = members_.erase(atoms[i]) != 0;
  }
  // Purge even if discovery had not finished: a reply applied by a caller may have put
  // entries of that node here already.
  handler_->purge_nodes(atoms);
  for (std::size_t i = 0; i < atoms.size(); ++i) {
    snapshot_began_.erase(atoms[i]);
    if (!was_member[i]) continue;
    ScopeCounters::add(counters_.purges);
    handler_->on_member_removed(atoms[i]);
    SYN_LOG_SCOPE(debug, node_.name(), address_.scope, "scope ", address_.scope, ": ", node_name_of(atoms[i]),
                  " left the subcluster");
  }
}

void ScopeEngine::add_member(std::uint32_t atom) {
  assert_engine_thread();
  drain_pending();  // what was applied before it joined goes only to the old members
  bool added;
  {
    MutexLock lock(members_mutex_);
    added = members_.insert(atom).second;
  }
  if (added) {
    count_old_member(atom, true);
    handler_->on_member_added(atom);
  }
}

void ScopeEngine::count_old_member(std::uint32_t atom, bool member) {
  bool changed = false;
  if (!member) {
    changed = old_member_atoms_.erase(atom) != 0;
  } else if (node_.peer_protocol(atom) < wire::batched_changes_since) {
    changed = old_member_atoms_.insert(atom).second;
  }
  if (changed) old_members_.store(old_member_atoms_.size(), std::memory_order_release);
}

void ScopeEngine::on_discover(std::uint32_t from) {
  assert_engine_thread();
  // It runs the scope: its snapshot follows (it answers our discover, or our snapshot).
  if (!is_member(from)) await_sync(from);
  add_member(from);
  send_snapshot(from);
}

void ScopeEngine::on_not_here(std::uint32_t from) {
  assert_engine_thread();
  if (is_member(from)) {
    drop_members({from});  // it left the scope: its entries go (remote_scope_node_down)
  } else {
    end_await_sync(from);
  }
}

void ScopeEngine::leave_subcluster() {
  assert_engine_thread();
  {
    MutexLock lock(pending_mutex_);
    pending_.clear();  // the peers purge this node's entries: its last changes need not go
    pending_cuts_.clear();
  }
  std::set<std::uint32_t> members;
  {
    MutexLock lock(members_mutex_);
    members.swap(members_);
  }
  for (auto atom : members) {
    node_.send_to_peer(atom, [&](wire::OutBuffer& out) { wire::encode_not_here(out, address_); });
  }
  for (auto atom : members) count_old_member(atom, false);
  streams_.clear();
  syncing_from_.clear();
  snapshot_began_.clear();
  unsynced_.clear();
  unsynced_count_.store(0, std::memory_order_release);
}

void ScopeEngine::await_sync(std::uint32_t atom) {
  if (unsynced_.insert(atom).second) unsynced_count_.store(unsynced_.size(), std::memory_order_release);
}

void ScopeEngine::end_await_sync(std::uint32_t atom) {
  if (unsynced_.erase(atom) != 0) unsynced_count_.store(unsynced_.size(), std::memory_order_release);
}

void ScopeEngine::send_snapshot(std::uint32_t atom) {
  auto& stream = streams_[atom];
  stream = SnapshotStream{++stream_generation_};
  continue_snapshot(atom, stream.generation);
}

void ScopeEngine::continue_snapshot(std::uint32_t atom, std::uint64_t generation) {
  auto it = streams_.find(atom);
  if (it == streams_.end() || it->second.generation != generation) return;  // ended or restarted
  SnapshotStream& stream = it->second;
  if (node_.peer_backlogged(atom)) {
    // A peer slower than this stream would overflow, be reset and ask for it again, for ever.
    if (!stream.waiting) ScopeCounters::add(counters_.snapshot_waits);
    stream.waiting = true;
    node_.add_timer(kSnapshotWait, [this, atom, generation] {
      assert_engine_thread();
      continue_snapshot(atom, generation);
    });
    return;
  }
  stream.waiting = false;
  drain_pending();  // changes applied before this turn's parts were read go first
  std::size_t sent = 0;
  // Chunks go out one behind, so that the last one can say it is the last.
  auto emit_held = [&](bool last) {
    std::size_t message_bytes = 0;  // with its header, as the receiver counts it
    node_.send_to_peer(atom, [&](wire::OutBuffer& out) {
      const std::size_t before = out.size();
      wire::begin_ack_sync(out, address_, last);
      out.append(stream.held);
      message_bytes = out.size() - before;
    });
    sent += stream.held.size();
    ScopeCounters::add(counters_.snapshot_bytes_out, message_bytes);
  };
  const std::size_t parts = handler_->snapshot_parts();
  // A part may be larger than a turn (a registry shard of many names): the peer's backlog is
  // looked at again after each one.
  while (stream.next_part < parts && sent < kSnapshotBytesPerTurn && !node_.peer_backlogged(atom)) {
    handler_->write_snapshot_part(stream.next_part++, [&](std::string_view chunk) {
      if (stream.have_held) emit_held(false);
      stream.held.assign(chunk);
      stream.have_held = true;
    });
  }
  if (stream.next_part < parts) {
    // The held chunk goes now: changes applied before the next turn go out before that turn's
    // parts, and a peer applying one of them before an older chunk of what it changed would
    // bring back what it removed. More parts follow, so it is not the last.
    if (stream.have_held) {
      emit_held(false);
      stream.have_held = false;
    }
    node_.post([this, atom, generation] {
      assert_engine_thread();
      continue_snapshot(atom, generation);
    });
    return;
  }
  if (!stream.have_held) {
    wire::OutBuffer empty;
    msgpack::packer<wire::OutBuffer>(empty).pack_array(0);
    stream.held = empty.release();
  }
  emit_held(true);
  ScopeCounters::add(counters_.snapshots_out);
  ScopeCounters::add(counters_.snapshot_nanos_out, nanos_since(stream.began));
  streams_.erase(it);
}

void ScopeEngine::on_ack_sync(std::uint32_t from, bool last, const msgpack::object& chunk) {
  assert_engine_thread();
  if (!is_member(from)) {
    // It has the scope and we did not know: it gets our data too.
    add_member(from);
    send_snapshot(from);
  }
  if (syncing_from_.insert(from).second) {
    snapshot_began_[from] = std::chrono::steady_clock::now();
    handler_->begin_remote_snapshot(from);
  }
  handler_->apply_snapshot_chunk(from, chunk);
  ScopeCounters::add(counters_.snapshot_bytes_in, node_.routing_bytes());
  if (last) {
    syncing_from_.erase(from);
    handler_->end_remote_snapshot(from);
    end_await_sync(from);
    ScopeCounters::add(counters_.snapshots_in);
    if (auto began = snapshot_began_.find(from); began != snapshot_began_.end()) {
      ScopeCounters::add(counters_.snapshot_nanos_in, nanos_since(began->second));
      snapshot_began_.erase(began);
    }
    node_.scope_synced(static_cast<Kind>(address_.kind), address_.scope, from);
  }
}

void ScopeEngine::on_scope_message(std::uint32_t from, const msgpack::object& payload) {
  assert_engine_thread();
  // Changes from nodes outside the subcluster are ignored (SPEC 1).
  if (!is_member(from)) return;
  handler_->on_replicated(from, payload);
}

void ScopeEngine::on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) {
  assert_engine_thread();
  handler_->on_call(from, request_id, payload);
}

void ScopeEngine::call(std::uint32_t to, std::string payload, std::chrono::milliseconds timeout, ReplyHandler on_reply,
                       std::uint32_t min_protocol) {
  calls_->call(to, address_, std::move(payload), timeout, std::move(on_reply), min_protocol);
}

bool ScopeEngine::send_to(std::uint32_t to, std::string_view payload) {
  assert_engine_thread();
  if (!members_on_engine_thread().count(to)) return false;
  drain_pending();
  return node_.send_to_peer(to, [&](wire::OutBuffer& out) {
    out.append(header_);
    out.append(payload);
  });
}

void ScopeEngine::add_timer(std::chrono::milliseconds delay, UniqueFunction fn) {
  assert_engine_thread();
  node_.add_timer(delay, std::move(fn));
}

void ScopeEngine::reply(std::uint32_t to, std::uint64_t request_id, std::uint32_t status, std::string_view payload) {
  assert_engine_thread();
  drain_pending();
  node_.send_to_peer(to, [&](wire::OutBuffer& out) {
    wire::begin_reply(out, request_id, status);
    if (payload.empty()) {
      out.put(static_cast<char>(0xc0));
    } else {
      out.append(payload);
    }
  });
}

}  // namespace syn::detail
