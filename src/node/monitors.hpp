#pragma once
// Monitors: watch a local or remote process and learn once when it dies (its exit reason),
// when it is already dead or unknown ("noproc"), or when its node goes down ("noconnection").
// Also keeps the watches other nodes placed on our local processes.
#include "common/thread_safety.hpp"

#include <syn/pid.hpp>
#include <syn/term.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

namespace syn::detail {

class NodeCore;

class Monitors {
 public:
  using OnDown = std::function<void(const Pid&, const Term&)>;
  explicit Monitors(NodeCore& node) : node_(node) {}

  /// Any thread. The callback runs on the dispatcher thread, at most once.
  std::uint64_t monitor(const Pid& target, OnDown on_down);
  /// Any thread. After it returns the callback is not started any more (one already running
  /// on the dispatcher thread finishes).
  void demonitor(std::uint64_t ref);

  /// The watches this node holds: its own, and other nodes' on its processes (any thread; for
  /// tests and diagnostics: a watch nobody will end is a leak).
  std::size_t watch_count();

  /// A local process died (any thread).
  void on_local_exit(const Pid& pid, const Term& reason);
  // Engine thread: messages from peer `from`.
  void on_remote_monitor(std::uint32_t from, std::uint64_t ref, const Pid& target);
  void on_remote_demonitor(std::uint32_t from, std::uint64_t ref);
  void on_remote_down(std::uint32_t from, std::uint64_t ref, const Term& reason);
  /// Engine thread: a peer went down.
  void on_peer_down(std::uint32_t atom);

 private:
  struct Callback {
    OnDown fn;
    std::atomic<bool> cancelled{false};
  };
  struct Watch {
    Pid target;
    std::shared_ptr<Callback> callback;
  };
  void fire(std::shared_ptr<Callback> callback, const Pid& target, Term reason);
  void register_remote(std::uint64_t ref);  // engine thread
  /// Sends the DOWNs of a dead local process to the nodes watching it, a slice per engine
  /// task: a process watched 200k times would otherwise hold the engine thread (and its
  /// heartbeats) for a second in a Debug build.
  void send_downs(std::vector<std::pair<std::uint32_t, std::uint64_t>> watchers, const Term& reason);

  // Refs are sets, not vectors: a DOWN or a demonitor takes one out, and with many watches of
  // one process or node a vector made that quadratic (200k DOWNs took seconds).
  using Refs = std::unordered_set<std::uint64_t>;

  NodeCore& node_;
  Mutex mutex_;
  std::uint64_t next_ref_ SYN_GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::uint64_t, Watch> watches_ SYN_GUARDED_BY(mutex_);  // ours, by ref
  std::unordered_map<std::uint64_t, Refs> on_local_ SYN_GUARDED_BY(mutex_);  // local pid id -> our refs
  std::unordered_map<std::uint32_t, Refs> on_node_ SYN_GUARDED_BY(mutex_);   // node atom -> our refs
  // Watches of other nodes on our processes: local pid id -> (node atom, their ref).
  std::unordered_map<std::uint64_t, std::set<std::pair<std::uint32_t, std::uint64_t>>> remote_watchers_
      SYN_GUARDED_BY(mutex_);
  std::map<std::pair<std::uint32_t, std::uint64_t>, std::uint64_t> remote_watch_target_ SYN_GUARDED_BY(mutex_);
};

}  // namespace syn::detail
