#pragma once
// What the parts of the transport share (transport.cpp: sockets, the loop and batching;
// transport_links.cpp: dialling, links and their state; transport_handshake.cpp: reading
// frames and the handshake): the per-peer and per-connection state, and the limits.
#include "transport/transport.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <utility>

namespace syn::transport {

using detail::SteadyClock;
using detail::TimePoint;

inline constexpr int kDealerSendHighWater = 100000;  // frames queued to one peer before a reset
/// Bulk streams wait once a peer has this share of max_link_backlog unread (Transport::backlogged).
inline constexpr std::uint64_t kBacklogShareOfStreams = 4;
inline constexpr int kMaxFrameBytes = 256 << 20;  // larger inbound frames are refused by ZeroMQ
// A frame this big goes out at once. The receiver applies a frame in one go, with no heartbeat
// out meanwhile: 1 MB of DOWNs took a Debug build over a second (links_test, 200k monitors).
inline constexpr std::size_t kFlushAtBytes = 64 << 10;
inline constexpr auto kRefusedRedial = std::chrono::milliseconds(1000);
// A link that sent a frame less than this ago is in a stream: a sending thread leaves it to
// the engine's batches (Transport::send_now). Below any round trip between two processes.
inline constexpr auto kStreamGap = std::chrono::microseconds(50);

/// How long a connection may take to complete ZeroMQ's handshake (CURVE included).
inline std::chrono::milliseconds handshake_timeout(const TransportConfig& config) {
  return std::max(config.peer_timeout, std::chrono::milliseconds(1000));
}

/// An outgoing connection (our DEALER) and its ZeroMQ monitor.
struct Transport::Dealer {
  zmq::socket_t socket;
  zmq::socket_t monitor;
  // The socket's ZMQ_FD, readable when ZeroMQ has news for it. Once the link is up, the loop
  // polls this file descriptor rather than the socket: a poll of the socket reads its state,
  // and a process's thread may be sending on it meanwhile (Engine::send_bytes).
  int notify_fd = -1;
  // The monitor's ZMQ_FD: the loop polls it as a plain file descriptor, which costs the kernel
  // a glance, where polling a ZeroMQ socket costs two system calls per poll: with a socket per
  // peer, that made every loop turn O(peers) system calls (docs/scale.md).
  int monitor_fd = -1;
  std::string endpoint;        // as dialled
  std::uint32_t expected = 0;  // the peer we meant to reach, 0 when unknown (a probe)
  std::uint64_t session = 0;   // of the last hello
  std::uint64_t epoch = 0;     // 0 for a probe
  bool hello_sent = false;
  bool welcomed = false;
  bool connected = false;     // between ZeroMQ's handshake and the connection's loss
  std::size_t key_index = 0;  // the cluster key it dials with (a key rotation tries each)
  std::uint32_t version = 0;  // the protocol version its hello is written in
  TimePoint hello_at{};
};

/// What we know of one peer (by name).
struct Transport::Peer {
  std::uint32_t atom = 0;
  std::string name;
  std::uint32_t creation = 0;      // of the accepted inbound hello
  std::string endpoint;            // where it listens
  std::unique_ptr<Dealer> dealer;  // our attached outgoing connection
  bool inbound = false;            // its hello accepted on our ROUTER
  std::string rid;                 // routing id of its connection to our ROUTER
  std::uint64_t in_session = 0;
  std::uint64_t in_epoch = 0;
  std::uint32_t in_version = 0;                  // the protocol version of its accepted hello
  std::uint32_t speaks_min = 0, speaks_max = 0;  // the versions that hello offered
  std::uint32_t version = 0;                     // the link's: the lower of the two hellos' (when up)
  std::uint64_t epoch = 0;                       // our link epoch with it
  bool up = false;
  bool blocked = false;   // disconnect(): no redial until connect()
  TimePoint last_recv{};  // a frame from it, on either connection
  TimePoint last_send{};
  TimePoint last_back{};  // our last heartbeat on the connection it dialled
  wire::FrameWriter out;
  std::optional<wire::Peers> early_peers;                // a peer list that came before the link was up here
  std::uint64_t downs = 0;                               // links with it that ended
  std::optional<DownReason> last_down;                   // why the last one ended
  std::map<std::string, std::uint64_t> downs_by_reason;  // code_of(reason) -> links that ended so
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  // What waits unread between us (protocol 5 on, wire::read_acks_since). Its heartbeats on our
  // connection say how much of what we sent there it has read; ours on its connection say the
  // same of its frames. Each side counts from the start of that connection's session, where
  // nothing has been sent yet, so the two counts agree.
  std::uint64_t read_from_rid = 0;         // bytes of frames read from its connection since its hello
  std::uint64_t sent_since_up = 0;         // bytes of frames sent on our connection since the link came up
  std::optional<std::uint64_t> peer_read;  // of those, what it last said it read (none: it never says)
  bool peer_read_unjudged = false;         // peer_read changed since the link was last judged on it
  std::set<std::string> reached_at;        // endpoints our connections dialled and found it at
};

// Holds the links found down while a pass over the sockets runs, and tells them in one call
// when it finishes: peers killed at once (their disconnects read in one pass) or silent at
// once (a cut) are purged in one scan of each table, not one scan each. A pass that throws
// leaves them held; the next pass, or the next down outside one, tells them.
class Transport::DownBatch {
 public:
  explicit DownBatch(Transport& transport)
      : transport_(transport), outermost_(!std::exchange(transport.holding_downs_, true)) {}
  ~DownBatch() {
    if (outermost_) transport_.holding_downs_ = false;
  }
  DownBatch(const DownBatch&) = delete;
  DownBatch& operator=(const DownBatch&) = delete;
  /// The pass ended: tell what it found (not from the destructor: the listener may throw).
  /// Still holding while it tells: a link the listener's own sends find down meanwhile is
  /// told in the next call, after this one, not inside it.
  void finish() {
    if (!outermost_) return;
    transport_.tell_held_downs();
    transport_.holding_downs_ = false;
  }

 private:
  Transport& transport_;
  const bool outermost_;
};

}  // namespace syn::transport
