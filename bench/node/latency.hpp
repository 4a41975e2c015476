#pragma once
/// \file
/// Per-call latency samples and their JSON summary.

#include "common/stats.hpp"

#include <syn/term.hpp>

#include <cstdint>
#include <vector>

namespace syn::bench {

/// {"median_ns", "p99_ns", "mean_ns", "min_ns", "max_ns", "count"} of nanosecond samples.
inline Term latency_json(std::vector<double> samples_ns) {
  Summary s = summarize(std::move(samples_ns));
  return Term{{"median_ns", s.median}, {"p99_ns", s.p99}, {"mean_ns", s.mean},
              {"min_ns", s.min},       {"max_ns", s.max}, {"count", s.count}};
}

/// How late a command began its timed work (0 when on time): the driver warns about it.
inline std::int64_t lateness(std::int64_t start_at, std::int64_t now) { return now > start_at ? now - start_at : 0; }

}  // namespace syn::bench
