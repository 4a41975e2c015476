#pragma once
// Peer links over ZeroMQ: the handshake, heartbeats, failure detection, gossip for
// auto_connect, and per-peer batching of outgoing messages. Engine thread only.
//
// Every node binds one ROUTER and dials each peer with a DEALER of its own: a node sends on
// its DEALER and receives on its ROUTER, so each direction has one ordered TCP stream. The
// ROUTER answers a hello on the connection it came from (welcome, refuse, reset), which tells
// a DEALER who it reached.
//
// A link is up when we accepted the peer's hello on our ROUTER and the peer welcomed the hello
// of our DEALER. Whenever a link ends (connection lost, silence past peer_timeout, overflow,
// reset), both its connections are dropped and the peer is told to reset: every link starts
// from a fresh handshake, so nothing from an old session is ever taken for a new one, and the
// layers above resync from scratch. With a cluster key, a Gate (gate.hpp) makes both socket
// kinds CURVE sockets and refuses every peer without the key inside ZeroMQ's handshake,
// before the hello; the frames do not change.
#include "common/clock.hpp"
#include "transport/cluster_key.hpp"
#include "transport/host_addresses.hpp"
#include "transport/monitor_event.hpp"
#include "transport/refusal_log.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"

#include <syn/pid.hpp>

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace syn::transport {

/// Why a peer went down.
enum class DownReason { connection_lost, timeout, left, disconnected, reset, overflow, restarted };
const char* to_string(DownReason reason);
/// The reason as one word for programs (EventHandler::on_node_down): "connection_lost",
/// "timeout", "left", "disconnected", "reset", "overflow", "restarted".
const char* code_of(DownReason reason);

/// Throws Error{bad_argument} unless `endpoint` is a well-formed endpoint to dial:
/// tcp://host:port (host not empty, port 1..65535) or ipc://path (path not empty).
void check_endpoint(const std::string& endpoint);

/// The endpoint peers dial to reach a node bound at `bound` (with its real port): `advertise`
/// when given ("tcp://host" takes the bound port), else the bound endpoint, with a wildcard
/// address (0.0.0.0, [::], *) replaced by the host's only address of that family (an
/// interface up and running, not loopback or link-local: this_host()), or by its name when
/// it has none or several. Throws Error{bad_argument}.
std::string advertised_endpoint(const std::string& bound, const std::string& advertise, const HostAddresses& host);
/// The same for this host (this_host()).
std::string advertised_endpoint(const std::string& bound, const std::string& advertise);

/// One peer the transport knows (Transport::links), for operators.
struct LinkInfo {
  std::string name;
  std::string endpoint;                 ///< where it listens
  std::vector<std::string> reached_at;  ///< endpoints we dialled and found it at (seeds, say)
  std::uint32_t creation = 0;
  bool up = false;
  bool blocked = false;                                  ///< disconnect(): no redial until connect()
  std::chrono::milliseconds last_heard{0};               ///< since its last frame (0 when never heard)
  std::uint64_t downs = 0;                               ///< links with it that ended
  std::string last_down;                                 ///< why the last one ended ("" when none did)
  std::map<std::string, std::uint64_t> downs_by_reason;  ///< code_of(reason) -> links ended so
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  /// Bytes sent to it that it has not said it read (protocol 5 on; 0 when down or older).
  std::uint64_t unread_bytes = 0;
  std::uint32_t protocol = 0;                    ///< the version the link runs (0 when not up)
  std::uint32_t speaks_min = 0, speaks_max = 0;  ///< the versions its last hello offered
};

/// What the transport tells the node.
/// One link that went down (TransportListener::on_peers_down).
struct PeerDown {
  std::uint32_t atom;
  std::uint32_t creation;
  DownReason reason;
};

class TransportListener {
 public:
  virtual ~TransportListener() = default;
  virtual void on_peer_up(std::uint32_t atom, std::uint32_t creation) = 0;
  virtual void on_peer_down(std::uint32_t atom, std::uint32_t creation, DownReason reason) = 0;
  /// The links found down in one pass over the sockets (peers killed at once, this node cut
  /// from the rest), in the order found, told in one call: the node then purges all of them
  /// in one scan of each table rather than one scan each. Defaults to on_peer_down for each.
  virtual void on_peers_down(const std::vector<PeerDown>& downs) {
    for (const auto& d : downs) on_peer_down(d.atom, d.creation, d.reason);
  }
  /// A message of a non-link type from an up peer. Throwing wire::DecodeError marks it
  /// malformed (counted and logged); the link stays. `bytes`: its encoded size (metrics).
  virtual void on_peer_message(std::uint32_t atom, const msgpack::object& message, std::size_t bytes) = 0;
};

struct TransportConfig {
  std::string node_name;
  std::uint32_t creation = 0;
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds peer_timeout{3000};
  bool auto_connect = true;
  /// The cluster's key pair first, then those also accepted during a key rotation: every
  /// link CURVE-authenticated and encrypted. Empty: plaintext.
  std::vector<CurveKeys> keys;
  /// The newest protocol version offered (lowered to run a node as an older build would).
  std::uint32_t max_protocol = protocol_version;
  /// NodeOptions::max_link_backlog: bytes sent to a peer and not yet read by it, beyond which
  /// the link is reset (0: no bound but ZeroMQ's queue).
  std::uint64_t max_link_backlog = std::uint64_t{256} << 20;
};

/// Counters shared with NodeStats.
struct TransportCounters {
  std::uint64_t frames_received = 0;
  std::uint64_t frames_sent = 0;
  std::uint64_t malformed = 0;
  std::uint64_t refused = 0;
  std::uint64_t link_resets = 0;
  std::uint64_t connections_lost = 0;
  std::uint64_t oversized = 0;  // peers' terms over max_term_bytes, dropped
};

class Gate;

class Transport {
 public:
  Transport(zmq::context_t& context, TransportConfig config, TransportListener& listener);
  ~Transport();
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  /// Binds the ROUTER; returns the endpoint peers dial (see advertised_endpoint). Throws
  /// Error{bad_argument}.
  std::string bind(const std::string& endpoint, const std::string& advertise = {});
  const std::string& endpoint() const { return endpoint_; }

  /// Dials an endpoint (explicit: lifts a disconnect block of whoever is there).
  void connect(const std::string& endpoint);
  /// Drops the link to a node; neither side redials until someone connects again.
  void disconnect(std::uint32_t atom);
  /// Tells every peer we leave and flushes; the transport is unusable afterwards.
  void leave();

  // ---- the loop ----
  /// Appends this transport's sockets to `items`.
  void fill_poll_items(std::vector<zmq::pollitem_t>& items);
  /// Handles readable sockets among the items appended by fill_poll_items (from `first`).
  void handle_poll(const std::vector<zmq::pollitem_t>& items, std::size_t first);
  /// Heartbeats, timeouts and retries; call every turn.
  void tick(detail::TimePoint now);
  /// Sends the frame batched for each peer during this turn.
  void flush();
  /// For a thread that stands in for the engine while it waits in poll (Engine::run_if_idle):
  /// while lent, frames go out on up links only (out() at kFlushAtBytes, flush_ready), and a
  /// send that would block leaves the frame batched instead of tearing the link down (the
  /// engine's poll holds the ROUTER and the descriptors; its flush decides).
  void set_lent(bool lent) { lent_ = lent; }
  /// Sends the frame batched for each up peer whose socket takes it now; false when one would
  /// block (it stays batched, for flush(), which tells a full queue from a lost link). Tears
  /// nothing down and closes nothing: safe while lent, and in the middle of a turn (a handler
  /// sending before it wakes other threads).
  bool flush_ready();
  /// In the middle of a long task on the engine thread: sends the heartbeats due on links of
  /// protocol 4 or later (see send_heartbeat_back), and nothing else: no frame read, no link
  /// judged, so nothing calls back. Does nothing while lent (the engine's poll holds the
  /// ROUTER).
  void keep_alive(detail::TimePoint now);
  /// Longest the loop may sleep before the next tick is due.
  std::chrono::milliseconds tick_interval() const;

  // ---- sending ----
  /// The buffer of the next frame to an up peer (messages appended here go out at flush, in
  /// order), or nullptr when the peer is not up.
  wire::OutBuffer* out(std::uint32_t atom);
  /// Sends encoded messages to an up peer in a frame of their own, now. False, with nothing
  /// sent, when the peer is not up, a frame to it is still being batched (sending now would
  /// overtake it), a frame went to it less than kStreamGap ago (a stream: batching pays more)
  /// or its socket would block: the messages then take the batched way.
  bool send_now(std::uint32_t atom, std::string_view messages);

  // ---- state ----
  bool is_up(std::uint32_t atom) const;
  /// Whether more than a quarter of max_link_backlog sent to `atom` waits unread: bulk streams
  /// (snapshots) wait for it, leaving the rest of the bound to the writes that cannot wait.
  /// False when it does not say what it reads (protocol before 5) or with no bound.
  bool backlogged(std::uint32_t atom) const;
  /// The protocol version of the link with an up peer, or 0.
  std::uint32_t protocol(std::uint32_t atom) const;
  /// Creation of an up peer, or 0.
  std::uint32_t up_creation(std::uint32_t atom) const;
  std::vector<std::uint32_t> up_peers() const;
  /// Every peer known, up or not, sorted by name.
  std::vector<LinkInfo> links() const;
  /// The file descriptors of the monitors of up links' sockets, readable while ZeroMQ holds
  /// news of them for the next pass (tests that hold the engine thread wait on them).
  std::vector<int> up_link_monitor_fds() const;
  /// Whether one of our connections dialled `endpoint` and found `atom` there.
  bool reached_at(std::uint32_t atom, const std::string& endpoint) const;
  const TransportCounters& counters() const { return counters_; }
  void count_malformed() { ++counters_.malformed; }
  /// A peer's term over max_term_bytes: invalid here, so a malformed frame too (SPEC 7 "dropped
  /// and counted" with API.md's one counter of drops), and counted apart as well.
  void count_oversized() {
    ++counters_.oversized;
    ++counters_.malformed;
  }

 private:
  struct Dealer;
  struct Peer;

  std::unique_ptr<Dealer> make_dealer(const std::string& endpoint, std::uint32_t expected_atom,
                                      std::size_t key_index = 0);
  /// Redials a dealer's endpoint with the next accepted key (a peer refused this one).
  void redial_with_next_key(Dealer& dealer);
  /// Closes a dealer ZeroMQ gave up on and dials its endpoint again after kRefusedRedial.
  void retire_and_redial(Dealer& dealer);
  void close_dealer(std::unique_ptr<Dealer> dealer, int linger_ms = 0);
  Peer& peer(std::uint32_t atom);
  Peer* find_peer(std::uint32_t atom);
  void ensure_dealer(Peer& peer);
  void redial_later(const std::string& endpoint, std::uint32_t expected_atom, std::chrono::milliseconds delay);

  void on_router_readable();
  void on_dealer_readable(Dealer& dealer);
  /// Reads up to 16 frames from one of our DEALERs; true when none was left to read.
  bool read_dealer_frames(Dealer& dealer);
  void on_monitor_readable(Dealer& dealer);
  void dealer_handshake_failed(Dealer& dealer, const MonitorEvent& event);
  /// A send to an up peer would block: a lost connection or an overflow (see flush()).
  void send_blocked(Peer& peer);
  /// A peer said how much it read: resets the link when more than max_link_backlog waits unread.
  void check_backlog(Peer& peer);
  /// Bytes sent on our connection since the link came up that the peer has not said it read.
  static std::uint64_t unread_bytes(const Peer& peer);
  /// Writes one frame on an up peer's DEALER without blocking and counts it; false when the
  /// socket would block (nothing sent, nothing counted).
  bool send_frame(Peer& peer, std::string_view frame, detail::TimePoint now);
  void send_hello(Dealer& dealer);
  /// A heartbeat every heartbeat_interval to an up peer of protocol 4 or later, on the
  /// connection it dialled (see wire::heartbeat_back_since).
  void send_heartbeat_back(Peer& peer, detail::TimePoint now);

  void handle_router_frame(const std::string& rid, const zmq::message_t& payload);
  void handle_hello(const std::string& rid, const wire::Hello& hello, std::uint32_t version);
  void handle_welcome(Dealer& dealer, const wire::Welcome& welcome);
  void handle_refuse(Dealer& dealer, const wire::Refuse& refuse, std::uint32_t version);
  void handle_peers(const wire::Peers& peers);
  /// Answers on a connection to our ROUTER, in a frame of protocol `version`.
  void router_reply(const std::string& rid, const wire::OutBuffer& messages, std::uint32_t version);
  void refuse(const std::string& rid, wire::RefuseCode code, const std::string& text, std::uint32_t version);
  /// Whether we speak protocol `version`.
  bool speaks(std::uint64_t version) const {
    return version >= oldest_protocol_version && version <= config_.max_protocol;
  }

  void check_up(Peer& peer);
  void teardown(Peer& peer, DownReason reason, bool tell_peer = true);
  /// Links found down during one pass over the sockets (handle_poll, tick) are told together
  /// when it ends (finish): see TransportListener::on_peers_down. Outside a pass, at once.
  class DownBatch;
  /// Tells the listener the downs held so far, and those found while it is told, until none
  /// is left.
  void tell_held_downs();
  void send_peer_list(Peer& peer);
  /// Who sent a frame: its node's name for a session, else the address the connection comes
  /// from (empty when unknown), and how a log line says it.
  struct Sender {
    std::string peer;
    std::string phrase;
  };
  Sender sender_of(const std::string& rid, const zmq::message_t& frame) const;
  std::string describe_sender(const std::string& rid, const zmq::message_t& frame) const;
  /// Logs a frame dropped or refused (`what` + who sent it + `why`), once a minute per `kind`
  /// and sender (refusals_).
  void log_bad_frame(const char* kind, const std::string& rid, const zmq::message_t& frame, const std::string& what,
                     const std::string& why = "", LogLevel level = LogLevel::warn);

  zmq::context_t& context_;
  TransportConfig config_;
  TransportListener& listener_;
  std::uint32_t self_atom_;
  zmq::socket_t router_;
  RefusalLog refusals_;
  std::unique_ptr<Gate> gate_;  // with a cluster key only
  std::string endpoint_;
  std::unordered_map<std::uint32_t, std::unique_ptr<Peer>> peers_;
  std::unordered_map<std::string, std::uint32_t> rid_to_peer_;
  std::vector<std::unique_ptr<Dealer>> pending_;    // dialled, not yet welcomed by a named peer
  std::vector<std::unique_ptr<Dealer>> graveyard_;  // closed during a poll pass
  bool lent_ = false;                               // see set_lent
  std::vector<Dealer*> polled_;                     // dealers in poll-item order
  struct Redial {
    detail::TimePoint at;
    std::string endpoint;
    std::uint32_t expected_atom;
  };
  std::vector<Redial> redials_;
  std::unordered_set<std::string> self_endpoints_;  // endpoints that turned out to be us
  std::uint64_t monitor_counter_ = 0;
  TransportCounters counters_;
  bool left_ = false;
  bool holding_downs_ = false;        // a pass is running: see DownBatch
  std::vector<PeerDown> held_downs_;  // found down in it, not told yet
};

}  // namespace syn::transport
