#pragma once
// A latency histogram any thread may observe into without a lock (relaxed atomics: a
// snapshot may be a few observations behind, never torn per bucket).
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace syn::detail {

class LatencyHistogram {
 public:
  /// Upper bounds in seconds, after Prometheus' defaults, from 100 µs to 10 s.
  static constexpr std::array<double, 14> kBounds = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                                     0.025,  0.05,    0.1,    0.25,  0.5,    1.0,   10.0};

  void observe(std::chrono::nanoseconds elapsed) {
    double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t i = 0;
    while (i < kBounds.size() && seconds > kBounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_nanos_.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
  }

  /// Per-bucket counts (not cumulative; the last is above every bound) and the sum in seconds.
  std::array<std::uint64_t, kBounds.size() + 1> counts() const {
    std::array<std::uint64_t, kBounds.size() + 1> out{};
    for (std::size_t i = 0; i < out.size(); ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
    return out;
  }
  double sum_seconds() const { return static_cast<double>(sum_nanos_.load(std::memory_order_relaxed)) * 1e-9; }

 private:
  std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_nanos_{0};
};

}  // namespace syn::detail
