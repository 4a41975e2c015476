#pragma once
// Wakes held back to the end of a batch. The engine thread applies a frame's messages one by
// one, and a frame of a stream holds hundreds for the same mailbox: waking its receiver at each
// (a futex call, and a receiver that takes one message and sleeps again) cost more than the
// delivery itself (issue 14: the one-way stream spent more in pthread_cond_signal than in
// decoding). While a WakeBatch lives on a thread, a delivery there hands its wake to the
// batch, which wakes each waiting receiver once when it ends.
#include <condition_variable>
#include <memory>
#include <vector>

namespace syn::detail {

class WakeBatch {
 public:
  /// Opens the thread's batch; inside another one, it leaves the outer one in charge.
  WakeBatch() : outer_(current_) {
    if (!outer_) current_ = this;
  }
  WakeBatch(const WakeBatch&) = delete;
  WakeBatch& operator=(const WakeBatch&) = delete;
  /// Wakes what is still deferred (flush()) and closes the batch.
  ~WakeBatch() {
    if (outer_ || current_ != this) return;
    flush();
    current_ = nullptr;
  }

  /// Wakes the waiters of everything deferred so far, in the order deferred (all of them: one
  /// wake stands for several messages, which several receivers may be waiting for). Called
  /// before work that may take long, so that no receiver sleeps beside its message meanwhile.
  void flush() {
    for (auto& wake : wakes_) wake.cv->notify_all();
    wakes_.clear();
  }

  /// The batch open on the calling thread, or null (then wake at once).
  static WakeBatch* current() { return current_; }

  /// Wakes the waiters of `cv` when the batch ends. `keep_alive()` returns a shared_ptr that
  /// keeps `cv` alive until then; it is called only when `cv` is not already the last one
  /// deferred (a stream to one mailbox costs one entry, not one per message).
  template <class KeepAlive>
  void defer(std::condition_variable& cv, KeepAlive keep_alive) {
    if (!wakes_.empty() && wakes_.back().cv == &cv) return;
    wakes_.push_back({&cv, keep_alive()});
  }

 private:
  struct Wake {
    std::condition_variable* cv;
    std::shared_ptr<const void> owner;
  };
  static inline thread_local WakeBatch* current_ = nullptr;
  WakeBatch* const outer_;
  std::vector<Wake> wakes_;
};

}  // namespace syn::detail
