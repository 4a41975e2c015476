#pragma once
// The node's callback thread: event-handler callbacks, subscription events and monitor
// notifications run here, one at a time, in the order they were posted. Off the network
// thread, so a callback may call the API (writes included) and a slow one never stalls the
// cluster.
#include "common/thread_safety.hpp"
#include "common/queue_depth.hpp"
#include "common/unique_function.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace syn::detail {

class Dispatcher {
 public:
  explicit Dispatcher(std::string node_name);
  ~Dispatcher();
  void start();
  /// Runs what is already queued, then stops. Later posts are dropped.
  void stop();

  /// Callbacks queued now, and the most ever queued (metrics).
  QueueDepth depth();
  /// Queues a callback; returns its sequence number (for wait_for).
  std::uint64_t post(UniqueFunction fn);
  /// Waits until callback `seq` has run. Returns at once on the dispatcher thread itself (a
  /// callback that calls the API must not wait for itself) or once stopped.
  void wait_for(std::uint64_t seq);
  /// The sequence number of the last callback posted.
  std::uint64_t last_posted() const { return posted_.load(std::memory_order_acquire); }
  bool on_dispatcher_thread() const { return std::this_thread::get_id() == thread_id_.load(std::memory_order_acquire); }

 private:
  void run();

  std::string node_name_;
  Mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  std::deque<UniqueFunction> queue_ SYN_GUARDED_BY(mutex_);
  std::atomic<std::uint64_t> posted_{0};
  std::uint64_t executed_ SYN_GUARDED_BY(mutex_) = 0;
  std::size_t high_water_ SYN_GUARDED_BY(mutex_) = 0;
  bool stopping_ SYN_GUARDED_BY(mutex_) = false;
  bool stopped_ SYN_GUARDED_BY(mutex_) = false;
  std::thread thread_;
  std::atomic<std::thread::id> thread_id_{};
};

}  // namespace syn::detail
