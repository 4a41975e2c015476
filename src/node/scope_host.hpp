#pragma once
// ScopeHost: everything the scope layer (scope/) and the handlers (registry/, groups/, ...)
// use from the node, and nothing more. NodeCore implements it; a simulated node (tests/sim)
// implements it too, so that scope engines and handlers run unchanged over simulated links.
// Nothing above node/ includes a node header beyond this one and the type it names
// (ProcessControl).
//
// Threads: the identity, the size checks, is_local and deaths_in_progress are plain data, safe
// from any thread and free of virtual calls (lookups read them). Methods marked "engine thread"
// may only be called there; the implementations assert it.
#include "common/function_ref.hpp"
#include "common/thread_safety.hpp"
#include "common/unique_function.hpp"
#include "node/process_control.hpp"
#include "wire/buffer.hpp"
#include "wire/messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/groups.hpp>
#include <syn/node.hpp>

#include <msgpack.hpp>

#include <atomic>
#include <cassert>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

/// Told of peers coming and going and of the node stopping (engine thread unless said).
class PeerObserver {
 public:
  virtual ~PeerObserver() = default;
  /// A peer is up (connected, handshake done).
  virtual void on_peer_up(std::uint32_t atom) = 0;
  /// A peer is down: everything of it goes.
  virtual void on_peer_down(std::uint32_t atom) = 0;
  /// Peers found down together (see TransportListener::on_peers_down): one call, so that an
  /// observer with a table to scan scans it once. Defaults to on_peer_down for each.
  virtual void on_peers_down(const std::vector<std::uint32_t>& atoms) {
    for (auto atom : atoms) on_peer_down(atom);
  }
  /// The node stops; the engine thread's last turn, before the links close.
  virtual void on_engine_stopping() {}
  /// The node stopped: no engine thread any more (called on the stopping thread).
  virtual void on_stopped() {}
};

/// Reads one message of a registered type from a peer (engine thread). Throws
/// wire::DecodeError when it is malformed.
using PeerMessageHandler = MoveOnlyFunction<void(std::uint32_t from, const msgpack::object& message)>;

class ScopeHost {
 public:
  virtual ~ScopeHost() = default;
  ScopeHost(const ScopeHost&) = delete;
  ScopeHost& operator=(const ScopeHost&) = delete;

  // ---- identity (any thread; plain data) ----
  const NodeOptions& options() const { return options_; }
  const std::string& name() const { return options_.name; }
  std::uint32_t atom() const { return atom_; }
  std::uint32_t creation() const { return creation_; }
  /// Whether `pid` runs on this node, this incarnation.
  bool is_local(const Pid& pid) const { return pid.node_atom() == atom_ && pid.creation() == creation_; }

  // ---- term sizes (SPEC 7; any thread) ----
  /// True when every part (canonical bytes) is within NodeOptions::max_term_bytes.
  template <class... Parts>
  bool fits(const Parts&... parts) const {
    return ((std::string_view(parts).size() <= options_.max_term_bytes) && ...);
  }
  /// True when the encoding of `term` is within max_term_bytes.
  bool fits_term(const Term& term) const { return wire::fits_within(term, options_.max_term_bytes); }
  /// Throws Error{bad_argument} naming `what` unless `term` fits (calls that return no Result).
  void require_fits(const Term& term, const char* what) const;
  /// The same for canonical bytes already encoded.
  void require_fits_bytes(std::string_view canonical, const char* what) const;
  /// Engine thread: true when every part of a peer's entry fits; else counts it as oversized
  /// (NodeStats::oversized_terms) and the caller drops it.
  template <class... Parts>
  bool accepts(std::uint32_t from, const Parts&... parts) {
    if (fits(parts...)) return true;
    count_oversized(from);
    return false;
  }
  /// Engine thread: the same for a term a peer sent.
  bool accepts_term(std::uint32_t from, const Term& term) {
    if (fits_term(term)) return true;
    count_oversized(from);
    return false;
  }
  /// Engine thread: a peer sent a term over max_term_bytes; it was dropped.
  virtual void count_oversized(std::uint32_t from) = 0;

  // ---- local processes (any thread) ----
  /// Whether some local process is dying: marked dead, its names and memberships not yet all
  /// removed. While none is, an entry held by a local process is a live process's, and
  /// lookups skip reading the process. Read it while holding the lock of the entry read: the
  /// removal of a dying process's entry takes that lock, and the count falls only after it.
  bool deaths_in_progress() const { return dying_.load(std::memory_order_seq_cst) != 0; }
  /// ProcessControl brackets a death with these: begins before the process is marked dead,
  /// ends once its exit was observed. A node shutting down begins deaths it never ends.
  void death_begins() { dying_.fetch_add(1, std::memory_order_seq_cst); }
  void death_ends() { dying_.fetch_sub(1, std::memory_order_seq_cst); }
  /// ProcessControl::kill, on the killing thread: tells the observers of the process (the
  /// handlers it attached to) and the monitors, and forgets it.
  virtual void on_local_exit(const Pid& pid, const Term& reason, std::vector<Attachment> attachments) = 0;
  /// The local process `pid`, alive or dying; null if unknown or of another node.
  virtual std::shared_ptr<ProcessControl> find_local(const Pid& pid) const = 0;
  /// Node::send.
  virtual void send(const Pid& pid, Term message) = 0;
  /// One message, already in canonical bytes, for several processes of one incarnation of
  /// node `node_atom` (one frame carries it to all of them).
  virtual void send_to_many(std::uint32_t node_atom, std::uint32_t creation, const std::vector<std::uint64_t>& ids,
                            std::string_view canonical_message) = 0;
  /// Scatter/gather: calls every member, waits at most `timeout` for all (blocks).
  virtual MultiCallResult multi_call(std::vector<Member> members, const Term& message,
                                     std::chrono::milliseconds timeout) = 0;

  // ---- the cluster (any thread) ----
  virtual bool stopped() const = 0;
  /// Whether the node of `pid` is up now with the pid's incarnation.
  virtual bool is_connected(const Pid& pid) const = 0;
  /// Whether node `atom` is up now.
  virtual bool is_up(std::uint32_t atom) const = 0;

  // ---- callbacks (any thread) ----
  /// Queues a callback (event handlers, subscriptions): callbacks run one at a time, in the
  /// order they were queued, off the engine thread. Returns its sequence number.
  virtual std::uint64_t post_callback(UniqueFunction fn) = 0;
  /// Returns once callback `seq` has run (at once on the callback thread itself: a callback
  /// that calls the API must not wait for itself; or once the node stopped).
  virtual void wait_for_callback(std::uint64_t seq) = 0;
  /// The event handler now in force for `scope`'s changes (may be null).
  virtual std::shared_ptr<EventHandler> event_handler(std::string_view scope) const = 0;
  /// This node has applied the whole snapshot of `node` for (kind, scope): queues
  /// on_scope_synced behind the callbacks of the snapshot's entries (engine thread).
  virtual void scope_synced(Kind /*kind*/, const std::string& /*scope*/, std::uint32_t /*node*/) {}
  /// The time stamp of a write done here: wall-clock nanoseconds, never the same twice.
  virtual std::int64_t unique_time_ns() = 0;
  /// Monotonic microseconds, for timeouts a handler measures itself (multicast's view changes
  /// and laggards). A simulated node answers with its simulated clock.
  virtual std::int64_t monotonic_micros() const {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now().time_since_epoch())
        .count();
  }
  /// True when the node runs everything on one thread (a simulated node): handlers then run
  /// their callbacks through post_callback, in one order the seed fixes, rather than on
  /// threads of their own.
  virtual bool single_threaded() const { return false; }

  // ---- the engine thread ----
  virtual bool on_engine_thread() const = 0;
  /// Any thread: runs `fn` on the engine thread, soon; dropped once the node stopped.
  virtual void post(UniqueFunction fn) = 0;
  /// Any thread but the engine's: runs `fn` at once in the engine thread's role when the
  /// engine waits idle, and sends what it queued for peers; false, with `fn` not run, when the
  /// engine is busy (the caller then posts it). It spares the engine's wake-up, a fifth of a
  /// round trip on a quiet node. See Engine::run_if_idle for what `fn` may do. A simulated
  /// node runs everything in its one order: never.
  virtual bool run_if_engine_idle(FunctionRef<void()> /*fn*/) { return false; }
  /// Any thread: appends encoded messages to the next frame to a peer (dropped if not up).
  virtual void post_bytes(std::uint32_t atom, std::string bytes) = 0;
  /// Engine thread: sends what is batched for peers now, not at the end of the turn (a handler
  /// about to wake other threads lets the network go first).
  virtual void flush_peers() {}
  /// Engine thread, in the middle of a long task (a purge or a resync scanning a table of
  /// millions, which a node given a few percent of a core takes seconds over): sends the
  /// heartbeats due, so that peers do not take this node for dead while it works. Nothing else
  /// runs: no frame is read and no link judged, so nothing calls back into the caller.
  virtual void keep_links_alive() {}
  /// How many entries a long task goes over between two calls of keep_links_alive() when it
  /// does not go shard by shard (about a 64th of a million-entry table).
  static constexpr std::size_t kEntriesPerKeepAlive = 16384;
  /// Counts the entries of a long task that does not go shard by shard, and sends the
  /// heartbeats due every kEntriesPerKeepAlive of them (keep_links_alive() takes no lock and
  /// calls nothing back: it may run under the task's locks).
  class KeepAliveCounter {
   public:
    explicit KeepAliveCounter(ScopeHost& host) : host_(host) {}
    /// One more entry gone over.
    void count() {
      if (++since_ < kEntriesPerKeepAlive) return;
      host_.keep_links_alive();
      since_ = 0;
    }

   private:
    ScopeHost& host_;
    std::size_t since_ = 0;
  };
  /// Engine thread: whether bulk streams to `atom` (snapshots) should wait: much of what was
  /// sent to it waits unread (NodeOptions::max_link_backlog), and more would overflow it.
  virtual bool peer_backlogged(std::uint32_t /*atom*/) { return false; }
  /// Engine thread: runs `fn` on the engine thread after `delay`.
  virtual void add_timer(std::chrono::milliseconds delay, UniqueFunction fn) = 0;
  /// Engine thread: the frame being built for peer `atom`, or null when it is not up.
  virtual wire::OutBuffer* peer_out(std::uint32_t atom) = 0;
  /// Engine thread: appends one message to the next frame to `atom` if it is up. Messages to
  /// one peer leave in the order they were appended, whoever appends them.
  template <class Encode>
  bool send_to_peer(std::uint32_t atom, Encode&& encode) {
    if (auto* out = peer_out(atom)) {
      encode(*out);
      return true;
    }
    return false;
  }
  /// Engine thread: the peers up now.
  virtual std::vector<std::uint32_t> up_peers() = 0;
  /// Engine thread: the incarnation of an up peer (0 if it is not up).
  virtual std::uint32_t up_creation(std::uint32_t atom) = 0;
  /// Engine thread: the protocol version of the link with an up peer (0 if it is not up):
  /// what the peer understands (an older node is never sent a message it does not know).
  virtual std::uint32_t peer_protocol(std::uint32_t atom) = 0;

  // ---- plugging in (before the node starts) ----
  /// Messages of `type` from peers go to `handler`. One handler per type.
  virtual void route(wire::MsgType type, PeerMessageHandler handler) = 0;
  /// Engine thread, inside a route's handler: the encoded size of the message it was given
  /// (snapshot metrics count bytes in without a field of their own on the wire).
  std::size_t routing_bytes() const { return routing_bytes_; }
  /// `observer` hears of peers and of the node stopping until then. It must outlive the node's
  /// stop.
  virtual void add_peer_observer(PeerObserver& observer) = 0;

 protected:
  ScopeHost(NodeOptions options, std::uint32_t creation)
      : options_(std::move(options)), atom_(intern_node_name(options_.name)), creation_(creation) {}

  NodeOptions options_;
  std::uint32_t atom_;
  std::uint32_t creation_;
  std::size_t routing_bytes_ = 0;  // engine thread: set by the router before each handler

 private:
  // Its own cache line: read by every lookup on the owner, written only around deaths.
  alignas(64) std::atomic<std::uint32_t> dying_{0};
};

/// The engine thread of one host, as a capability of the thread-safety analysis: data only
/// that thread touches is SYN_GUARDED_BY(engine_thread_); every function that touches it
/// starts with engine_thread_.assert_held(), which asserts (debug builds) that it runs there
/// and tells the analysis so; a function called only from such functions says
/// SYN_REQUIRES(engine_thread_).
class ABSL_LOCKABLE EngineThread {
 public:
  explicit EngineThread(const ScopeHost& host) : host_(host) {}
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK() { assert(host_.on_engine_thread() && "engine thread only"); }

 private:
  const ScopeHost& host_;
};

}  // namespace syn::detail
