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
//
// SYN_SPIN_WAIT_US sets the window for the whole OS process, as Erlang's +sbwt sets its
// schedulers' busy wait: 0 never spins (nodes that share their cores with much else).
#include "common/clock.hpp"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

namespace syn::detail {

class SpinWait {
 public:
  /// The longest a waiter spins by default: a round trip on loopback (100 to 200 us) fits in it.
  static constexpr std::chrono::microseconds kWindow{300};
  /// The most SYN_SPIN_WAIT_US may ask for.
  static constexpr std::chrono::microseconds kLongestWindow{100000};

  /// The longest a waiter of this OS process spins: SYN_SPIN_WAIT_US (microseconds, 0 to
  /// kLongestWindow; 0: never) when set, else kWindow. Read at the first wait; a value that is
  /// not such a number is logged once and kWindow used.
  static std::chrono::microseconds window();
  /// What a SYN_SPIN_WAIT_US value means (none: kWindow); nullopt when it is not a whole
  /// number of microseconds from 0 to kLongestWindow.
  static std::optional<std::chrono::microseconds> window_from(const char* text);

  /// Whether the calling thread spins at its next wait.
  static bool enabled() { return enabled_; }

  /// Spins, yielding the core, when the calling thread's last wait says it pays (enabled()),
  /// until `ready()` or window() after `start` or `deadline`, whichever comes first. The
  /// caller then checks and sleeps as it would have.
  template <class Ready>
  static void maybe_spin(TimePoint start, TimePoint deadline, Ready ready) {
    if (!enabled_) return;
    const auto limit = std::min(deadline, start + window());
    while (!ready() && SteadyClock::now() < limit) std::this_thread::yield();
  }

  /// Records how the calling thread's wait that started at `start` ended: `lone_answer` when
  /// it got what it waited for, alone (a message with nothing else waiting beside it, a call's
  /// answer). A lone answer within window() turns spinning on; anything else turns it off.
  static void record(TimePoint start, bool lone_answer) {
    enabled_ = lone_answer && SteadyClock::now() - start < window();
  }

 private:
  // A thread starts out spinning: a request and its answer are the common first wait.
  static inline thread_local bool enabled_ = true;
};

}  // namespace syn::detail
