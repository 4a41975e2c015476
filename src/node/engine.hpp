#pragma once
// The engine: one thread per node that owns every ZeroMQ socket of the node. Other threads
// hand it work (closures, or encoded messages bound for a peer) through one queue and an
// eventfd that wakes its poll. Each loop turn: run queued work, read sockets, run timers,
// then send one batched frame per peer.
#include "common/clock.hpp"
#include "common/function_ref.hpp"
#include "common/queue_depth.hpp"
#include "common/thread_safety.hpp"
#include "common/unique_function.hpp"
#include "transport/transport.hpp"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <future>
#include <mutex>
#include <queue>
#include <string>
#include <thread>
#include <type_traits>
#include <vector>

namespace syn::detail {

class Engine {
 public:
  /// The longest a loop turn runs queued work before it reads sockets and runs timers again.
  static constexpr std::chrono::milliseconds kTurnBudget{20};
  /// How many queued tasks run between two reads of the clock against kTurnBudget (a turn
  /// overruns it by as many tasks at most: some take milliseconds in a Debug build).
  static constexpr std::size_t kTasksPerClockRead = 4;

  explicit Engine(std::string node_name);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  /// Starts the thread; it drives `transport` from now on.
  void start(transport::Transport& transport);
  /// Runs `last_words` on the engine thread (e.g. say goodbye), flushes, and joins. Work
  /// posted afterwards is dropped.
  void stop(UniqueFunction last_words = {});
  bool running() const { return running_.load(std::memory_order_acquire); }
  bool on_engine_thread() const { return role_.is_current(); }

  /// Work queued for the engine thread now, and the most ever queued (metrics).
  QueueDepth depth();
  /// Runs `fn` on the engine thread, soon. Dropped once stopped.
  void post(UniqueFunction fn);
  /// Appends encoded messages to the next frame to a peer; dropped if the peer is not up.
  void post_bytes(std::uint32_t peer_atom, std::string bytes);
  /// post_bytes for a thread that is not the engine's (a process sending): when the engine is
  /// idle (waiting in poll, nothing queued), the calling thread sends the frame itself and the
  /// engine thread is not woken. That wake-up is a fifth of a round trip on a quiet node. The
  /// order is post_bytes's: everything posted before went out first, everything after queues
  /// behind (one socket per peer carries both).
  void send_bytes(std::uint32_t peer_atom, std::string bytes);
  /// send_bytes for any engine task: when the engine is idle (waiting in poll, nothing queued)
  /// and this is not the engine thread, the calling thread runs `fn` now in the engine's role,
  /// then sends the frames it filled (on up links only: the engine polls its ROUTER
  /// meanwhile), and returns true; the engine is not woken, and waits on return from poll
  /// until `fn` is done. Otherwise returns false and `fn` has not run: the caller posts it.
  /// `fn` must not wait for the engine thread, nor need a lock its caller holds; it may post.
  /// The order is post's: work posted earlier has run, work posted later runs after. Unlike
  /// send_bytes, the engine stays idle: a caller that streams posts instead, so as to batch.
  bool run_if_idle(FunctionRef<void()> fn);
  /// Runs `fn` on the engine thread and returns its result (directly when already on it).
  /// Returns std::nullopt-like default (false for bool) when the engine is stopped.
  template <class F>
  auto call(F&& fn) -> std::invoke_result_t<F&>;

  /// Engine thread only: sends the frames batched for peers now rather than at the end of the
  /// turn, those that would block excepted (they wait for the turn's end).
  void flush_ready();
  /// Engine thread only: runs `fn` after `delay`.
  void add_timer(std::chrono::milliseconds delay, UniqueFunction fn);
  /// Engine thread only.
  transport::Transport& transport() { return *transport_; }

 private:
  struct Outbound {
    std::uint32_t atom;
    std::string bytes;
  };
  struct Work {
    UniqueFunction fn;  // empty for an outbound
    Outbound outbound;
  };
  struct Timer {
    TimePoint at;
    std::uint64_t seq;
    mutable UniqueFunction fn;
    bool operator>(const Timer& other) const { return at != other.at ? at > other.at : seq > other.seq; }
  };

  void run();
  void enqueue(Work work);
  /// Queues `work`; true when the engine must be woken (the caller writes wake_fd_ unlocked).
  bool push_locked(Work work) SYN_REQUIRES(mutex_);
  void wake();
  /// Marks the engine idle (about to wait in poll) or busy (back from it, owning the sockets:
  /// it waits for a thread running a task in its place to finish, run_if_idle).
  void set_idle(bool idle);
  /// When the earliest timer is due (TimePoint::max() when none).
  TimePoint next_timer() const SYN_REQUIRES(role_);
  /// Runs queued work, for kTurnBudget at most unless `all`.
  void run_queued(bool all = false) SYN_REQUIRES(role_);
  /// Work taken from the queue and not run yet (a turn's budget ran out).
  bool has_backlog() const SYN_REQUIRES(role_);
  void run_timers(TimePoint now) SYN_REQUIRES(role_);
  std::chrono::milliseconds poll_timeout(TimePoint now) const SYN_REQUIRES(role_);

  std::string node_name_;
  ThreadRole role_;  // the engine thread
  transport::Transport* transport_ = nullptr;
  int wake_fd_ = -1;
  Mutex mutex_;
  std::vector<Work> queue_ SYN_GUARDED_BY(mutex_);
  bool signalled_ SYN_GUARDED_BY(mutex_) = false;
  std::size_t high_water_ SYN_GUARDED_BY(mutex_) = 0;
  bool accepting_ SYN_GUARDED_BY(mutex_) = true;
  // True while the engine thread waits in poll and nobody has sent in its place since: it
  // touches no socket and no transport state until it has set this back under mutex_, so a
  // thread holding mutex_ may send one frame (send_bytes).
  bool idle_ SYN_GUARDED_BY(mutex_) = false;
  // True while another thread runs a task in the engine's place (run_if_idle); lent_done_
  // tells the engine thread, which waits for it before it touches anything again.
  bool lent_ SYN_GUARDED_BY(mutex_) = false;
  std::condition_variable lent_done_;
  std::atomic<bool> running_{false};
  std::atomic<bool> stop_requested_{false};
  UniqueFunction last_words_ SYN_GUARDED_BY(mutex_);
  // Work taken from queue_ in one swap; taken_[next_..] has not run yet.
  std::vector<Work> taken_ SYN_GUARDED_BY(role_);
  std::size_t next_ SYN_GUARDED_BY(role_) = 0;
  std::priority_queue<Timer, std::vector<Timer>, std::greater<>> timers_ SYN_GUARDED_BY(role_);
  std::uint64_t timer_seq_ SYN_GUARDED_BY(role_) = 0;
  TimePoint next_tick_ SYN_GUARDED_BY(role_){};
  std::thread thread_;
};

template <class F>
auto Engine::call(F&& fn) -> std::invoke_result_t<F&> {
  using R = std::invoke_result_t<F&>;
  if (on_engine_thread()) return fn();
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  post([promise, f = std::forward<F>(fn)]() mutable {
    if constexpr (std::is_void_v<R>) {
      f();
      promise->set_value();
    } else {
      promise->set_value(f());
    }
  });
  // A stopped engine drops the work and the promise with it: broken_promise.
  try {
    return future.get();
  } catch (const std::future_error&) {
    if constexpr (!std::is_void_v<R>) return R{};
  }
}

}  // namespace syn::detail
