#pragma once
// Whether a thread that waits for a message or an answer spins before it sleeps (issue 14).
// Waking a sleeping thread costs a futex call on the engine thread and a context switch on the
// waiter's core (on a virtual machine also a halted virtual CPU woken): 15 to 20 us each way of
// a 130 us round trip. A waiter that spins (yielding its core to any thread that is ready, so
// the engine and ZeroMQ's I/O thread still run) sees its message without either. Used by
// Process::receive, and by the synchronous calls that wait for another node's answer.
//
// Spinning pays for requests and answers, one message at a time, and costs where it competes:
// a stream's receiver spinning between frames took CPU from the engine that decodes them
// (messages_one_way fell to 0.7x). Each thread learns from its last wait: it spins while that
// wait ended soon (within kWindow) with a message that came alone, and sleeps after a wait that
// lasted longer, ended empty or found several messages (a stream's batch). So a process at
// rest, one polling with short timeouts, and a stream's consumer sleep as before.
#include "common/clock.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace syn::detail {

class SpinWait {
 public:
  /// The longest a waiter spins: a round trip on loopback (100 to 200 us) fits in it.
  static constexpr std::chrono::microseconds kWindow{300};

  /// Whether the calling thread spins at its next wait.
  static bool enabled() { return enabled_; }

  /// Spins, yielding the core, when the calling thread's last wait says it pays (enabled()),
  /// until `ready()` or kWindow after `start` or `deadline`, whichever comes first. The caller
  /// then checks and sleeps as it would have.
  template <class Ready>
  static void maybe_spin(TimePoint start, TimePoint deadline, Ready ready) {
    if (!enabled_) return;
    const auto limit = std::min(deadline, start + kWindow);
    while (!ready() && SteadyClock::now() < limit) std::this_thread::yield();
  }

  /// Records how the calling thread's wait that started at `start` ended: `lone_answer` when
  /// it got what it waited for, alone (a message with nothing else waiting beside it, a call's
  /// answer). A lone answer within kWindow turns spinning on; anything else turns it off.
  static void record(TimePoint start, bool lone_answer) {
    enabled_ = lone_answer && SteadyClock::now() - start < kWindow;
  }

 private:
  // A thread starts out spinning: a request and its answer are the common first wait.
  static inline thread_local bool enabled_ = true;
};

}  // namespace syn::detail
