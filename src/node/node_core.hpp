#pragma once
// The runtime behind a Node: identity, the engine thread and its transport, the callback
// thread, local processes, monitors, and the routing of peer messages to their owners.
#include "common/unique_function.hpp"
#include "node/dispatcher.hpp"
#include "common/thread_safety.hpp"
#include "node/engine.hpp"
#include "node/event_handlers.hpp"
#include "node/monitors.hpp"
#include "node/process_control.hpp"
#include "node/process_table.hpp"
#include "node/scope_host.hpp"
#include "transport/transport.hpp"
#include "wire/buffer.hpp"

#include <syn/node.hpp>

#include <zmq.hpp>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace syn::detail {

class MultiCalls;

class NodeCore final : public ScopeHost,
                       public std::enable_shared_from_this<NodeCore>,
                       public transport::TransportListener {
 public:
  explicit NodeCore(NodeOptions options);
  ~NodeCore() override;
  /// Binds and starts the threads. Throws Error. Plug-ins (route, add_peer_observer) come
  /// before; the seeds are dialled after (connect_seeds).
  void start();
  /// Dials NodeOptions::seeds.
  void connect_seeds();
  /// Leaves the cluster gracefully and stops every thread; local processes die ("shutdown").
  void stop();
  bool stopped() const override { return stopped_.load(std::memory_order_acquire); }

  const std::string& endpoint() const { return endpoint_; }
  Engine& engine() { return engine_; }
  /// Local processes alive (metrics).
  std::size_t process_count() const { return processes_.size(); }
  /// ProcessTable::mailbox_depths (metrics).
  std::pair<std::uint64_t, std::uint64_t> mailbox_depths() const { return processes_.mailbox_depths(); }
  Monitors& monitors() { return monitors_; }

  // ---- processes ----
  Process spawn();
  std::shared_ptr<ProcessControl> find_local(const Pid& pid) const override;
  bool is_alive(const Pid& pid) const;
  void send(const Pid& pid, Term message) override;
  void send_to_many(std::uint32_t node_atom, std::uint32_t creation, const std::vector<std::uint64_t>& ids,
                    std::string_view canonical_message) override;
  void exit(const Pid& pid, Term reason);
  MultiCallResult multi_call(std::vector<Member> members, const Term& message,
                             std::chrono::milliseconds timeout) override;
  void on_local_exit(const Pid& pid, const Term& reason, std::vector<Attachment> attachments) override;

  // ---- cluster ----
  void connect(const std::string& endpoint);
  void disconnect(const std::string& node);
  std::vector<std::string> nodes() const;
  bool is_connected(const Pid& pid) const override;
  bool is_up(std::uint32_t atom) const override;
  NodeStats stats() const;
  /// SPEC 9: one of the seeds was reached (at once for a node without seeds).
  /// Any thread; until it is true, asks the engine thread.
  bool seed_reached();
  /// Every peer the transport knows, up or not (any thread; asks the engine thread).
  std::vector<transport::LinkInfo> links();
  void count_oversized(std::uint32_t from) override;

  // ---- callbacks ----
  Dispatcher& dispatcher() { return dispatcher_; }
  std::uint64_t post_callback(UniqueFunction fn) override { return dispatcher_.post(std::move(fn)); }
  void wait_for_callback(std::uint64_t seq) override { dispatcher_.wait_for(seq); }
  std::int64_t unique_time_ns() override;
  std::shared_ptr<EventHandler> event_handler(std::string_view scope) const override {
    return handlers_.for_scope(scope);
  }
  void scope_synced(Kind kind, const std::string& scope, std::uint32_t node) override;
  void set_event_handler(std::shared_ptr<EventHandler> handler) { handlers_.set_for_node(std::move(handler)); }
  void set_event_handler(std::string_view scope, std::shared_ptr<EventHandler> handler) {
    handlers_.set_for_scope(scope, std::move(handler));
  }
  /// A handler that sees every event beside the user's (nullptr: none).
  void set_event_tap(std::shared_ptr<EventHandler> tap) { handlers_.set_tap(std::move(tap)); }

  // ---- the engine thread (ScopeHost) ----
  bool on_engine_thread() const override { return engine_.on_engine_thread(); }
  void post(UniqueFunction fn) override { engine_.post(std::move(fn)); }
  bool run_if_engine_idle(FunctionRef<void()> fn) override { return engine_.run_if_idle(fn); }
  void flush_peers() override { engine_.flush_ready(); }
  void post_bytes(std::uint32_t atom, std::string bytes) override { engine_.post_bytes(atom, std::move(bytes)); }
  void add_timer(std::chrono::milliseconds delay, UniqueFunction fn) override;
  wire::OutBuffer* peer_out(std::uint32_t atom) override;
  std::vector<std::uint32_t> up_peers() override;
  std::uint32_t up_creation(std::uint32_t atom) override;
  std::uint32_t peer_protocol(std::uint32_t atom) override;
  void keep_links_alive() override;
  bool peer_backlogged(std::uint32_t atom) override;

  // ---- plugging in ----
  void route(wire::MsgType type, PeerMessageHandler handler) override;
  void add_peer_observer(PeerObserver& observer) override;

 private:
  // TransportListener (engine thread)
  void on_peer_up(std::uint32_t atom, std::uint32_t creation) override;
  void on_peer_down(std::uint32_t atom, std::uint32_t creation, transport::DownReason reason) override;
  void on_peers_down(const std::vector<transport::PeerDown>& downs) override;
  void on_peer_message(std::uint32_t atom, const msgpack::object& message, std::size_t bytes) override;

  /// The node's own message types: processes, monitors, multi_calls.
  void route_process_messages();
  void deliver_local(const wire::LocalPid& to, Message message);
  void kill_all_local(const Term& reason);
  /// Whether a connection of ours dialled a seed and found an up peer there (engine thread).
  bool up_peer_at_a_seed();
  void assert_engine_thread() const;

  /// Message types are small numbers (wire::MsgType); one slot each.
  static constexpr std::size_t kRoutes = 64;

  std::string endpoint_;
  zmq::context_t context_;
  std::unique_ptr<transport::Transport> transport_;
  Engine engine_;
  Dispatcher dispatcher_;
  ProcessTable processes_;
  Monitors monitors_;
  std::unique_ptr<MultiCalls> multi_calls_;
  // Written before start (route, add_peer_observer), read on the engine thread.
  std::array<PeerMessageHandler, kRoutes> routes_;
  std::vector<PeerObserver*> observers_;
  bool started_ = false;
  EventHandlers handlers_;
  std::atomic<std::uint64_t> next_pid_id_{0};
  std::atomic<bool> stopped_{false};
  std::atomic<bool> seed_reached_{false};
  Mutex stop_mutex_;

  // Mirror of the transport's up peers, readable from any thread.
  mutable SharedMutex peers_mutex_;
  std::unordered_map<std::uint32_t, std::uint32_t> up_peers_ SYN_GUARDED_BY(peers_mutex_);  // atom -> creation
  mutable Mutex stats_mutex_;
  NodeStats final_stats_ SYN_GUARDED_BY(stats_mutex_);
};

}  // namespace syn::detail
