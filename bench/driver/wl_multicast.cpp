// Multicast workloads (SPEC 8): broadcast throughput to groups of 3 and 5 members on as many
// nodes, with small and 1 kB terms, and confirmed_broadcast latency one at a time.
#include "driver/wl_helpers.hpp"

namespace syn::bench {

namespace {

/// A cluster of `nodes` nodes, one process and one member of "g" on each, the view complete.
void one_member_per_node(Cluster& c, std::size_t nodes) {
  spawn_on(c, std::vector<std::size_t>(nodes, 1));
  // Joins one after the other: each joiner finds the group the earlier ones made.
  for (std::size_t i = 0; i < nodes; ++i) run_all(c, {{i, "mc_join", {{"proc", 0}}}});
  std::vector<Step> waits;
  for (std::size_t i = 0; i < nodes; ++i) waits.push_back({i, "mc_view_size", {{"proc", 0}, {"expected", nodes}}});
  run_all(c, waits);
}

RunOutput run_throughput(RunContext& ctx, std::size_t nodes, std::size_t size) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  auto n = ctx.n;
  std::vector<Step> watches;
  for (std::size_t i = 0; i < nodes; ++i) watches.push_back({i, "mc_count", {{"proc", 0}, {"expected", n}}});
  auto phase =
      run_phase(c, {{0, "mc_broadcast_many", {{"proc", 0}, {"count", n}, {"size", size}}}}, watches, ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("received", static_cast<double>(n), phase.seconds),
                 RunContext::rate("broadcast", static_cast<double>(n), phase.work_seconds()),
                 RunContext::cpu_per_op("cpu", phase.cpu_total(), static_cast<double>(n))};
  out.detail = {{"phase", phase.to_json()}};
  return out;
}

RunOutput run_confirmed(RunContext& ctx, std::size_t nodes) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  Term r = c[0].call("mc_confirmed_bench", {{"proc", 0}, {"iterations", ctx.n}}, ctx.timeout);
  const Term& lat = r.at("latency");
  RunOutput out;
  out.samples = {RunContext::nanos("median", lat.at("median_ns").get<double>()),
                 RunContext::nanos("p99", lat.at("p99_ns").get<double>())};
  out.detail = {{"latency", lat}};
  return out;
}

std::size_t stream_size(const Options& o) { return o.quick() ? 20000 : 200000; }
std::size_t confirmed_count(const Options& o) { return o.quick() ? 500 : 5000; }

}  // namespace

std::vector<Workload> multicast_workloads() {
  const char* every = "; until every member (one per node) received all of them";
  return {
      {"multicast_3", std::string("Membership::broadcast of integers by one member of a group of 3 on 3 nodes") + every,
       false, stream_size, [](RunContext& ctx) { return run_throughput(ctx, 3, 0); }, ""},
      {"multicast_5", std::string("the same with a group of 5 on 5 nodes") + every, false, stream_size,
       [](RunContext& ctx) { return run_throughput(ctx, 5, 0); }, ""},
      {"multicast_3_1k", std::string("the same as multicast_3 with 1 kB terms") + every, false,
       [](const Options& o) -> std::size_t { return o.quick() ? 5000 : 50000; },
       [](RunContext& ctx) { return run_throughput(ctx, 3, 1000); }, ""},
      {"confirmed_3",
       "confirmed_broadcast one at a time in a group of 3 on 3 nodes: latency until every member's "
       "on_message returned",
       false, confirmed_count, [](RunContext& ctx) { return run_confirmed(ctx, 3); }, ""},
      {"confirmed_5", "the same in a group of 5 on 5 nodes", false, confirmed_count,
       [](RunContext& ctx) { return run_confirmed(ctx, 5); }, ""},
  };
}

}  // namespace syn::bench
