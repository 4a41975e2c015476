#pragma once
/// \file
/// Workloads: what each measures, how it runs once, and the samples a run yields.

#include "driver/cluster.hpp"
#include "driver/options.hpp"

#include <syn/term.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <stdexcept>
#include <string>
#include <vector>

namespace syn::bench {

/// One figure of one run.
struct Sample {
  std::string metric;  ///< e.g. "register"
  double value = 0;    ///< in `unit`
  std::string unit;    ///< "ops/s", "s", "ns", "B", "x"
  bool higher_is_better = true;
};

/// What one run yields: its figures, and everything else worth keeping (per-phase records).
/// Thrown by a workload that cannot run on this machine (a reference program is not
/// installed): reported as skipped, with the reason, and not as a failure.
struct Skipped : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct RunOutput {
  std::vector<Sample> samples;
  Term detail = Term::object();
};

/// What a run gets.
struct RunContext {
  const Options& options;
  std::size_t n;                      ///< the workload's size for this run
  ClusterConfig cluster;              ///< node binary, log dir, log tag
  std::chrono::milliseconds timeout;  ///< bound of each phase

  /// ops/s from a count and seconds.
  static Sample rate(const std::string& metric, double count, double seconds) {
    return Sample{metric, seconds > 0 ? count / seconds : 0, "ops/s", true};
  }
  /// A duration in seconds (lower is better).
  static Sample seconds(const std::string& metric, double s) { return Sample{metric, s, "s", false}; }
  /// CPU time of every node together per operation, in ns (lower is better): a figure the
  /// noise of a shared machine disturbs less than wall-clock time.
  static Sample cpu_per_op(const std::string& metric, double cpu_seconds, double ops) {
    return Sample{metric, ops > 0 ? cpu_seconds * 1e9 / ops : 0, "ns", false};
  }
  /// A latency in nanoseconds (lower is better).
  static Sample nanos(const std::string& metric, double ns) { return Sample{metric, ns, "ns", false}; }
};

/// A workload of the harness.
struct Workload {
  std::string name;         ///< key in the JSON and for --only
  std::string description;  ///< one line for people
  bool sized;               ///< runs once per N of the mode (else at its own fixed size)
  /// The size it runs at when not sized (by mode).
  std::function<std::size_t(const Options&)> fixed_size;
  /// Runs once on a fresh cluster; throws on failure.
  std::function<RunOutput(RunContext&)> run;
  /// How it is measured, when worth saying (e.g. where the nodes live).
  std::string note;
  /// Runs only when named with --only (the scale workloads: minutes and dozens of processes).
  bool on_request = false;
};

/// Every workload, in run order.
const std::vector<Workload>& all_workloads();

/// The workloads of each file.
std::vector<Workload> registry_workloads();       // wl_registry.cpp
std::vector<Workload> lookup_workloads();         // wl_lookup.cpp
std::vector<Workload> registry_more_workloads();  // wl_registry_more.cpp
std::vector<Workload> groups_workloads();         // wl_groups.cpp
std::vector<Workload> messaging_workloads();      // wl_messaging.cpp
std::vector<Workload> multicast_workloads();      // wl_multicast.cpp
std::vector<Workload> scale_workloads();          // wl_scale.cpp

/// "10k", "100k", "1M".
std::string short_count(std::size_t n);

}  // namespace syn::bench
