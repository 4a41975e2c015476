#pragma once
// Time sources: entry times are wall-clock nanoseconds, strictly increasing within a process
// so that two writes never carry the same time.
#include <atomic>
#include <chrono>
#include <cstdint>

namespace syn::detail {

/// Wall clock in nanoseconds since the epoch, strictly increasing across calls in this process.
inline std::int64_t unique_now_ns() {
  static std::atomic<std::int64_t> last{0};
  std::int64_t now =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::int64_t prev = last.load(std::memory_order_relaxed);
  for (;;) {
    std::int64_t next = now > prev ? now : prev + 1;
    if (last.compare_exchange_weak(prev, next, std::memory_order_relaxed)) return next;
  }
}

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

/// The time point `timeout` after `now`, saturated at the clock's end: a caller's timeout of
/// milliseconds::max() ("wait for ever") must not overflow into the past.
inline TimePoint deadline_after(std::chrono::milliseconds timeout, TimePoint now = SteadyClock::now()) {
  if (timeout <= std::chrono::milliseconds::zero()) return now;
  auto room = std::chrono::duration_cast<std::chrono::milliseconds>(TimePoint::max() - now);
  return timeout >= room ? TimePoint::max() : now + timeout;
}

/// Steady nanoseconds from `start` to now (durations summed in metrics).
inline std::uint64_t nanos_since(TimePoint start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::nanoseconds>(SteadyClock::now() - start).count());
}

}  // namespace syn::detail
