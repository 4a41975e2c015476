#pragma once
// A deterministic simulated cluster: N nodes' scope directories, engines and handlers (the
// production code, unchanged) over simulated links, on one thread, driven by a seeded random
// generator and a simulated clock. Everything that happens follows from the seed, so a failing
// seed replays step by step.
//
// What is simulated, and how (docs/internals.md, "The simulator"):
// - Each node is a SimNode, a ScopeHost: its engine thread is the simulation thread while it
//   runs one of the node's engine steps (a posted task, a delivered frame, a timer, a peer
//   event); API calls made by the workload run as "user threads" (on_engine_thread() false).
//   After every engine step, the messages appended for each peer leave as one frame.
// - Links: one pipe per ordered pair of nodes, FIFO, each item delayed at random. A session
//   starts with a hello in each direction (the receiver sees the peer up when it arrives) and
//   frames carry their session: a frame of an old session is dropped, as a closed TCP
//   connection drops it. A cut (silent, one-way or both ways) holds the items of a pipe as a
//   pulled cable does; a heal before detection releases them in order (TCP retransmits); a
//   cut that lasts is detected by each side at its own random time (the heartbeat timeout):
//   the session ends, held items are lost, and after the heal a new session starts.
// - Crashes (every link reset at once, peers detect it fast) and restarts (a new incarnation
//   under the same name), process deaths, clock skew between nodes.
// - Callbacks run on the simulation thread, in order, as soon as nothing else is due at the
//   same instant (or at once when a call waits for them).
#include "node/scope_host.hpp"
#include "scope/scope_directory.hpp"

#include <syn/events.hpp>
#include <syn/node.hpp>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <queue>
#include <random>
#include <set>
#include <array>
#include <string>
#include <unordered_map>
#include <vector>

namespace syn::sim {

class World;

/// Simulated time, in microseconds since the start.
using Micros = std::int64_t;

/// A deterministic random source (splitmix64): the same seed gives the same numbers on every
/// platform and library.
class Random {
 public:
  explicit Random(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next();
  /// Uniform in [0, n); n > 0.
  std::uint64_t below(std::uint64_t n) { return next() % n; }
  /// Uniform in [lo, hi].
  std::int64_t between(std::int64_t lo, std::int64_t hi) { return lo + static_cast<std::int64_t>(below(hi - lo + 1)); }
  /// True with probability p.
  bool chance(double p) { return static_cast<double>(next() >> 11) * 0x1.0p-53 < p; }

 private:
  std::uint64_t state_;
};

/// One simulated node: a ScopeHost whose engine, callbacks and links belong to the World.
class SimNode final : public detail::ScopeHost, public std::enable_shared_from_this<SimNode> {
 public:
  SimNode(World& world, NodeOptions options, std::uint32_t creation, std::int64_t clock_skew_ns);

  /// Plugs the handler kinds in (a ScopeDirectory) and adds the scopes. Call once.
  void start(const std::vector<std::string>& scopes, std::vector<detail::HandlerKind> kinds);
  /// The node crashes: its tables go, its processes die silently, it hears nothing more.
  void crash();
  bool crashed() const { return crashed_; }
  /// After a crash: lets go of the directory, which holds this node (the World does this last).
  void release();

  detail::ScopeDirectory& scopes() { return *directory_; }
  /// A new local process; it lives until killed (no Process handle owns it).
  Pid spawn();
  /// Live local processes, by pid.
  std::vector<Pid> live_processes() const;
  bool is_alive_local(const Pid& pid) const;

  // ---- driven by the World ----
  void peer_up(std::uint32_t atom, std::uint32_t creation);
  /// The link to `atom` ends now; the node is told at the end of its pass (tell_held_downs).
  void peer_down(std::uint32_t atom);
  /// Tells the node of the links ended since its last pass, all in one call.
  void tell_held_downs();
  /// Reads a frame from peer `from`; false when it was malformed (the sim counts that a bug).
  bool receive_frame(std::uint32_t from, const std::string& frame);
  /// Runs queued callbacks up to `seq` (all when 0).
  void run_callbacks(std::uint64_t seq = 0);
  /// Callbacks posted from now on run this much later (a slow consumer; 0: at once).
  void set_callback_delay(Micros delay) { callback_delay_ = delay; }
  bool callbacks_pending() const { return !callbacks_.empty(); }
  /// Runs `fn` as a step of this node's engine thread, then sends what it queued for peers.
  void engine_step(const std::function<void()>& fn);
  /// The peers this node sees up (atom -> creation).
  const std::map<std::uint32_t, std::uint32_t>& view() const { return peers_; }
  std::uint64_t malformed() const { return malformed_; }

  // ---- ScopeHost ----
  void count_oversized(std::uint32_t) override { ++oversized_; }
  void on_local_exit(const Pid& pid, const Term& reason, std::vector<detail::Attachment> attachments) override;
  std::shared_ptr<detail::ProcessControl> find_local(const Pid& pid) const override;
  void send(const Pid&, Term) override {}
  void send_to_many(std::uint32_t, std::uint32_t, const std::vector<std::uint64_t>&, std::string_view) override {}
  MultiCallResult multi_call(std::vector<Member>, const Term&, std::chrono::milliseconds) override;
  bool stopped() const override { return crashed_; }
  bool is_connected(const Pid& pid) const override;
  bool is_up(std::uint32_t atom) const override { return peers_.count(atom) != 0; }
  std::uint64_t post_callback(detail::UniqueFunction fn) override;
  void wait_for_callback(std::uint64_t seq) override { run_callbacks(seq); }
  std::shared_ptr<EventHandler> event_handler(std::string_view) const override { return options_.event_handler; }
  std::int64_t unique_time_ns() override;
  std::int64_t monotonic_micros() const override;
  bool single_threaded() const override { return true; }
  bool on_engine_thread() const override { return in_engine_; }
  void post(detail::UniqueFunction fn) override;
  void post_bytes(std::uint32_t atom, std::string bytes) override;
  void add_timer(std::chrono::milliseconds delay, detail::UniqueFunction fn) override;
  wire::OutBuffer* peer_out(std::uint32_t atom) override;
  std::vector<std::uint32_t> up_peers() override;
  std::uint32_t up_creation(std::uint32_t atom) override;
  /// Simulated links run the newest protocol.
  std::uint32_t peer_protocol(std::uint32_t atom) override { return is_up(atom) ? protocol_version : 0; }
  void route(wire::MsgType type, detail::PeerMessageHandler handler) override;
  void add_peer_observer(detail::PeerObserver& observer) override { observers_.push_back(&observer); }

 private:
  void flush();

  World& world_;
  std::int64_t clock_skew_ns_;
  std::int64_t last_time_ns_ = 0;
  bool crashed_ = false;
  bool in_engine_ = false;
  bool running_callbacks_ = false;
  Micros callback_delay_ = 0;
  std::shared_ptr<detail::ScopeDirectory> directory_;
  std::array<detail::PeerMessageHandler, 64> routes_;
  std::vector<detail::PeerObserver*> observers_;
  std::map<std::uint32_t, std::uint32_t> peers_;       // atom -> creation, as this node sees them
  std::map<std::uint32_t, wire::OutBuffer> outbound_;  // this engine step's messages per peer
  std::vector<std::uint32_t> held_downs_;              // links ended, the node not told yet
  std::set<std::uint32_t> ended_;                      // links ended, still in peers_ until told
  std::map<std::uint64_t, std::shared_ptr<detail::ProcessControl>> processes_;
  std::uint64_t next_process_ = 0;
  std::deque<std::pair<std::uint64_t, detail::UniqueFunction>> callbacks_;
  std::uint64_t callbacks_posted_ = 0;
  std::uint64_t oversized_ = 0;
  std::uint64_t malformed_ = 0;
};

/// How the simulated network behaves.
struct NetConfig {
  Micros min_delay = 50;  ///< one-way delay of an item on a pipe
  Micros max_delay = 2'000;
  Micros min_detect = 200'000;  ///< how long a side takes to see a lasting cut (heartbeats)
  Micros max_detect = 1'500'000;
  Micros min_reconnect = 10'000;  ///< from a heal (or restart) to the new session's hellos
  Micros max_reconnect = 300'000;
  std::int64_t max_clock_skew_ns = 20'000'000;  ///< each node's wall clock is off by up to this
};

/// The simulated cluster and its clock.
class World {
 public:
  World(std::uint64_t seed, NetConfig net = {});
  ~World();
  World(const World&) = delete;
  World& operator=(const World&) = delete;

  Random& random() { return random_; }
  Micros now() const { return now_; }
  std::uint64_t seed() const { return seed_; }

  /// A node named `name` (options.name is set), started with `scopes`, dialling every node up.
  SimNode& add_node(const std::string& name, NodeOptions options, const std::vector<std::string>& scopes);
  /// The same with other handler kinds than a node's (a test's own handler, say); a restart
  /// keeps them.
  SimNode& add_node(const std::string& name, NodeOptions options, const std::vector<std::string>& scopes,
                    std::vector<detail::HandlerKind> kinds);
  /// The node now running under `name` (the latest incarnation); null if none.
  SimNode* node(const std::string& name);
  std::vector<SimNode*> nodes();
  /// Crashes `name`; restart() brings up a new incarnation with the same scopes, and the
  /// same options unless others are given.
  void crash(const std::string& name);
  /// Crashes all of `names` at the same instant (a SIGKILL of several processes): every
  /// other node sees their links end at the same moment, in one pass.
  void crash_together(const std::vector<std::string>& names);
  void restart(const std::string& name, std::optional<NodeOptions> options = std::nullopt);

  // ---- faults ----
  /// Cuts a -> b (and b -> a when `both`), silently.
  void cut(const std::string& a, const std::string& b, bool both = true);
  void heal(const std::string& a, const std::string& b);
  /// The connection between a and b closes (a reset, or a node dropping it on purpose): each
  /// side sees the other down within 50 ms, what was in flight is lost, and a new session
  /// starts after the reconnect delay.
  void reset(const std::string& a, const std::string& b);
  void heal_all();
  bool is_cut(std::uint32_t from, std::uint32_t to) const;

  // ---- time ----
  /// Runs `fn` at now + delay (on no node: the caller says which node it acts for).
  void schedule(Micros delay, std::function<void()> fn);
  /// Runs events until the queue is empty or `deadline` passes; returns the number run.
  std::size_t run_until(Micros deadline);
  /// Runs until nothing is due any more up to now + horizon; true when it went quiet.
  bool settle(Micros horizon);
  bool idle() const { return events_.empty(); }
  /// `check` runs after every event (a workload's invariant that must hold at each instant,
  /// not only at the end).
  void after_each_event(std::function<void()> check) { after_each_event_ = std::move(check); }
  /// Frames delivered so far (a quiet cluster delivers none).
  std::uint64_t frames_delivered() const { return frames_delivered_; }
  /// Sabotage (tests of the checks only): the next frame sent is lost, its session goes on.
  void lose_next_frame() { lose_next_frame_ = true; }

  // ---- used by SimNode ----
  void send_frame(SimNode& from, std::uint32_t to, std::string frame);
  /// Appends a line to the trace (kept when tracing).
  void trace(const std::string& line);
  void set_tracing(bool on) { tracing_ = on; }
  const std::vector<std::string>& trace_lines() const { return trace_; }

 private:
  struct Event {
    Micros at;
    std::uint64_t seq;
    std::function<void()> fn;
  };
  struct Later {
    bool operator()(const Event& a, const Event& b) const { return a.at != b.at ? a.at > b.at : a.seq > b.seq; }
  };
  /// One item on a pipe: a hello (frame empty) or a frame, of one session.
  struct Item {
    std::uint64_t session;
    bool hello;
    std::string frame;
    std::uint32_t creation;  // of the sender's incarnation
    std::uint64_t seq;       // order on its pipe (set by put_on_pipe)
  };
  struct Pipe {
    bool cut = false;
    Micros last = 0;  // FIFO: no item arrives before the previous one
    std::uint64_t next_seq = 0;
    std::map<std::uint64_t, Item> held;  // held by a cut, in order
  };
  /// A session between two nodes (unordered pair): both see each other up until it ends.
  struct Session {
    std::uint64_t id = 0;                 // 0: none
    bool a_down = false, b_down = false;  // each side's detection done
  };
  using PairKey = std::pair<std::uint32_t, std::uint32_t>;  // (low atom, high atom)

  static PairKey pair_of(std::uint32_t a, std::uint32_t b) { return a < b ? PairKey{a, b} : PairKey{b, a}; }
  Pipe& pipe(std::uint32_t from, std::uint32_t to) { return pipes_[{from, to}]; }
  void put_on_pipe(std::uint32_t from, std::uint32_t to, Item item);
  void deliver(std::uint32_t from, std::uint32_t to, Item item);
  /// Starts a new session between a and b after a reconnect delay (if both run, not cut).
  void start_session(std::uint32_t a, std::uint32_t b);
  /// Ends the session of (a, b) on `side` (one node's detection); `fast` for a reset.
  void end_session_on(std::uint32_t side, std::uint32_t other);
  void detect_later(std::uint32_t a, std::uint32_t b, Micros min, Micros max);
  SimNode* by_atom(std::uint32_t atom);

  std::uint64_t seed_;
  Random random_;
  NetConfig net_;
  Micros now_ = 0;
  std::uint64_t next_event_ = 0;
  std::priority_queue<Event, std::vector<Event>, Later> events_;
  std::map<std::pair<std::uint32_t, std::uint32_t>, Pipe> pipes_;
  std::map<PairKey, Session> sessions_;
  std::uint64_t next_session_ = 0;
  struct Slot {
    NodeOptions options;
    std::vector<std::string> scopes;
    std::vector<detail::HandlerKind> kinds;
    std::shared_ptr<SimNode> node;
  };
  std::map<std::string, Slot> slots_;
  std::vector<std::shared_ptr<SimNode>> all_incarnations_;  // kept: events may still name them
  bool tracing_ = false;
  std::function<void()> after_each_event_;
  bool lose_next_frame_ = false;
  std::uint64_t frames_delivered_ = 0;
  std::vector<std::string> trace_;
};

}  // namespace syn::sim
