#pragma once
/// \file
/// The reference figures of syn 3.4.1 and OTP 25 pg on this kind of machine, and the
/// project's targets (from shared/PERFORMANCE.md), per workload metric.

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace syn::bench {

/// A measured figure of another system, as a range in the metric's unit.
struct Reference {
  std::string who;  ///< "syn", "pg", "zmq raw", "bare hash"
  double low = 0;
  double high = 0;
  /// The middle of the range (what ratios compare with).
  double mid() const { return (low + high) / 2; }
};

/// A bound the project aims at.
struct Target {
  double bound = 0;
  bool at_most = true;  ///< true: value <= bound; false: value >= bound
  std::string text;     ///< e.g. ">= 3x syn"
  /// True when `value` meets the bound.
  bool met(double value) const { return at_most ? value <= bound : value >= bound; }
};

/// Everything known about one metric at one size.
struct MetricReference {
  std::vector<Reference> refs;
  std::optional<Target> target;
};

/// The references of `metric` of workload `workload` run at size `n` (empty when none: the
/// figures only compare at the size they were measured at).
MetricReference reference_for(const std::string& workload, const std::string& metric, std::size_t n);

}  // namespace syn::bench
