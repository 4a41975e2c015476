#pragma once
/// \file
/// Order statistics of samples (latencies, per-run figures).

#include <cstddef>
#include <vector>

namespace syn::bench {

/// Summary of a set of samples; every field is 0 for an empty set.
struct Summary {
  std::size_t count = 0;
  double min = 0;
  double max = 0;
  double mean = 0;
  double median = 0;
  double p99 = 0;
};

/// The q-quantile (0..1) of sorted samples, by linear interpolation; 0 when empty.
double quantile_sorted(const std::vector<double>& sorted, double q);

/// Sorts a copy of `samples` and summarizes it.
Summary summarize(std::vector<double> samples);

}  // namespace syn::bench
