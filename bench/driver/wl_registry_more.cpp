// Registry workloads about state rather than throughput: memory per entry, a node joining a
// populated scope, and a node killed with SIGKILL.
#include "common/clock.hpp"
#include "driver/wl_helpers.hpp"

#include <algorithm>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

RunOutput run_memory(RunContext& ctx) {
  const std::size_t n = ctx.n;
  Cluster c(ctx.cluster, 2);
  std::int64_t owner_empty = heap_in_use(c[0]);
  spawn_on(c, {n, 0});
  std::int64_t owner_spawned = heap_in_use(c[0]);
  run_all(c, {{0, "names", {{"set", "dev"}, {"prefix", "device:"}, {"count", n}}}});
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::int64_t owner_before = heap_in_use(c[0]);
  std::int64_t replica_before = heap_in_use(c[1]);
  auto reg = run_phase(c, {{0, "reg_register", {{"set", "dev"}, {"mode", "async"}}}},
                       {watch_step(1, "reg_count", static_cast<std::int64_t>(n))}, ctx.timeout);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // let transient buffers go
  std::int64_t owner_after = heap_in_use(c[0]);
  std::int64_t replica_after = heap_in_use(c[1]);
  auto per = [n](std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) / static_cast<double>(n); };
  RunOutput out;
  out.samples = {Sample{"replica", per(replica_before, replica_after), "B", false},
                 Sample{"owner", per(owner_before, owner_after), "B", false},
                 Sample{"process", per(owner_empty, owner_spawned), "B", false}};
  out.detail = {{"in_use",
                 {{"owner_empty", owner_empty},
                  {"owner_spawned", owner_spawned},
                  {"owner_before", owner_before},
                  {"owner_after", owner_after},
                  {"replica_before", replica_before},
                  {"replica_after", replica_after}}},
                {"register", reg.to_json()}};
  return out;
}

RunOutput run_join_sync(RunContext& ctx) {
  Cluster c(ctx.cluster, 2);
  auto shares = split(ctx.n, 2);
  auto n = static_cast<std::int64_t>(ctx.n);
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  run_phase(c, on_writers(shares, "reg_register", {{"set", "reg"}, {"mode", "async"}}), watch_every(c, "reg_count", n),
            ctx.timeout);
  c.add_unconnected();
  auto join =
      run_phase(c, {{2, "connect", {{"endpoint", c[0].endpoint()}}}}, {watch_step(2, "reg_count", n)}, ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::seconds("join_sync", join.seconds)};
  out.detail = {{"join", join.to_json()}};
  return out;
}

RunOutput run_kill_node(RunContext& ctx) {
  Cluster c(ctx.cluster, 3);
  auto n = static_cast<std::int64_t>(ctx.n);
  spawn_on(c, {ctx.n, 0, 0});
  names_on(c, {ctx.n, 0, 0}, "reg", "");
  run_phase(c, {{0, "reg_register", {{"set", "reg"}, {"mode", "async"}}}}, watch_every(c, "reg_count", n), ctx.timeout);
  // Watch on the survivors, then SIGKILL n1 from here.
  std::vector<std::pair<std::size_t, std::int64_t>> purge, detect;
  for (std::size_t i = 1; i < 3; ++i) {
    purge.emplace_back(
        i, c[i].send("watch",
                     {{"what", "reg_count_node"}, {"node", "n1"}, {"target", 0}, {"timeout_ms", ctx.timeout.count()}}));
    detect.emplace_back(
        i, c[i].send("watch",
                     {{"what", "connected"}, {"node", "n1"}, {"target", 0}, {"timeout_ms", ctx.timeout.count()}}));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  std::int64_t t_kill = c[0].kill();
  auto last = [&](const std::vector<std::pair<std::size_t, std::int64_t>>& ids) {
    std::int64_t t = t_kill;
    for (auto [node, id] : ids) {
      t = std::max(t, c[node].await(id, ctx.timeout + std::chrono::seconds(30)).at("t").get<std::int64_t>());
    }
    return static_cast<double>(t - t_kill) / 1e9;
  };
  double detected = last(detect);
  double purged = last(purge);
  RunOutput out;
  out.samples = {RunContext::seconds("purge", purged), RunContext::seconds("detect", detected)};
  return out;
}

}  // namespace

std::vector<Workload> registry_more_workloads() {
  auto kill_size = [](const Options& o) -> std::size_t { return o.quick() ? 10000 : 100000; };
  return {
      {"memory_per_entry",
       "heap bytes per registry entry (names \"device:<i>\", null meta) by mallinfo2 deltas: on the replica n2, "
       "on the owner n1 (with its process bookkeeping), and per spawned process",
       true, nullptr, run_memory, "glibc mallinfo2: uordblks + hblkhd, every arena; measured 1 s after convergence"},
      {"join_sync", "a new node connects to a cluster of 2 holding N names: from its connect until it holds all N",
       true, nullptr, run_join_sync, ""},
      {"kill_node",
       "n1 holding 100k names is killed with SIGKILL: until both survivors hold none of its names (purge) and "
       "see it down (detect)",
       false, kill_size, run_kill_node, "default NodeOptions (heartbeat 500 ms, peer_timeout 3 s)"},
  };
}

}  // namespace syn::bench
