#include "driver/phase.hpp"

#include "common/clock.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

namespace syn::bench {

double PhaseResult::work_seconds() const {
  std::int64_t end = start_at;
  for (const auto& w : work) end = std::max<std::int64_t>(end, w.value("t_end", start_at));
  return static_cast<double>(end - start_at) / 1e9;
}

double PhaseResult::cpu_total() const {
  double sum = 0;
  for (double c : cpu_seconds) sum += c;
  return sum;
}

namespace {

// CPU time and frame counters of each running node so far (null for one not running).
std::vector<Term> counters_of(Cluster& cluster) {
  std::vector<Term> out(cluster.size());
  std::vector<std::int64_t> ids(cluster.size(), -1);
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (cluster[i].running()) ids[i] = cluster[i].send("cpu");
  }
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    if (ids[i] >= 0) out[i] = cluster[i].await(ids[i], std::chrono::seconds(30));
  }
  return out;
}

}  // namespace

Term PhaseResult::to_json() const {
  Term seen = Term::array();
  for (const auto& w : watches) seen.push_back(static_cast<double>(w.value("t", start_at) - start_at) / 1e9);
  Term calls = Term::array();
  for (const auto& w : work) {
    if (w.contains("calls")) calls.push_back(w["calls"]);
  }
  Term caller_cpu = Term::array();
  for (const auto& w : work) {
    if (w.contains("caller_cpu_ns")) caller_cpu.push_back(w["caller_cpu_ns"].get<double>() / 1e9);
  }
  Term out{{"seconds", seconds},
           {"work_seconds", work_seconds()},
           {"seen_seconds", seen},
           {"cpu_seconds", cpu_seconds},
           {"caller_cpu_seconds", caller_cpu},
           {"frames_sent", frames_sent},
           {"frames_received", frames_received},
           {"link_resets", link_resets}};
  if (!calls.empty()) out["calls"] = calls;
  return out;
}

Step watch_step(std::size_t node, const std::string& what, std::int64_t target, Term extra) {
  extra["what"] = what;
  extra["target"] = target;
  return Step{node, "watch", std::move(extra)};
}

PhaseResult run_phase(Cluster& cluster, std::vector<Step> work, std::vector<Step> watches,
                      std::chrono::milliseconds timeout, bool allow_call_errors, std::chrono::milliseconds lead) {
  PhaseResult r;
  auto before = counters_of(cluster);
  std::vector<std::int64_t> watch_ids, work_ids;
  for (auto& w : watches) {
    w.args["timeout_ms"] = timeout.count();
    watch_ids.push_back(cluster[w.node].send(w.cmd, w.args));
  }
  r.start_at = now_ns() + lead.count() * 1'000'000;
  for (auto& w : work) {
    w.args["start_at"] = r.start_at;
    work_ids.push_back(cluster[w.node].send(w.cmd, w.args));
  }
  auto await_timeout = timeout + std::chrono::seconds(30);
  for (std::size_t i = 0; i < work.size(); ++i) {
    Term a = cluster[work[i].node].await(work_ids[i], await_timeout);
    if (a.value("late_ns", 0) > 5'000'000) {
      std::fprintf(stderr, "  warning: %s began %s %.1f ms late\n", cluster[work[i].node].name().c_str(),
                   work[i].cmd.c_str(), a["late_ns"].get<double>() / 1e6);
    }
    if (!allow_call_errors && a.contains("calls") && a["calls"].value("failed", 0) > 0) {
      throw std::runtime_error(cluster[work[i].node].name() + ": " + work[i].cmd +
                               " had failed calls: " + a["calls"].dump());
    }
    r.work.push_back(std::move(a));
  }
  for (std::size_t i = 0; i < watches.size(); ++i) {
    Term a = cluster[watches[i].node].await(watch_ids[i], await_timeout);
    r.last_seen = std::max<std::int64_t>(r.last_seen, a.value("t", std::int64_t{0}));
    r.watches.push_back(std::move(a));
  }
  r.seconds = static_cast<double>(r.last_seen - r.start_at) / 1e9;
  auto after = counters_of(cluster);
  for (std::size_t i = 0; i < after.size(); ++i) {
    auto delta = [&](const char* key) -> std::int64_t {
      if (i >= before.size() || before[i].is_null() || after[i].is_null()) return 0;
      return after[i].at(key).get<std::int64_t>() - before[i].at(key).get<std::int64_t>();
    };
    r.cpu_seconds.push_back(static_cast<double>(delta("cpu_ns")) / 1e9);
    r.frames_sent.push_back(delta("frames_sent"));
    r.frames_received.push_back(delta("frames_received"));
    r.link_resets += delta("link_resets");
  }
  return r;
}

std::vector<Term> run_all(Cluster& cluster, const std::vector<Step>& steps, std::chrono::milliseconds timeout) {
  std::vector<std::int64_t> ids;
  for (const auto& s : steps) ids.push_back(cluster[s.node].send(s.cmd, s.args));
  std::vector<Term> out;
  for (std::size_t i = 0; i < steps.size(); ++i) out.push_back(cluster[steps[i].node].await(ids[i], timeout));
  return out;
}

}  // namespace syn::bench
