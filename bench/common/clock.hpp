#pragma once
/// \file
/// The benchmark's one clock: CLOCK_MONOTONIC through std::chrono::steady_clock. It is
/// system-wide on Linux, so timestamps taken in different processes on the machine compare.

#include <time.h>

#include <chrono>
#include <cstdint>
#include <thread>

namespace syn::bench {

/// Nanoseconds on the monotonic clock (comparable between processes on one machine).
inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Sleeps until the monotonic time `t` (ns); returns at once when it has passed.
inline void sleep_until_ns(std::int64_t t) {
  std::this_thread::sleep_until(std::chrono::steady_clock::time_point(std::chrono::nanoseconds(t)));
}

/// CPU time (user + system) used so far by the calling thread, in ns.
inline std::int64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// CPU time (user + system) used so far by every thread of this process, in ns.
inline std::int64_t process_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// Nanoseconds from milliseconds.
constexpr std::int64_t ms_to_ns(std::int64_t ms) { return ms * 1'000'000; }

}  // namespace syn::bench
