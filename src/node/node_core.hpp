#pragma once
// The runtime behind a Node: identity, the engine thread and its transport, the callback
// thread, local processes, monitors, and the routing of peer messages to their owners.
#include "common/unique_function.hpp"
#include "node/dispatcher.hpp"
#include "node/engine.hpp"
#include "node/monitors.hpp"
#include "node/process_control.hpp"
#include "node/process_table.hpp"
#include "transport/transport.hpp"
#include "wire/buffer.hpp"

#include <syn/node.hpp>

#include <zmq.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace syn::detail {

class ScopeDirectory;
class CallTable;
class MultiCalls;

class NodeCore : public std::enable_shared_from_this<NodeCore>, public transport::TransportListener {
 public:
  explicit NodeCore(NodeOptions options);
  ~NodeCore() override;
  /// Binds, starts the threads, dials the seeds, adds the initial scopes. Throws Error.
  void start();
  /// Leaves the cluster gracefully and stops every thread; local processes die ("shutdown").
  void stop();
  bool stopped() const { return stopped_.load(std::memory_order_acquire); }

  // ---- identity ----
  const NodeOptions& options() const { return options_; }
  /// True when every part (canonical bytes) is within NodeOptions::max_term_bytes (SPEC 7).
  template <class... Parts>
  bool fits(const Parts&... parts) const {
    return ((std::string_view(parts).size() <= options_.max_term_bytes) && ...);
  }
  /// True when the encoding of `term` is within max_term_bytes.
  bool fits_term(const Term& term) const;
  /// Throws Error{bad_argument} naming `what` unless `term` fits (calls that return no Result).
  void require_fits(const Term& term, const char* what) const;
  /// The same for canonical bytes already encoded.
  void require_fits_bytes(std::string_view canonical, const char* what) const;
  /// Engine thread: true when every part of a peer's entry fits; else counts it as oversized
  /// (NodeStats::oversized_terms) and the caller drops it (SPEC 7).
  template <class... Parts>
  bool accepts(std::uint32_t from, const Parts&... parts) {
    if (fits(parts...)) return true;
    count_oversized(from);
    return false;
  }
  /// Engine thread: the same for a term a peer sent.
  bool accepts_term(std::uint32_t from, const Term& term);
  void count_oversized(std::uint32_t from);
  const std::string& name() const { return options_.name; }
  std::uint32_t atom() const { return atom_; }
  std::uint32_t creation() const { return creation_; }
  const std::string& endpoint() const { return endpoint_; }

  Engine& engine() { return engine_; }
  Dispatcher& dispatcher() { return dispatcher_; }
  Monitors& monitors() { return monitors_; }
  ScopeDirectory& scopes() { return *scopes_; }
  CallTable& calls() { return *calls_; }
  MultiCalls& multi_calls() { return *multi_calls_; }

  // ---- processes ----
  Process spawn();
  bool is_local(const Pid& pid) const { return pid.node_atom() == atom_ && pid.creation() == creation_; }
  std::shared_ptr<ProcessControl> find_local(const Pid& pid) const;
  bool is_alive(const Pid& pid) const;
  void send(const Pid& pid, Term message);
  /// Sends a message already in canonical bytes (publish encodes once for many members).
  void send_canonical(const Pid& pid, const Term& message, std::string_view canonical_bytes);
  void exit(const Pid& pid, Term reason);
  /// Called by ProcessControl::kill on the killing thread: tells observers and monitors.
  void on_local_exit(const Pid& pid, const Term& reason, std::vector<Attachment> attachments);
  /// Whether some local process is dying: marked dead, its names and memberships not yet all
  /// removed. While none is, an entry held by a local process is a live process's, and the
  /// registry's lookups skip reading the process (one memory access less on the owner). Read
  /// it while holding the lock of the entry read: the removal of a dying process's entry takes
  /// that lock, and the count falls only after the removal.
  bool deaths_in_progress() const { return dying_.load(std::memory_order_seq_cst) != 0; }
  /// ProcessControl brackets a death with these: begins before the process is marked dead,
  /// ends once on_local_exit returned. A node shutting down begins deaths it never ends.
  void death_begins() { dying_.fetch_add(1, std::memory_order_seq_cst); }
  void death_ends() { dying_.fetch_sub(1, std::memory_order_seq_cst); }

  // ---- cluster ----
  void connect(const std::string& endpoint);
  void disconnect(const std::string& node);
  std::vector<std::string> nodes() const;
  /// Whether the node of `pid` is up now with the pid's incarnation (any thread).
  bool is_connected(const Pid& pid) const;
  /// Whether a node is up now (any thread).
  bool is_up(std::uint32_t atom) const;
  NodeStats stats() const;

  /// Engine thread: appends one message to the next frame to `atom` if it is up.
  template <class Encode>
  bool send_to_peer(std::uint32_t atom, Encode&& encode) {
    if (auto* out = engine_.transport().out(atom)) {
      encode(*out);
      return true;
    }
    return false;
  }

  /// The event handler now in force (may be null).
  std::shared_ptr<EventHandler> event_handler() const { return std::atomic_load(&event_handler_); }
  void set_event_handler(std::shared_ptr<EventHandler> handler) { std::atomic_store(&event_handler_, std::move(handler)); }

 private:
  // TransportListener (engine thread)
  void on_peer_up(std::uint32_t atom, std::uint32_t creation) override;
  void on_peer_down(std::uint32_t atom, std::uint32_t creation, transport::DownReason reason) override;
  void on_peer_message(std::uint32_t atom, const msgpack::object& message) override;

  void deliver_local(const wire::LocalPid& to, Message message);
  void kill_all_local(const Term& reason);

  NodeOptions options_;
  std::uint32_t atom_;
  std::uint32_t creation_;
  std::string endpoint_;
  zmq::context_t context_;
  std::unique_ptr<transport::Transport> transport_;
  Engine engine_;
  Dispatcher dispatcher_;
  ProcessTable processes_;
  Monitors monitors_;
  std::unique_ptr<ScopeDirectory> scopes_;
  std::unique_ptr<CallTable> calls_;
  std::unique_ptr<MultiCalls> multi_calls_;
  std::shared_ptr<EventHandler> event_handler_;
  std::atomic<std::uint64_t> next_pid_id_{0};
  std::atomic<bool> stopped_{false};
  std::mutex stop_mutex_;
  // Its own cache line: read by every lookup on the owner, written only around deaths.
  alignas(64) std::atomic<std::uint32_t> dying_{0};

  // Mirror of the transport's up peers, readable from any thread.
  mutable std::shared_mutex peers_mutex_;
  std::unordered_map<std::uint32_t, std::uint32_t> up_peers_;  // atom -> creation
  mutable std::mutex stats_mutex_;
  NodeStats final_stats_;
};

}  // namespace syn::detail
