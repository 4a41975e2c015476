// Scale (issue 14): one scope, full mesh, 8 to 64 node processes on this machine. What a
// cluster of K nodes costs and how each cost grows with K: the mesh forming from one seed,
// names registered from every node until all agree, a node killed, a node joining, an eighth of
// the nodes killed at once, memory and CPU at rest per node, frames per write.
#include "driver/wl_helpers.hpp"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <thread>

namespace syn::bench {

namespace {

double median_of(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

std::size_t names_of(std::size_t nodes, const Options& options) {
  if (options.quick()) return 10000;
  return options.full() ? 1000000 : 100000 * std::max<std::size_t>(1, nodes / 64);
}

RunOutput run_scale(RunContext& ctx) {
  const std::size_t k = ctx.n;
  const std::size_t names = names_of(k, ctx.options);
  // A phase's bound is set by the node count (a minute); 1M names from 64 nodes on 2 cores
  // take longer than that: 200 us per name, as the other workloads allow for big sizes.
  const auto timeout = std::max(ctx.timeout, std::chrono::milliseconds(names / 5));
  RunOutput out;

  auto t0 = std::chrono::steady_clock::now();
  Cluster c(ctx.cluster, k);  // k processes started, n2..nk seeded with n1 only, meshed
  double mesh = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  auto at_rest = cpu_percent(c, std::chrono::seconds(ctx.options.quick() ? 2 : 4));

  // Names from every node at once, each node for its own processes.
  auto shares = split(names, k);
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  auto n = static_cast<std::int64_t>(names);
  auto reg = run_phase(c, on_writers(shares, "reg_register", {{"set", "reg"}, {"mode", "async"}}),
                       watch_every(c, "reg_count", n), timeout);
  double frames = std::accumulate(reg.frames_sent.begin(), reg.frames_sent.end(), 0.0);

  std::vector<double> rss, fds;
  for (std::size_t i = 0; i < c.size(); ++i) {
    Term m = c[i].call("malloc_stats");
    rss.push_back(m.at("rss").get<double>());
    fds.push_back(m.at("fds").get<double>());
  }

  // The last node dies: every other purges its names.
  const std::size_t victim = k - 1;
  auto left = n - static_cast<std::int64_t>(shares[victim]);
  std::vector<Step> watches;
  for (std::size_t i = 0; i + 1 < k; ++i) watches.push_back(watch_step(i, "reg_count", left));
  std::int64_t killed_at = c[victim].kill();
  // Measured from the kill to the moment the last survivor's count was seen (the watches start
  // just after the kill: an upper bound).
  auto purge = run_phase(c, {}, watches, timeout);
  double purged = static_cast<double>(purge.last_seen - killed_at) / 1e9;

  // A new node dials n1 and receives the whole scope.
  c.add_unconnected();
  auto join = run_phase(c, {{c.size() - 1, "connect", {{"endpoint", c[0].endpoint()}}}},
                        {watch_step(c.size() - 1, "reg_count", left)}, timeout);

  // An eighth of the nodes (8 of 64) die at once: every other purges all their names. The
  // victims are the last nodes before the first victim, never n1 nor the joiner.
  const std::size_t eighth = std::max<std::size_t>(1, k / 8);
  std::vector<bool> dead(c.size(), false);
  dead[victim] = true;
  for (std::size_t i = victim - eighth; i < victim; ++i) {
    dead[i] = true;
    left -= static_cast<std::int64_t>(shares[i]);
  }
  std::vector<Step> eighth_watches;
  for (std::size_t i = 0; i < c.size(); ++i) {
    if (!dead[i]) eighth_watches.push_back(watch_step(i, "reg_count", left));
  }
  std::int64_t first_killed_at = c[victim - eighth].begin_kill();
  for (std::size_t i = victim - eighth + 1; i < victim; ++i) c[i].begin_kill();
  for (std::size_t i = victim - eighth; i < victim; ++i) c[i].kill();  // reaps
  auto purge_eighth = run_phase(c, {}, eighth_watches, timeout);
  double purged_eighth = static_cast<double>(purge_eighth.last_seen - first_killed_at) / 1e9;

  out.samples = {RunContext::seconds("mesh", mesh),
                 RunContext::seconds("register_all", reg.seconds),
                 RunContext::seconds("purge_after_kill", purged),
                 RunContext::seconds("join_sync", join.seconds),
                 RunContext::seconds("purge_after_kill_eighth", purged_eighth),
                 Sample{"frames_per_write", frames / static_cast<double>(names), "x", false},
                 Sample{"rss_per_node", median_of(rss), "B", false},
                 Sample{"fds_per_node", median_of(fds), "x", false},
                 Sample{"idle_cpu_per_node", median_of(at_rest), "%", false}};
  out.detail = {
      {"nodes", k},          {"names", names},      {"register", reg.to_json()},           {"join", join.to_json()},
      {"rss_per_node", rss}, {"fds_per_node", fds}, {"idle_cpu_percent_per_node", at_rest}};
  return out;
}

Workload scale_workload(std::size_t nodes) {
  return {"scale_" + std::to_string(nodes),
          "one scope, full mesh of " + std::to_string(nodes) +
              " node processes: the mesh forming from one seed, names registered from every node until all "
              "agree (100k; 1M with --full), a node SIGKILLed until the others purged its names, a new node "
              "joining until it holds them all, an eighth of the nodes SIGKILLed at once until the others purged "
              "their names; memory, CPU at rest and frames per write",
          false,
          [nodes](const Options&) { return nodes; },
          run_scale,
          "the size in brackets is the node count; 10k names with --quick; runs only when named with --only",
          true};
}

}  // namespace

std::vector<Workload> scale_workloads() {
  return {scale_workload(8), scale_workload(16), scale_workload(32), scale_workload(64)};
}

}  // namespace syn::bench
