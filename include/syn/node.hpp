#pragma once
/// \file
/// Node: one member of a syn cluster, and its options.

#include <syn/events.hpp>
#include <syn/groups.hpp>
#include <syn/multicast.hpp>
#include <syn/pid.hpp>
#include <syn/process.hpp>
#include <syn/registry.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace syn {

namespace detail {
class ControlServer;
class EventTap;
class NodeCore;
class ScopeDirectory;
}  // namespace detail

/// How a Node is built. NodeOptions::from_json reads the same options from JSON.
struct NodeOptions {
  std::string name{};                             ///< unique in the cluster
  std::string listen = "tcp://127.0.0.1:0";       ///< port 0: pick a free one
  std::vector<std::string> seeds{};               ///< endpoints to connect to at start
  std::vector<std::string> scopes{};              ///< scopes joined at start
  bool auto_connect = true;                       ///< learn and connect to peers' peers (full mesh)
  bool strict_mode = false;                       ///< only a process may register/join itself
  std::shared_ptr<EventHandler> event_handler{};  ///< optional hooks (not settable from JSON)
  ConflictResolver conflict_resolver{};           ///< empty: the default resolver (not from JSON)
  std::chrono::milliseconds heartbeat_interval{500};
  std::chrono::milliseconds peer_timeout{3000};  ///< silence after which a peer is down
  std::chrono::milliseconds call_timeout{5000};  ///< calls to another node
  // Security and limits (SPEC 7), in API.md's order of its additions.
  /// The cluster's secret key (40 characters of Z85, from generate_cluster_key()). With a key,
  /// every link is authenticated and encrypted (ZeroMQ CURVE) and a peer without the same key
  /// is refused. Empty: no key. Never logged. At most one of cluster_key and cluster_key_file.
  std::string cluster_key{};
  /// A file holding the cluster key on one line (mode 0600 or stricter, as ssh wants).
  std::string cluster_key_file{};
  /// Without a key, binding anything but loopback is refused (Error{bad_argument} naming
  /// `listen`) unless this is true; then a warning is logged at start.
  bool allow_insecure = false;
  /// Largest encoding of one name, group, meta, message or exit reason; a call with a larger
  /// one fails with bad_argument before anything changes, a peer's larger one is dropped.
  std::size_t max_term_bytes = 1u << 20;
  // Operations (SPEC 9).
  /// The control endpoint synctl talks to (syn/control.hpp): "ipc://PATH" (a socket file of
  /// mode 0600) or "tcp://HOST:PORT" (CURVE with the cluster key when there is one; refused
  /// without a key unless loopback). Empty: none.
  std::string control{};
  /// Whether the control endpoint runs write commands (register, join, kill, ...); else it
  /// answers them with the code "read_only".
  bool control_writes = false;
  // Guaranteed multicast (SPEC 8.3).
  /// Bytes of messages a node's members published and not every node of the view acknowledged,
  /// per group: above it, broadcast on a user thread blocks (in a callback: timeout).
  std::size_t multicast_max_in_flight = 64u << 20;
  /// A node that leaves a message unacknowledged longer than this is evicted from the view.
  std::chrono::milliseconds multicast_max_lag{10000};
  /// A node silent longer than this in a view change is evicted from the view.
  std::chrono::milliseconds view_change_timeout{2000};
  // Beyond API.md, after its fields so that aggregate initialization in API.md's order holds.
  /// Key rotation without a split (docs/security.md): other cluster keys this node also
  /// accepts from peers, and tries when a peer refuses its own. Needs cluster_key (or its file).
  std::vector<std::string> cluster_keys_accepted{};
  /// The endpoint other nodes dial to reach this one (across hosts, when `listen` binds a
  /// wildcard or a NAT sits between). Empty: the bound endpoint, a wildcard address replaced
  /// by the host's one address of that family (of an interface up and running, not loopback
  /// or link-local), or by its name when it has several. "tcp://host" without a port takes
  /// the bound port. A [::] bind advertises an IPv6 address: set this for IPv4 peers.
  std::string advertise{};
  /// The newest wire protocol version this node offers; 0: the newest this build speaks
  /// (syn::protocol_version). Links run the highest version both ends speak, so an upgrade
  /// needs nothing here; lower it only to run a node as an older build would (upgrade tests).
  /// Must be 0 or within [oldest_protocol_version, protocol_version].
  std::uint32_t max_protocol_version = 0;
  /// The most bytes this node lets wait for one peer: sent to it and not yet read by it (in
  /// ZeroMQ's and TCP's queues between the two). A peer further behind than this cannot keep
  /// up: the link is reset and the two sides resync when it returns (SPEC 7), rather than the
  /// queues growing for as long as the overload lasts. Snapshot streams wait for the peer
  /// instead of overflowing it. Peers of builds before this option say nothing of what they
  /// read; links with them are bounded by ZeroMQ's queue of 100,000 frames only. 0: no byte
  /// bound; else at least 1 MiB, and a bound below 4 times max_term_bytes is raised to that
  /// (a few of the largest terms must fit; the node logs it). Measured against what the peer says it read at each of
  /// its heartbeats, so set it well above what the link carries in a heartbeat_interval.
  std::size_t max_link_backlog = std::size_t{256} << 20;

  /// Reads options from a JSON object with the same keys as the fields (durations in
  /// milliseconds). Throws Error{bad_argument} naming the key on an unknown key, a wrong type,
  /// or a key that cannot come from JSON (event_handler, conflict_resolver).
  static NodeOptions from_json(const Term& json);
};

/// Counters of a node, for operators and tests.
struct NodeStats {
  std::uint64_t frames_received = 0;   ///< ZeroMQ messages read from peers
  std::uint64_t frames_sent = 0;       ///< ZeroMQ messages written to peers
  std::uint64_t malformed_frames = 0;  ///< frames or messages dropped because they were invalid
                                       ///< (oversized_terms among them)
  std::uint64_t refused_peers = 0;     ///< links refused in their handshake, by either side:
                                       ///< no or another cluster key, garbage handshakes,
                                       ///< another protocol version, a name clash
  std::uint64_t link_resets = 0;       ///< links reset because a peer could not keep up
  // Beyond API.md, after its fields.
  std::uint64_t connections_lost = 0;  ///< links down for a lost connection or a silent peer
                                       ///< (a crash, a cut); link_resets counts overflows
  std::uint64_t oversized_terms = 0;   ///< peers' terms over max_term_bytes, dropped (SPEC 7);
                                       ///< each also counts in malformed_frames
};

/// The counters as a JSON object with the field names as keys (for tools and logs).
void to_json(Term& term, const NodeStats& stats);

struct Metrics;  // syn/metrics.hpp

/// Identifies a monitor made with Node::monitor.
using MonitorRef = std::uint64_t;

/// One member of a cluster. Thread-safe; several Nodes may live in one OS process, each
/// behaving exactly as if alone.
class Node {
 public:
  /// Binds the listen endpoint, connects to the seeds, and starts. Throws Error (bad_argument
  /// for bad options or an endpoint that cannot be bound).
  explicit Node(NodeOptions options);
  /// Leaves the cluster gracefully (peers see it down at once); its processes die.
  ~Node();
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  const std::string& name() const;
  /// This run's incarnation; the pids of this run carry it.
  std::uint32_t creation() const;
  /// The endpoint other nodes dial to reach this one: the bound endpoint with the real port
  /// (or what NodeOptions::advertise says; for a wildcard bind, see advertise).
  std::string endpoint() const;
  /// Connects to a node (asynchronous: it appears in nodes() once the handshake completes).
  /// Also lifts a block made by disconnect(). Throws Error{bad_argument} for a malformed endpoint.
  void connect(const std::string& endpoint);
  /// Drops the link to a node; neither side reconnects until someone calls connect again.
  void disconnect(const std::string& node);
  /// Nodes connected now.
  std::vector<std::string> nodes() const;

  /// Adds scopes (idempotent) and syncs them with the connected nodes that have them. An
  /// empty name is Error{bad_argument}, and then none of the scopes is added.
  void add_node_to_scopes(const std::vector<std::string>& scopes);
  /// Leaves scopes while running (SPEC 4; unknown ones are skipped): this node's names and
  /// memberships there are removed with callbacks (reason normal), every other node removes
  /// them (remote_scope_node_down), local multicast members leave (on_left(left)). Handles of
  /// those scopes then fail with invalid_scope (their writes return it, their reads throw
  /// Error{invalid_scope}). Adding a scope again later works, and the handles taken before
  /// then act on it again. Returns once the callbacks ran.
  void remove_node_from_scopes(const std::vector<std::string>& scopes);
  std::vector<std::string> node_scopes() const;
  /// The other nodes whose handler of that kind for that scope is discovered and up.
  /// Throws Error{invalid_scope} if this node is not in the scope.
  std::vector<std::string> subcluster_nodes(Kind kind, std::string_view scope) const;
  /// Replaces the event handler (nullptr: none); takes effect for the next change.
  void set_event_handler(std::shared_ptr<EventHandler> handler);
  /// Replaces, for `scope` only, the node's handler: that scope's callbacks (and its
  /// on_scope_synced) go to `handler` alone; lifecycle events stay with the node's handler.
  /// nullptr: the scope goes back to the node's handler. The scope need not be joined yet.
  void set_event_handler(std::string_view scope, std::shared_ptr<EventHandler> handler);
  /// SPEC 9: ready once one of the seeds was reached (at once without seeds) and every scope
  /// this node joined is synced, for every kind, with every connected node that runs it
  /// (its whole snapshot applied here). A readiness probe: false again while a newly
  /// connected node's snapshot is on its way.
  bool ready() const;

  /// The registry of a scope. Throws Error{invalid_scope} if this node is not in it.
  Registry registry(std::string_view scope);
  /// The groups of a scope. Throws Error{invalid_scope} if this node is not in it.
  Groups groups(std::string_view scope);
  /// The multicast groups of a scope (SPEC 8). Throws Error{invalid_scope} if this node is not
  /// in it.
  Multicast multicast(std::string_view scope);

  /// A new local process with a mailbox.
  Process spawn();
  /// Exact for local pids; for remote pids: whether its node (that incarnation) is connected.
  bool is_alive(const Pid& pid) const;
  /// Asynchronous; to any node. In order per sender-receiver pair; dropped silently when the
  /// pid is dead or unknown, as in Erlang. Throws Error{bad_argument} when the message's
  /// encoding is over NodeOptions::max_term_bytes (nothing is sent).
  void send(const Pid& pid, Term message);
  /// Kills a process on any node with `reason`. Throws Error{bad_argument} when the reason's
  /// encoding is over max_term_bytes (nothing happens).
  void exit(const Pid& pid, Term reason);

  /// Watches a local or remote process: `on_down(pid, reason)` is called once, off the network
  /// thread, when it dies (its exit reason), if it is already dead or unknown ("noproc"), or
  /// when its node goes down ("noconnection").
  MonitorRef monitor(const Pid& pid, std::function<void(const Pid&, const Term&)> on_down);
  /// Cancels a monitor; its callback is not called afterwards.
  void demonitor(MonitorRef ref);

  /// Counters (malformed frames and so on).
  NodeStats stats() const;
  /// SPEC 9: counters and gauges per scope, per peer and per queue, and the latency of calls
  /// to other nodes (include <syn/metrics.hpp>; syn::to_prometheus renders them).
  Metrics metrics() const;

  /// Internal: the runtime behind this node.
  const std::shared_ptr<detail::NodeCore>& core() const { return core_; }
  /// Internal: the scopes' handlers (tests check their tables' invariants through it).
  const std::shared_ptr<detail::ScopeDirectory>& scope_directory() const { return scopes_; }
  /// Internal: who watches this node's events through the control layer.
  detail::EventTap& event_tap() const { return *events_; }

 private:
  std::shared_ptr<detail::NodeCore> core_;
  std::shared_ptr<detail::ScopeDirectory> scopes_;  // the scopes' handlers, plugged into core_
  std::unique_ptr<detail::EventTap> events_;        // the control layer's tap on events
  std::unique_ptr<detail::ControlServer> control_;  // NodeOptions::control, when set
};

}  // namespace syn
