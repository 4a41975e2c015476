#pragma once
/// \file
/// Collecting runs into per-workload results, the table for people, and the JSON record.

#include "driver/options.hpp"
#include "driver/workload.hpp"

#include <syn/term.hpp>

#include <cstdio>
#include <string>
#include <vector>

namespace syn::bench {

/// One metric over every successful run.
struct MetricResult {
  std::string name;
  std::string unit;
  bool higher_is_better = true;
  std::vector<double> values;  ///< one per run, in run order
  double median = 0, min = 0, max = 0;
  /// Half the min..max range relative to the median, in percent.
  double spread_pct() const;
};

/// One workload at one size: its metrics, every run, and what went wrong.
struct WorkloadResult {
  std::string key;  ///< JSON key: the name, plus "_1m" etc. when not at the mode's first size
  const Workload* workload = nullptr;
  std::size_t n = 0;
  Term params = Term::object();
  std::vector<MetricResult> metrics;
  Term runs = Term::array();        ///< per run: samples and details
  std::vector<std::string> errors;  ///< failed runs
  std::string skipped;              ///< why it could not run here (see Skipped); empty when it ran
  std::string load_before, load_after;
  std::string date;
  double wall_seconds = 0;

  /// Adds a successful run.
  void add_run(int run, const RunOutput& out, double seconds);
  /// Adds a failed run.
  void add_failure(int run, const std::string& error);
  /// Computes medians and spreads.
  void finish();
};

/// "412k/s", "0.243 s", "58 ns", "148 B", "1.93x".
std::string format_value(double value, const std::string& unit);
/// The reference column: "5.9x syn (70k/s)  0.4x pg (...)"; empty when none.
std::string reference_text(const WorkloadResult& w, const MetricResult& m);
/// The target column: "< 0.2 s: met" / "MISSED"; empty when none.
std::string target_text(const WorkloadResult& w, const MetricResult& m);

/// The one-line summary of a run, for progress output.
std::string run_line(const RunOutput& out);
/// The table for people.
void print_table(const std::vector<WorkloadResult>& results, std::FILE* out);
/// The JSON record: machine, options, and one object per workload (key -> object).
Term results_json(const std::vector<WorkloadResult>& results, const Options& options, const Term& machine);

}  // namespace syn::bench
