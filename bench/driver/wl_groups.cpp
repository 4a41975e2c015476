// Groups workloads: syn's group phases (join, leave, rejoin, kill), 100k processes into one
// group, members() latency, publish fan-out, and multi_call.
#include "driver/wl_helpers.hpp"

#include <chrono>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

constexpr std::size_t kNodes = 3;

RunOutput run_group_join(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  auto half = split(ctx.n, 2);
  std::vector<std::size_t> shares{half[0], half[1], 0};
  spawn_on(c, shares);
  auto n = static_cast<std::int64_t>(ctx.n);
  Term g{{"group", "g"}};
  Term sync{{"group", "g"}, {"threads", ctx.options.workers}, {"mode", "sync"}};
  auto join = run_phase(c, on_writers(shares, "grp_join", sync), watch_every(c, "member_count", n, g), ctx.timeout);
  auto leave = run_phase(c, on_writers(shares, "grp_leave", sync), watch_every(c, "member_count", 0, g), ctx.timeout);
  auto rejoin = run_phase(c, on_writers(shares, "grp_join", sync), watch_every(c, "member_count", n, g), ctx.timeout);
  auto kill =
      run_phase(c, on_writers(shares, "kill_procs", Term::object()), watch_every(c, "member_count", 0, g), ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("join", ctx.n, join.seconds), RunContext::rate("leave", ctx.n, leave.seconds),
                 RunContext::rate("rejoin", ctx.n, rejoin.seconds), RunContext::seconds("kill", kill.seconds),
                 RunContext::cpu_per_op("join_cpu", join.cpu_total(), ctx.n)};
  out.detail = {
      {"join", join.to_json()}, {"leave", leave.to_json()}, {"rejoin", rejoin.to_json()}, {"kill", kill.to_json()}};
  return out;
}

// Heap bytes per member: n processes of n1 join one group; measured on n1 (the owner, with its
// monitor of each process) and on n2 (a replica), a second after all 3 nodes hold them.
RunOutput run_memory_per_member(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  std::vector<std::size_t> shares{ctx.n, 0, 0};
  spawn_on(c, shares);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::int64_t owner_before = heap_in_use(c[0]);
  std::int64_t replica_before = heap_in_use(c[1]);
  auto join =
      run_phase(c, on_writers(shares, "grp_join", {{"group", "g"}, {"threads", 1}, {"mode", "async"}}),
                watch_every(c, "member_count", static_cast<std::int64_t>(ctx.n), {{"group", "g"}}), ctx.timeout);
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));  // let transient buffers go
  std::int64_t owner_after = heap_in_use(c[0]);
  std::int64_t replica_after = heap_in_use(c[1]);
  auto per = [&](std::int64_t a, std::int64_t b) { return static_cast<double>(b - a) / static_cast<double>(ctx.n); };
  RunOutput out;
  out.samples = {Sample{"replica", per(replica_before, replica_after), "B", false},
                 Sample{"owner", per(owner_before, owner_after), "B", false}};
  out.detail = {{"in_use",
                 {{"owner_before", owner_before},
                  {"owner_after", owner_after},
                  {"replica_before", replica_before},
                  {"replica_after", replica_after}}},
                {"join", join.to_json()}};
  return out;
}

// `mode`: "sync" (one call per pid) or "list" (Groups::join of lists of 1000 pids).
RunOutput run_group_join_one(RunContext& ctx, const std::string& mode) {
  Cluster c(ctx.cluster, kNodes);
  std::vector<std::size_t> shares{ctx.n, 0, 0};
  spawn_on(c, shares);
  Term g{{"group", "big"}};
  auto join =
      run_phase(c, on_writers(shares, "grp_join", {{"group", "big"}, {"threads", 1}, {"mode", mode}, {"list", 1000}}),
                watch_every(c, "member_count", static_cast<std::int64_t>(ctx.n), g), ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::seconds("all_nodes", join.seconds), RunContext::seconds("on_node", join.work_seconds()),
                 RunContext::seconds("caller_cpu", join.work.at(0).at("caller_cpu_ns").get<double>() / 1e9),
                 RunContext::cpu_per_op("join_cpu", join.cpu_total(), ctx.n)};
  out.detail = {{"join", join.to_json()}};
  return out;
}

// A group of `size` members spread over the 3 nodes, each node joining its own processes.
void spread_group(Cluster& c, RunContext& ctx, const std::string& group, std::size_t size) {
  auto shares = split(size, kNodes);
  spawn_on(c, shares);
  run_phase(c, on_writers(shares, "grp_join", {{"group", group}, {"threads", 1}, {"mode", "sync"}}),
            watch_every(c, "member_count", static_cast<std::int64_t>(size), {{"group", group}}), ctx.timeout);
}

RunOutput run_members(RunContext& ctx, std::size_t size) {
  Cluster c(ctx.cluster, kNodes);
  spread_group(c, ctx, "g", size);
  std::size_t iterations = (size <= 10 ? 200000 : 5000) / (ctx.options.quick() ? 10 : 1);
  Term r = c[0].call("members_bench", {{"group", "g"}, {"iterations", iterations}}, ctx.timeout);
  if (r.at("size").get<std::size_t>() != size || !r.at("consistent").get<bool>()) {
    throw std::runtime_error("members returned " + r.dump());
  }
  RunOutput out;
  out.samples = {RunContext::nanos("members", r.at("ns_per_call").get<double>()),
                 RunContext::nanos("members_cpu", r.at("cpu_ns_per_call").get<double>())};
  out.detail = {{"bench", r}};
  return out;
}

RunOutput run_publish(RunContext& ctx) {
  const std::size_t size = ctx.n;
  const std::size_t messages = ctx.options.quick() ? 100 : 1000;
  Cluster c(ctx.cluster, kNodes);
  spread_group(c, ctx, "pub", size);
  auto shares = split(size, kNodes);
  std::vector<Step> receivers;
  for (std::size_t i = 0; i < kNodes; ++i) {
    receivers.push_back({i, "consume", {{"offset", 0}, {"count", shares[i]}, {"expected", shares[i] * messages}}});
  }
  auto pub = run_phase(c, {{0, "publish_bench", {{"group", "pub"}, {"count", messages}}}}, receivers, ctx.timeout);
  auto recipients = pub.work.at(0).at("recipients").get<std::size_t>();
  if (recipients != size * messages) throw std::runtime_error("publish reached " + std::to_string(recipients));
  RunOutput out;
  out.samples = {RunContext::rate("deliveries", static_cast<double>(size * messages), pub.seconds),
                 RunContext::rate("publish_calls", static_cast<double>(messages), pub.work_seconds()),
                 // The three nodes' CPU per delivery: on 2 cores the rate also moves with how
                 // the nodes' threads share them; this does not (the consumers' sweeps count).
                 RunContext::cpu_per_op("cpu", pub.cpu_total(), static_cast<double>(size * messages))};
  out.detail = {{"publish", pub.to_json()}, {"messages", messages}};
  return out;
}

RunOutput run_multi_call(RunContext& ctx) {
  const std::size_t size = ctx.n;
  const std::size_t iterations = ctx.options.quick() ? 50 : 300;
  Cluster c(ctx.cluster, kNodes);
  spread_group(c, ctx, "mc", size);
  auto shares = split(size, kNodes);
  std::vector<Step> start;
  for (std::size_t i = 0; i < kNodes; ++i) start.push_back({i, "responders", {{"offset", 0}, {"count", shares[i]}}});
  run_all(c, start);
  Term r = c[0].call("multi_call_bench", {{"group", "mc"}, {"iterations", iterations}, {"expect", size}}, ctx.timeout);
  if (r.at("incomplete").get<std::size_t>() > 0) {
    throw std::runtime_error(std::to_string(r.at("incomplete").get<std::size_t>()) + " multi_calls lacked replies");
  }
  return latency_output(r.at("latency"));
}

// Issue 14: multi_call to one member on another node: the request and the reply, each a
// message between two nodes; its floor is ping_pong.
RunOutput run_multi_call_remote(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  const std::vector<std::size_t> shares{0, 1, 0};
  spawn_on(c, shares);
  run_phase(c, on_writers(shares, "grp_join", {{"group", "one"}, {"threads", 1}, {"mode", "sync"}}),
            watch_every(c, "member_count", 1, {{"group", "one"}}), ctx.timeout);
  run_all(c, {{1, "responders", {{"offset", 0}, {"count", 1}}}});
  Term r = c[0].call("multi_call_bench", {{"group", "one"}, {"iterations", ctx.n}, {"expect", 1}}, ctx.timeout);
  if (r.at("incomplete").get<std::size_t>() > 0) {
    throw std::runtime_error(std::to_string(r.at("incomplete").get<std::size_t>()) + " multi_calls lacked the reply");
  }
  return latency_output(r.at("latency"));
}

}  // namespace

std::vector<Workload> groups_workloads() {
  auto fixed = [](std::size_t quick, std::size_t normal) {
    return [quick, normal](const Options& o) { return o.quick() ? quick : normal; };
  };
  auto always = [](std::size_t n) { return [n](const Options&) { return n; }; };
  return {
      {"group_join",
       "syn's group phases: N processes of 2 writers x W callers join ONE group, then leave, rejoin, and are "
       "killed; each phase until all 3 nodes agree on member_count",
       true, nullptr, run_group_join, ""},
      {"group_join_one_100k",
       "one caller on n1 joins 100k local processes into one group, one synchronous call at a time: until all 3 "
       "nodes hold them (all_nodes) and until the caller is done (on_node)",
       false, fixed(10000, 100000), [](RunContext& ctx) { return run_group_join_one(ctx, "sync"); }, ""},
      {"group_join_one_100k_lists",
       "as group_join_one_100k, the same 100k processes joined as lists of 1000 (Groups::join of a list: one "
       "replicated change and one event per list)",
       false, fixed(10000, 100000), [](RunContext& ctx) { return run_group_join_one(ctx, "list"); },
       "100 calls of 1000 pids (10 with --quick)"},
      {"memory_per_member",
       "heap bytes per group member (N processes of n1 in one group) by mallinfo2 deltas: on the replica n2, and on "
       "the owner n1 (with its monitor of each process)",
       true, nullptr, run_memory_per_member, "glibc mallinfo2: uordblks + hblkhd, every arena; 1 s after convergence"},
      {"members_10", "Groups::members on n1 for a group of 10 spread over the 3 nodes", false, always(10),
       [](RunContext& ctx) { return run_members(ctx, 10); }, ""},
      {"members_1000", "Groups::members on n1 for a group of 1000 spread over the 3 nodes", false, always(1000),
       [](RunContext& ctx) { return run_members(ctx, 1000); }, ""},
      {"publish_1000",
       "n1 publishes small messages to a group of 1000 spread over the 3 nodes; deliveries/s counted by one "
       "receiver thread per node until every message arrived",
       false, always(1000), run_publish, "1000 messages (100 with --quick)"},
      {"multi_call_100",
       "multi_call from n1 to a group of 100 members (over 3 nodes) that reply at once: latency per call", false,
       always(100), run_multi_call, "each member has a thread blocked in receive()"},
      {"multi_call_remote",
       "multi_call from n1 to a group of one member on n2 that replies at once: latency per call (N calls); "
       "its floor is ping_pong",
       false, fixed(200, 2000), run_multi_call_remote, "the member has a thread blocked in receive()"},
  };
}

}  // namespace syn::bench
