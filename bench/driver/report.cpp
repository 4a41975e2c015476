#include "driver/report.hpp"

#include "common/stats.hpp"
#include "driver/machine.hpp"
#include "driver/references.hpp"

#include <algorithm>
#include <cmath>
#include <cstdarg>

namespace syn::bench {

namespace {

std::string printf_string(const char* format, ...) {
  char buf[256];
  va_list ap;
  va_start(ap, format);
  std::vsnprintf(buf, sizeof buf, format, ap);
  va_end(ap);
  return buf;
}

// How many times better than the reference (> 1: better).
double ratio(const MetricResult& m, const Reference& r) {
  if (m.median <= 0 || r.mid() <= 0) return 0;
  return m.higher_is_better ? m.median / r.mid() : r.mid() / m.median;
}

std::string pad(const std::string& s, std::size_t width) {
  return s.size() >= width ? s : s + std::string(width - s.size(), ' ');
}

}  // namespace

double MetricResult::spread_pct() const {
  if (median == 0) return 0;
  return (max - min) / 2 / std::fabs(median) * 100;
}

void WorkloadResult::add_run(int run, const RunOutput& out, double seconds) {
  Term samples = Term::object();
  for (const auto& s : out.samples) {
    samples[s.metric] = s.value;
    auto it = std::find_if(metrics.begin(), metrics.end(), [&](const MetricResult& m) { return m.name == s.metric; });
    if (it == metrics.end()) {
      metrics.push_back(MetricResult{s.metric, s.unit, s.higher_is_better, {}, 0, 0, 0});
      it = std::prev(metrics.end());
    }
    it->values.push_back(s.value);
  }
  runs.push_back({{"run", run}, {"ok", true}, {"seconds", seconds}, {"values", samples}, {"detail", out.detail}});
}

void WorkloadResult::add_failure(int run, const std::string& error) {
  errors.push_back("run " + std::to_string(run) + ": " + error);
  runs.push_back({{"run", run}, {"ok", false}, {"error", error}});
}

void WorkloadResult::finish() {
  for (auto& m : metrics) {
    Summary s = summarize(m.values);
    m.median = s.median;
    m.min = s.min;
    m.max = s.max;
  }
}

std::string format_value(double v, const std::string& unit) {
  if (unit == "ops/s") {
    if (v >= 1e6) return printf_string("%.2fM/s", v / 1e6);
    if (v >= 1e5) return printf_string("%.0fk/s", v / 1e3);
    if (v >= 1e3) return printf_string("%.1fk/s", v / 1e3);
    return printf_string("%.0f/s", v);
  }
  if (unit == "s") {
    if (std::fabs(v) < 0.01) return printf_string("%.2f ms", v * 1e3);
    if (std::fabs(v) < 1) return printf_string("%.0f ms", v * 1e3);
    if (std::fabs(v) < 100) return printf_string("%.2f s", v);
    return printf_string("%.0f s", v);
  }
  if (unit == "ns") {
    if (v < 1e3) return printf_string("%.0f ns", v);
    if (v < 1e4) return printf_string("%.2f us", v / 1e3);
    if (v < 1e6) return printf_string("%.1f us", v / 1e3);
    return printf_string("%.2f ms", v / 1e6);
  }
  if (unit == "B") return printf_string("%.0f B", v);
  if (unit == "x") return printf_string("%.2fx", v);
  return printf_string("%g %s", v, unit.c_str());
}

std::string reference_text(const WorkloadResult& w, const MetricResult& m) {
  std::string out;
  for (const auto& r : reference_for(w.workload->name, m.name, w.n).refs) {
    if (!out.empty()) out += ", ";
    std::string range = r.low == r.high ? format_value(r.low, m.unit)
                                        : format_value(r.low, m.unit) + "-" + format_value(r.high, m.unit);
    double x = ratio(m, r);
    out += printf_string(x >= 10 ? "%.0fx %s (%s)" : "%.1fx %s (%s)", x, r.who.c_str(), range.c_str());
  }
  return out;
}

std::string target_text(const WorkloadResult& w, const MetricResult& m) {
  auto t = reference_for(w.workload->name, m.name, w.n).target;
  if (!t) return "";
  return t->text + (t->met(m.median) ? ": met" : ": MISSED");
}

std::string run_line(const RunOutput& out) {
  std::string line;
  for (const auto& s : out.samples) {
    if (!line.empty()) line += ", ";
    line += s.metric + " " + format_value(s.value, s.unit);
  }
  return line;
}

void print_table(const std::vector<WorkloadResult>& results, std::FILE* out) {
  std::fprintf(out, "\n%s %s %s %s %s %s\n", pad("workload", 24).c_str(), pad("metric", 15).c_str(),
               pad("median", 11).c_str(), pad("spread (min..max)", 30).c_str(),
               pad("vs reference (>1x: better)", 44).c_str(), "target");
  std::fprintf(out, "%s\n", std::string(150, '-').c_str());
  for (const auto& w : results) {
    std::string label = w.key + " [" + short_count(w.n) + "]";
    if (w.metrics.empty() && !w.skipped.empty()) {
      std::fprintf(out, "%s skipped: %s\n", pad(label, 24).c_str(), w.skipped.c_str());
      continue;
    }
    if (w.metrics.empty()) {
      std::fprintf(out, "%s FAILED: %s\n", pad(label, 24).c_str(),
                   w.errors.empty() ? "no result" : w.errors.front().c_str());
      continue;
    }
    for (const auto& m : w.metrics) {
      std::string spread = format_value(m.min, m.unit) + ".." + format_value(m.max, m.unit) +
                           printf_string(" (+-%.0f%%, %zu)", m.spread_pct(), m.values.size());
      std::fprintf(out, "%s %s %s %s %s %s\n", pad(label, 24).c_str(), pad(m.name, 15).c_str(),
                   pad(format_value(m.median, m.unit), 11).c_str(), pad(spread, 30).c_str(),
                   pad(reference_text(w, m), 44).c_str(), target_text(w, m).c_str());
      label.clear();
    }
    for (const auto& e : w.errors) std::fprintf(out, "%s   failed %s\n", pad("", 24).c_str(), e.c_str());
  }
}

Term results_json(const std::vector<WorkloadResult>& results, const Options& options, const Term& machine) {
  Term workloads = Term::object();
  for (const auto& w : results) {
    Term metrics = Term::object();
    for (const auto& m : w.metrics) {
      Term mj{{"unit", m.unit},
              {"better", m.higher_is_better ? "higher" : "lower"},
              {"runs", m.values},
              {"median", m.median},
              {"min", m.min},
              {"max", m.max},
              {"spread_pct", m.spread_pct()}};
      auto ref = reference_for(w.workload->name, m.name, w.n);
      Term refs = Term::array();
      for (const auto& r : ref.refs) {
        refs.push_back({{"who", r.who}, {"low", r.low}, {"high", r.high}, {"ratio", ratio(m, r)}});
      }
      if (!refs.empty()) mj["references"] = refs;
      if (ref.target) {
        mj["target"] = {{"text", ref.target->text},
                        {"bound", ref.target->bound},
                        {"at_most", ref.target->at_most},
                        {"met", ref.target->met(m.median)}};
      }
      metrics[m.name] = mj;
    }
    Term params = w.params;
    params["n"] = w.n;
    workloads[w.key] = {{"workload", w.workload->name},
                        {"description", w.workload->description},
                        {"note", w.workload->note},
                        {"params", params},
                        {"metrics", metrics},
                        {"runs", w.runs},
                        {"errors", w.errors},
                        {"skipped", w.skipped},
                        {"date", w.date},
                        {"wall_seconds", w.wall_seconds},
                        {"machine",
                         {{"nproc", machine.at("nproc")},
                          {"cpu_model", machine.at("cpu_model")},
                          {"loadavg_before", w.load_before},
                          {"loadavg_after", w.load_after}}}};
  }
  return Term{{"tool", "syn-bench"},
              {"mode", options.mode},
              {"commit", options.commit},
              {"date", utc_now()},
              {"machine", machine},
              {"options", {{"runs", options.runs}, {"sizes", options.sizes}, {"workers", options.workers}}},
              {"workloads", workloads}};
}

}  // namespace syn::bench
