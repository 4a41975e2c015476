// The lookup workload: Registry::lookup latency on a replica and on the owner, hit and miss,
// one and two threads, a 1M-name table in random order, and a bare hash map as calibration.
#include "driver/wl_helpers.hpp"

#include <algorithm>
#include <stdexcept>

namespace syn::bench {

namespace {

double mean(const Term& values) {
  double sum = 0;
  for (const auto& v : values) sum += v.get<double>();
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

// Wall-clock and thread-CPU nanoseconds per lookup (means over the threads).
struct PerOp {
  double wall = 0;
  double cpu = 0;
};

// Runs lookup_bench on `node` and checks every lookup hit (or missed).
PerOp lookups(NodeProcess& node, const std::string& set, std::size_t threads, std::size_t passes, std::size_t size,
              bool hit, RunContext& ctx, Term& detail, const std::string& key) {
  Term r = node.call("lookup_bench", {{"set", set}, {"threads", threads}, {"passes", passes}}, ctx.timeout);
  std::size_t expected = hit ? passes * size : 0;
  for (const auto& h : r.at("hits")) {
    if (h.get<std::size_t>() != expected) {
      throw std::runtime_error(key + ": " + std::to_string(h.get<std::size_t>()) + " hits, expected " +
                               std::to_string(expected));
    }
  }
  detail[key] = r;
  return PerOp{mean(r.at("ns_per_op")), mean(r.at("cpu_ns_per_op"))};
}

// The same loop on a bare absl::flat_hash_map in the same process, for calibration.
PerOp bare_lookups(NodeProcess& node, std::size_t size, std::size_t passes, bool shuffle, RunContext& ctx, Term& detail,
                   const std::string& key) {
  Term args{{"count", size}, {"passes", passes}};
  if (shuffle) args["shuffle_seed"] = 42;
  Term r = node.call("hash_bench", args, ctx.timeout);
  detail[key] = r;
  return PerOp{r.at("ns_per_op").get<double>(), r.at("cpu_ns_per_op").get<double>()};
}

RunOutput run_lookup(RunContext& ctx) {
  const std::size_t n = ctx.n;
  const std::size_t big = ctx.options.quick() ? 100000 : 1000000;
  const std::size_t budget = ctx.options.quick() ? 500000 : 2000000;  // lookups per measurement
  Cluster c(ctx.cluster, 2);
  spawn_on(c, {n, 0});
  run_all(c, {{0, "names", {{"set", "hit"}, {"prefix", "name:"}, {"count", n}}},
              {1, "names", {{"set", "hit"}, {"prefix", "name:"}, {"count", n}}},
              {1, "names", {{"set", "miss"}, {"prefix", "absent:"}, {"count", n}}}});
  run_phase(c, {{0, "reg_register", {{"set", "hit"}, {"mode", "async"}}}},
            {watch_step(1, "reg_count", static_cast<std::int64_t>(n))}, ctx.timeout);
  RunOutput out;
  std::size_t passes = std::max<std::size_t>(1, budget / n);
  PerOp hit = lookups(c[1], "hit", 1, passes, n, true, ctx, out.detail, "hit_replica");
  PerOp owner = lookups(c[0], "hit", 1, passes, n, true, ctx, out.detail, "hit_owner");
  PerOp miss = lookups(c[1], "miss", 1, passes, n, false, ctx, out.detail, "miss");
  PerOp hit2 = lookups(c[1], "hit", 2, passes, n, true, ctx, out.detail, "hit_replica_2t");
  PerOp bare = bare_lookups(c[1], n, passes, false, ctx, out.detail, "bare_hash");

  // A big table looked up in random order: `big` more names on n1's processes (a process holds
  // many names), read on n2 from a shuffled copy of the names.
  run_all(c,
          {{0, "names", {{"set", "big"}, {"prefix", "big:"}, {"count", big}}},
           {1, "names", {{"set", "big_random"}, {"prefix", "big:"}, {"count", big}, {"shuffle_seed", 42}}}},
          std::chrono::minutes(5));
  run_phase(c, {{0, "reg_register", {{"set", "big"}, {"mode", "async"}, {"procs_cycle", n}}}},
            {watch_step(1, "reg_count", static_cast<std::int64_t>(n + big))}, ctx.timeout);
  std::size_t big_passes = std::max<std::size_t>(1, budget / big);
  PerOp random = lookups(c[1], "big_random", 1, big_passes, big, true, ctx, out.detail, "hit_random");
  PerOp bare_random = bare_lookups(c[1], big, big_passes, true, ctx, out.detail, "bare_random");
  std::string big_label = short_count(big);
  out.samples = {RunContext::nanos("hit_replica", hit.wall),
                 RunContext::nanos("hit_replica_cpu", hit.cpu),
                 RunContext::nanos("hit_owner", owner.wall),
                 RunContext::nanos("miss", miss.wall),
                 RunContext::nanos("hit_replica_2t", hit2.wall),
                 Sample{"scaling_2t", 2 * hit.wall / hit2.wall, "x", true},
                 Sample{"scaling_2t_cpu", 2 * hit.cpu / hit2.cpu, "x", true},
                 RunContext::nanos("bare_hash", bare.wall),
                 RunContext::nanos("hit_random_" + big_label, random.wall),
                 RunContext::nanos("hit_random_" + big_label + "_cpu", random.cpu),
                 RunContext::nanos("bare_random_" + big_label, bare_random.wall)};
  return out;
}

}  // namespace

std::vector<Workload> lookup_workloads() {
  auto lookup_size = [](const Options& o) -> std::size_t { return o.quick() ? 10000 : 100000; };
  return {
      {"lookup",
       "Registry::lookup on a replica (n2) holding names registered on n1: hit / miss looked up in turn from 1 "
       "thread, hit from 2 threads at once, hit on the owner, and hit on a 1M-name table in random order; "
       "_cpu: thread CPU time per lookup; bare_*: the same loop on a bare absl::flat_hash_map (calibration)",
       false, lookup_size, run_lookup,
       "2 nodes as OS processes; the big table's names belong to n1's processes (several names each)"},
  };
}

}  // namespace syn::bench
