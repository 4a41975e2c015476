#pragma once
// Strands: serial queues of tasks, run by a small pool of threads. The tasks of one key run one
// at a time, in the order they were posted; tasks of different keys run in parallel. A task may
// block (a multicast callback that joins another group waits for that group's first callback,
// which is another key's task): while some key is ready and every thread is busy, the pool
// grows, up to its limit.
#include "common/thread_safety.hpp"
#include "common/unique_function.hpp"

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace syn::detail {

class Strands {
 public:
  /// `max_threads`: the most threads it runs at once (at least 1).
  explicit Strands(std::size_t max_threads);
  Strands(const Strands&) = delete;
  Strands& operator=(const Strands&) = delete;
  /// Stops (see stop()).
  ~Strands();

  /// Queues `task` behind the other tasks of `key`. Dropped once stopped.
  void post(const std::string& key, UniqueFunction task);
  /// Drops every queued task and joins the threads once their tasks returned (a thread of the
  /// pool calling it is detached instead: it cannot join itself).
  void stop();
  /// The key whose task runs on this thread, or null when none does.
  static const std::string* current_key();

 private:
  struct Queue {
    std::deque<UniqueFunction> tasks;
    bool running = false;  ///< a thread runs one of its tasks now
  };
  /// What the threads share; they hold it, so a detached thread outlives the Strands safely.
  struct Pool {
    explicit Pool(std::size_t max) : max_threads(max) {}
    const std::size_t max_threads;
    Mutex mutex;
    std::condition_variable wake;
    std::map<std::string, Queue> queues SYN_GUARDED_BY(mutex);
    std::deque<std::string> ready SYN_GUARDED_BY(mutex);  ///< keys with tasks and no thread on them
    std::vector<std::thread> threads SYN_GUARDED_BY(mutex);
    std::size_t idle SYN_GUARDED_BY(mutex) = 0;
    bool stopping SYN_GUARDED_BY(mutex) = false;
  };
  static void work(const std::shared_ptr<Pool>& pool);

  std::shared_ptr<Pool> pool_;
};

}  // namespace syn::detail
