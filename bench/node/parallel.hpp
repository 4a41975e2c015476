#pragma once
/// \file
/// Running a timed batch of calls on several threads that all start at one instant, and
/// tallying their outcomes.

#include "common/clock.hpp"

#include <syn/result.hpp>
#include <syn/term.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <thread>
#include <vector>

namespace syn::bench {

/// Counts results by outcome ("ok" or the error's name).
class Tally {
 public:
  /// Counts one result.
  template <class T>
  void add(const syn::Result<T>& r) {
    if (r) {
      ++ok_;
    } else {
      ++errors_[std::string(syn::to_string(r.error()))];
    }
  }
  /// Adds another tally into this one.
  void merge(const Tally& other) {
    ok_ += other.ok_;
    for (const auto& [k, v] : other.errors_) errors_[k] += v;
  }
  /// Calls that succeeded.
  std::size_t ok() const { return ok_; }
  /// Calls that failed.
  std::size_t failed() const {
    std::size_t n = 0;
    for (const auto& [k, v] : errors_) n += v;
    return n;
  }
  /// {"ok": n, "failed": n, "errors": {"taken": n, ...}}.
  Term to_json() const { return Term{{"ok", ok_}, {"failed", failed()}, {"errors", errors_}}; }

 private:
  std::size_t ok_ = 0;
  std::map<std::string, std::size_t> errors_;
};

/// Runs fn(i, tally) for every i in [0, count) on `threads` threads (thread t takes t,
/// t + threads, ...). The threads are made first and all begin at `start_at`. Returns the
/// monotonic time when the last one finished; `total` receives every outcome and `cpu_ns` the
/// CPU time the threads used while calling.
template <class F>
std::int64_t run_striped(std::size_t threads, std::size_t count, std::int64_t start_at, Tally& total,
                         std::int64_t& cpu_ns, F fn) {
  threads = std::max<std::size_t>(1, std::min(threads, std::max<std::size_t>(count, 1)));
  std::vector<Tally> tallies(threads);
  std::vector<std::int64_t> cpu(threads);
  std::vector<std::thread> pool;
  pool.reserve(threads);
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      sleep_until_ns(start_at);
      auto c0 = thread_cpu_ns();
      for (std::size_t i = t; i < count; i += threads) fn(i, tallies[t]);
      cpu[t] = thread_cpu_ns() - c0;
    });
  }
  for (auto& th : pool) th.join();
  std::int64_t end = now_ns();
  for (const auto& t : tallies) total.merge(t);
  cpu_ns = 0;
  for (auto c : cpu) cpu_ns += c;
  return end;
}

}  // namespace syn::bench
