#pragma once
/// \file
/// Small building blocks shared by the workload files.

#include "driver/phase.hpp"
#include "driver/workload.hpp"

#include <chrono>
#include <cstddef>
#include <string>
#include <thread>
#include <vector>

namespace syn::bench {

/// Heap bytes in use on a node (glibc mallinfo2: every arena, mmapped blocks included).
inline std::int64_t heap_in_use(NodeProcess& node) {
  return node.call("malloc_stats").at("in_use").get<std::int64_t>();
}

/// CPU of every running node over `window` (the whole node process), in percent of one core.
inline std::vector<double> cpu_percent(Cluster& c, std::chrono::milliseconds window) {
  auto cpu_now = [&] {
    std::vector<double> ns;
    for (std::size_t i = 0; i < c.size(); ++i) {
      ns.push_back(c[i].running() ? c[i].call("cpu").at("cpu_ns").get<double>() : 0.0);
    }
    return ns;
  };
  auto before = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  auto after = cpu_now();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> percent;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (c[i].running()) percent.push_back((after[i] - before[i]) / 1e9 / seconds * 100);
  }
  return percent;
}

/// `n` split into `parts` near-equal shares (the first ones take the remainder).
inline std::vector<std::size_t> split(std::size_t n, std::size_t parts) {
  std::vector<std::size_t> out(parts, n / parts);
  for (std::size_t i = 0; i < n % parts; ++i) ++out[i];
  return out;
}

/// Spawns shares[i] processes on node i (untimed).
inline void spawn_on(Cluster& c, const std::vector<std::size_t>& shares) {
  std::vector<Step> steps;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i] > 0) steps.push_back({i, "spawn", {{"count", shares[i]}}});
  }
  run_all(c, steps, std::chrono::minutes(5));
}

/// Builds the name set `set` on node i: prefix + "n<i+1>:" + k for k < shares[i] (untimed).
inline void names_on(Cluster& c, const std::vector<std::size_t>& shares, const std::string& set,
                     const std::string& prefix) {
  std::vector<Step> steps;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i] == 0) continue;
    steps.push_back(
        {i, "names", {{"set", set}, {"prefix", prefix + "n" + std::to_string(i + 1) + ":"}, {"count", shares[i]}}});
  }
  run_all(c, steps, std::chrono::minutes(5));
}

/// The same watch on every node of the cluster.
inline std::vector<Step> watch_every(Cluster& c, const std::string& what, std::int64_t target,
                                     const Term& extra = Term::object()) {
  std::vector<Step> out;
  for (std::size_t i = 0; i < c.size(); ++i) out.push_back(watch_step(i, what, target, extra));
  return out;
}

/// The same command on every node with a non-zero share, with "count" = its share.
inline std::vector<Step> on_writers(const std::vector<std::size_t>& shares, const std::string& cmd, const Term& args) {
  std::vector<Step> out;
  for (std::size_t i = 0; i < shares.size(); ++i) {
    if (shares[i] == 0) continue;
    Term a = args;
    a["count"] = shares[i];
    out.push_back({i, cmd, a});
  }
  return out;
}

/// A workload's output from a node's latency summary (latency_json): its median and p99 as
/// samples, the whole summary as detail.
inline RunOutput latency_output(const Term& lat) {
  RunOutput out;
  out.samples = {RunContext::nanos("median", lat.at("median_ns").get<double>()),
                 RunContext::nanos("p99", lat.at("p99_ns").get<double>())};
  out.detail = {{"latency", lat}};
  return out;
}

}  // namespace syn::bench
