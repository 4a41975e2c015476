#pragma once
// The scope engine: one per (handler kind, scope) on a node, in the design of syn_gen_scope.
// It knows nothing of names or groups. It owns the subcluster (the peers whose handler of
// this kind runs this scope), discovery and bulk sync, purges of nodes that go down, routing
// of calls and replies, and the ordered stream of changes to each member.
//
// Ordering: every change a handler applies is handed to broadcast() while the handler still
// holds the lock under which it applied it. Changes applied on user threads are appended to
// one pending buffer that the engine thread drains; the engine thread drains that buffer
// before it sends anything else for this scope (its own changes, replies, snapshots). So each
// member receives this scope's changes in the order they were applied.
#include "scope/call_table.hpp"
#include "scope/scope_counters.hpp"
#include "scope/scope_handler.hpp"
#include "wire/buffer.hpp"
#include "wire/messages.hpp"

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace syn::detail {

class ScopeEngine {
 public:
  /// The engine of `handler` (which owns it) for `context.scope`.
  ScopeEngine(const ScopeContext& context, Kind kind, ScopeHandler& handler);

  const std::string& scope() const { return address_.scope; }
  const wire::ScopeAddress& address() const { return address_; }
  ScopeHost& host() { return node_; }

  // ---- any thread ----
  /// Names of the subcluster members (other nodes), sorted.
  std::vector<std::string> member_names() const;
  bool is_member(std::uint32_t atom) const;
  /// SPEC 9: every up peer asked has answered discovery, and every member's snapshot is in.
  /// This scope's counters (metrics; any thread).
  ScopeCounters& counters() { return counters_; }
  const ScopeCounters& counters() const { return counters_; }
  /// False until start() ran.
  bool synced() const {
    return started_.load(std::memory_order_acquire) && unsynced_count_.load(std::memory_order_acquire) == 0;
  }
  /// Sends one replicated change (an encoded handler payload) to every member but `exclude`.
  /// Call it under the lock the change was applied with. Off the engine thread `exclude` must
  /// be 0 (user-thread writes are for local processes: the caller is this node).
  void broadcast(std::string_view payload, std::uint32_t exclude = 0);
  /// Calls this scope's handler on node `to` (its on_call) with an encoded payload; the
  /// handler there answers with reply(). `on_reply` runs on the engine thread: once with the
  /// answer, timeout or node_down, and once more (late) if the answer comes after the timeout.
  /// `min_protocol`: see CallTable::call.
  void call(std::uint32_t to, std::string payload, std::chrono::milliseconds timeout, ReplyHandler on_reply,
            std::uint32_t min_protocol = 0);

  /// Node::remove_node_from_scopes: this node is leaving the scope; the API's calls on its
  /// handles fail with invalid_scope from now on (any thread).
  void mark_removed() { removed_.store(true, std::memory_order_release); }
  bool removed() const { return removed_.load(std::memory_order_acquire); }
  /// Once the node added the scope again after it left it: the scope's new handler of this
  /// kind, which the handles taken before act through (current_handler). Set once, by
  /// ScopeDirectory::add, before anyone can see it (any thread).
  void set_successor(std::shared_ptr<ScopeHandler> next) {
    assert(!successor_seen_.load(std::memory_order_relaxed));
    successor_ = std::move(next);
    successor_seen_.store(successor_.get(), std::memory_order_release);
  }
  /// The successor, or null while the scope was not added again (any thread).
  ScopeHandler* successor() const { return successor_seen_.load(std::memory_order_acquire); }
  /// The same, owned: null while there is none (any thread).
  std::shared_ptr<ScopeHandler> successor_owned() const {
    return successor_seen_.load(std::memory_order_acquire) ? successor_ : nullptr;
  }
  /// Members whose link runs a protocol older than wire::batched_changes_since (any thread):
  /// while there is one, a batched change is broadcast one change at a time.
  std::size_t old_members() const { return old_members_.load(std::memory_order_acquire); }

  // ---- engine thread ----
  /// The scope was added here: discover it on every connected peer.
  void start();
  /// This node leaves the scope (after its handler's leave_scope): every member is told
  /// (not_here, on which it purges this node's entries), snapshots being sent stop, nothing is
  /// awaited any more, and nothing goes out for this engine from now on.
  void leave_subcluster();
  void on_peer_up(std::uint32_t atom);
  /// Peers down together: their entries go in one scan of the handler's table.
  void on_peers_down(const std::vector<std::uint32_t>& atoms);
  void on_discover(std::uint32_t from);
  /// `from` does not run this (kind, scope): no snapshot to wait for; from a member, it left
  /// the scope (Node::remove_node_from_scopes): dropped as if it went down.
  void on_not_here(std::uint32_t from);
  void on_ack_sync(std::uint32_t from, bool last, const msgpack::object& chunk);
  void on_scope_message(std::uint32_t from, const msgpack::object& payload);
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload);
  /// Answers a call (status 0: success, else 1 + Errc) with an encoded payload (nil if empty).
  void reply(std::uint32_t to, std::uint64_t request_id, std::uint32_t status, std::string_view payload);
  /// Sends one message (an encoded handler payload, read by the handler's on_replicated there)
  /// to the member `to` alone, in order with this scope's broadcasts and replies to it (what
  /// user threads queued goes first). False when `to` is not a member.
  bool send_to(std::uint32_t to, std::string_view payload);
  /// Runs `fn` on the engine thread after `delay` (the handler's timers: retransmissions,
  /// view changes). The handler must outlive it or check that it still should run.
  void add_timer(std::chrono::milliseconds delay, UniqueFunction fn);
  /// Sends what user threads queued; called before anything else goes out for this scope.
  void drain_pending();

 private:
  void send_discover(std::uint32_t atom);
  /// Streams this node's data to a peer: a few parts per loop turn (kSnapshotBytesPerTurn),
  /// so that heartbeats, reads and other work go on between them however big the scope is.
  /// Changes applied meanwhile reach the peer in order between the chunks; the receiver
  /// applies both, and counts a change as current even if its part comes later.
  void send_snapshot(std::uint32_t atom) SYN_REQUIRES(engine_thread_);
  void continue_snapshot(std::uint32_t atom, std::uint64_t generation) SYN_REQUIRES(engine_thread_);
  void add_member(std::uint32_t atom);
  /// `atoms` are out of the subcluster (down, or one left the scope): their entries are
  /// purged, all in one call to the handler.
  void drop_members(const std::vector<std::uint32_t>& atoms) SYN_REQUIRES(engine_thread_);
  /// Readiness bookkeeping: wait for `atom`'s answer, or stop waiting.
  void await_sync(std::uint32_t atom) SYN_REQUIRES(engine_thread_);
  void end_await_sync(std::uint32_t atom) SYN_REQUIRES(engine_thread_);

  /// A snapshot on its way to one peer (engine thread).
  struct SnapshotStream {
    std::uint64_t generation = 0;  // a new discover restarts the stream; old turns stop
    std::size_t next_part = 0;
    std::string held;  // the last chunk written: sent once we know if it is the last
    bool have_held = false;
    bool waiting = false;  // for the peer to read what it was sent (counted once per pause)
    std::chrono::steady_clock::time_point began = std::chrono::steady_clock::now();
  };

  ScopeHost& node_;
  ScopeHandler* handler_;
  std::shared_ptr<CallTable> calls_;
  wire::ScopeAddress address_;
  std::string header_;  // encoded scope-message header, reused for every broadcast

  /// Debug builds: aborts off the engine thread (every engine-thread-only entry calls it).
  void assert_engine_thread() const SYN_ASSERT_CAPABILITY(engine_thread_) { engine_thread_.assert_held(); }
  /// members_ on the engine thread, where it changes: read without the lock (asserted).
  const std::set<std::uint32_t>& members_on_engine_thread() const SYN_NO_THREAD_SAFETY_ANALYSIS;
  /// Engine thread: `send(atom)` for each member, safe when a send ends that member's link.
  template <class Send>
  void for_each_member(Send&& send);

  mutable Mutex members_mutex_;  // writes on the engine thread; reads anywhere
  std::set<std::uint32_t> members_ SYN_GUARDED_BY(members_mutex_);
  EngineThread engine_thread_;
  std::set<std::uint32_t> syncing_from_ SYN_GUARDED_BY(engine_thread_);             // snapshots being received
  std::map<std::uint32_t, SnapshotStream> streams_ SYN_GUARDED_BY(engine_thread_);  // snapshots being sent
  std::uint64_t stream_generation_ SYN_GUARDED_BY(engine_thread_) = 0;
  /// Peers whose snapshot (or not_here) we wait for; its size, readable anywhere.
  std::set<std::uint32_t> unsynced_ SYN_GUARDED_BY(engine_thread_);
  std::atomic<std::size_t> unsynced_count_{0};
  std::atomic<bool> started_{false};
  std::atomic<bool> removed_{false};
  // Written once before successor_seen_ publishes it, never after: readers that saw the
  // pointer read successor_ without a lock. It keeps the successor alive for old handles.
  std::shared_ptr<ScopeHandler> successor_;
  std::atomic<ScopeHandler*> successor_seen_{nullptr};
  std::set<std::uint32_t> old_member_atoms_ SYN_GUARDED_BY(engine_thread_);
  std::atomic<std::size_t> old_members_{0};
  /// Keeps old_member_atoms_ / old_members_ right as `atom` joins or leaves the subcluster.
  void count_old_member(std::uint32_t atom, bool member) SYN_REQUIRES(engine_thread_);
  ScopeCounters counters_;
  /// When each snapshot being received began (metrics: its duration).
  std::map<std::uint32_t, std::chrono::steady_clock::time_point> snapshot_began_ SYN_GUARDED_BY(engine_thread_);

  Mutex pending_mutex_;
  wire::OutBuffer pending_ SYN_GUARDED_BY(pending_mutex_);
  /// Where pending_ is cut into frames: after the message that took each part past
  /// kBatchPartBytes. A peer applies a frame in one go, heartbeats held meanwhile.
  std::vector<std::size_t> pending_cuts_ SYN_GUARDED_BY(pending_mutex_);
  bool drain_posted_ SYN_GUARDED_BY(pending_mutex_) = false;
};

}  // namespace syn::detail
