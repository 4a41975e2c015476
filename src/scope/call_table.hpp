#pragma once
// Calls routed to another node (a write executed by the node that runs the pid): request ids,
// timeouts, and the answers. A call that timed out may still have happened: its late reply
// is still handed to the caller's handler (marked late), so that the change it carries
// reaches this node's replica (the authority does not broadcast a change back to its caller).
#include "common/histogram.hpp"
#include "common/unique_function.hpp"
#include "node/scope_host.hpp"
#include "wire/messages.hpp"

#include <syn/errors.hpp>

#include <msgpack.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace syn::detail {

/// How a call ended.
struct CallOutcome {
  std::uint32_t status = 0;                  ///< 0: success; else 1 + Errc (timeout, node_down, ...)
  const msgpack::object* payload = nullptr;  ///< the reply payload; null on timeout/node_down
  bool late = false;                         ///< the reply of a call already answered with timeout
};

using ReplyHandler = MoveOnlyFunction<void(const CallOutcome&)>;

class CallTable {
 public:
  explicit CallTable(ScopeHost& node) : node_(node), engine_thread_(node) {}

  /// Any thread: sends a call (payload: one encoded msgpack value) to `atom`. `on_reply` runs
  /// on the engine thread: once with the answer, timeout or node_down, and once more (late)
  /// if a reply arrives after the timeout. A peer whose link runs a protocol older than
  /// `min_protocol` is not sent the call: it fails with kStatusPeerTooOld.
  void call(std::uint32_t atom, const wire::ScopeAddress& address, std::string payload,
            std::chrono::milliseconds timeout, ReplyHandler on_reply, std::uint32_t min_protocol = 0);

  // ---- engine thread ----
  void on_reply(std::uint32_t from, const wire::Reply& reply);
  void on_peer_down(std::uint32_t atom);
  /// The node stops: every pending call ends with node_down.
  void fail_all();

  /// How long calls took: from the call to its answer or its timeout (any thread).
  const LatencyHistogram& latency() const { return latency_; }

 private:
  struct Pending {
    std::uint32_t atom;
    ReplyHandler on_reply;
    bool timed_out = false;
    std::chrono::steady_clock::time_point sent;  // for the latency histogram
  };
  void expire(std::uint64_t id);

  ScopeHost& node_;
  EngineThread engine_thread_;
  std::atomic<std::uint64_t> next_id_{0};
  std::unordered_map<std::uint64_t, Pending> pending_ SYN_GUARDED_BY(engine_thread_);
  LatencyHistogram latency_;
};

/// Status of a failed outcome.
inline std::uint32_t status_of(Errc code) { return static_cast<std::uint32_t>(code) + 1; }
/// The status of a call that was not sent: the peer's link runs a protocol older than the
/// call needs (CallTable::call's min_protocol). errc_of reads it as bad_argument.
inline constexpr std::uint32_t kStatusPeerTooOld = 0xffff;
inline Errc errc_of(std::uint32_t status) {
  // A status beyond the codes this build knows (a broken or newer peer, kStatusPeerTooOld).
  if (status == 0 || status - 1 > static_cast<std::uint32_t>(Errc::bad_argument)) return Errc::bad_argument;
  return static_cast<Errc>(status - 1);
}

}  // namespace syn::detail
