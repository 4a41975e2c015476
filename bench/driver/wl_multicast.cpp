// Multicast workloads (SPEC 8): broadcast throughput to groups of 3 and 5 members on as many
// nodes (small and 1 kB terms, one or three publishers) beside Groups::publish of the same
// stream, confirmed_broadcast latency one at a time and its rate pipelined, join latency, and
// the time from a SIGKILL to every survivor's new view.
#include "driver/wl_helpers.hpp"

#include <algorithm>
#include <thread>

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

/// Throughput of `publishers` members (on nodes 1..publishers) each broadcasting its share of
/// ctx.n terms of `size` bytes, until every member received all ctx.n.
RunOutput run_throughput(RunContext& ctx, std::size_t nodes, std::size_t size, std::size_t publishers = 1) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  auto n = ctx.n;
  std::vector<Step> watches;
  for (std::size_t i = 0; i < nodes; ++i) watches.push_back({i, "mc_count", {{"proc", 0}, {"expected", n}}});
  std::vector<Step> work;
  auto shares = split(n, publishers);
  for (std::size_t i = 0; i < publishers; ++i) {
    work.push_back({i, "mc_broadcast_many", {{"proc", 0}, {"count", shares[i]}, {"size", size}}});
  }
  auto phase = run_phase(c, work, watches, ctx.timeout);
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
  return latency_output(r.at("latency"));
}

/// The same stream through Groups::publish (best effort, SPEC 6) to a group of one process
/// per node, each taking the messages from its mailbox: what the guarantee costs beside it.
RunOutput run_publish(RunContext& ctx, std::size_t nodes) {
  Cluster c(ctx.cluster, nodes);
  spawn_on(c, std::vector<std::size_t>(nodes, 1));
  std::vector<Step> joins;
  for (std::size_t i = 0; i < nodes; ++i)
    joins.push_back({i, "grp_join", {{"group", "pub"}, {"count", 1}, {"threads", 1}, {"mode", "sync"}}});
  run_phase(c, joins, watch_every(c, "member_count", static_cast<std::int64_t>(nodes), {{"group", "pub"}}),
            ctx.timeout);
  auto n = ctx.n;
  std::vector<Step> receivers;
  for (std::size_t i = 0; i < nodes; ++i) receivers.push_back({i, "consume", {{"count", 1}, {"expected", n}}});
  auto phase = run_phase(c, {{0, "publish_bench", {{"group", "pub"}, {"count", n}}}}, receivers, ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("received", static_cast<double>(n), phase.seconds),
                 RunContext::rate("publish", static_cast<double>(n), phase.work_seconds()),
                 RunContext::cpu_per_op("cpu", phase.cpu_total(), static_cast<double>(n))};
  out.detail = {{"phase", phase.to_json()}};
  return out;
}

/// confirmed_broadcast_async with 1000 outstanding in a group of `nodes`: confirmed per second.
RunOutput run_pipelined(RunContext& ctx, std::size_t nodes) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  auto n = ctx.n;
  std::vector<Step> watches;
  for (std::size_t i = 0; i < nodes; ++i) watches.push_back({i, "mc_count", {{"proc", 0}, {"expected", n}}});
  auto phase = run_phase(c, {{0, "mc_confirmed_pipelined", {{"proc", 0}, {"count", n}, {"window", 1000}}}}, watches,
                         ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("confirmed", static_cast<double>(n), phase.work_seconds())};
  out.detail = {{"phase", phase.to_json()}};
  return out;
}

/// A second process on n1 joins a group of `nodes` members at rest and leaves, ctx.n times.
RunOutput run_join(RunContext& ctx, std::size_t nodes) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  spawn_on(c, {1});  // process 1 on n1
  Term r = c[0].call("mc_join_bench", {{"proc", 1}, {"iterations", ctx.n}}, ctx.timeout);
  return latency_output(r.at("latency"));
}

/// A group of `nodes`, n1's member broadcasting 100k/s; the last node is SIGKILLed: until every
/// survivor's callback of the view without it ran.
RunOutput run_kill(RunContext& ctx, std::size_t nodes) {
  Cluster c(ctx.cluster, nodes);
  one_member_per_node(c, nodes);
  c[0].call("mc_broadcast_background", {{"proc", 0}, {"rate", 100000}});
  std::vector<std::pair<std::size_t, std::int64_t>> waits;
  for (std::size_t i = 0; i + 1 < nodes; ++i) {
    waits.emplace_back(
        i, c[i].send("mc_view_size", {{"proc", 0}, {"expected", nodes - 1}, {"timeout_ms", ctx.timeout.count()}}));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the load runs, the waits are in
  std::int64_t t_kill = c[nodes - 1].kill();
  std::int64_t last = t_kill;
  for (auto [node, id] : waits) {
    last = std::max(last, c[node].await(id, ctx.timeout + std::chrono::seconds(30)).at("t").get<std::int64_t>());
  }
  RunOutput out;
  out.samples = {RunContext::seconds("view", static_cast<double>(last - t_kill) / 1e9)};
  return out;
}

/// Memory per buffered message: a group of 3 on 3 nodes with n3 frozen (SIGSTOP: it
/// acknowledges nothing, so nothing becomes stable), n1's member broadcasts ctx.n terms of 64
/// bytes; once n2 received them all, the growth of n1's resident memory (the publisher keeps
/// each until every node has it) and of n2's (a member keeps other nodes' messages for a
/// flush) per message. Well within multicast_max_lag, then n3 thaws. Measured twice: resident
/// memory (what the machine gives the process, which keeps the highest it rose to: while the
/// caller outruns the engine, the outbox holds terms not yet published) and the heap in use
/// (what the process holds at the end: the buffered messages and what they cost).
RunOutput run_buffer_memory(RunContext& ctx) {
  Cluster c(ctx.cluster, 3);
  one_member_per_node(c, 3);
  auto rss = [&](std::size_t node) {
    return static_cast<double>(c[node].call("mc_rss").at("bytes").get<std::int64_t>());
  };
  auto heap = [&](std::size_t node) {
    return static_cast<double>(c[node].call("mc_heap").at("bytes").get<std::int64_t>());
  };
  // A warm-up stream first, so that the allocator's and the links' own growth is not counted.
  std::vector<Step> warmed;
  for (std::size_t i = 0; i < 3; ++i) warmed.push_back({i, "mc_count", {{"proc", 0}, {"expected", 1000}}});
  run_phase(c, {{0, "mc_broadcast_many", {{"proc", 0}, {"count", 1000}, {"size", 64}}}}, warmed, ctx.timeout);
  double publisher_before = rss(0), member_before = rss(1);
  double publisher_heap_before = heap(0), member_heap_before = heap(1);
  auto n = ctx.n;
  c[2].pause();  // (no run_phase from here: it would ask the frozen node for its counters)
  c[0].call("mc_broadcast_many", {{"proc", 0}, {"count", n}, {"size", 64}, {"prebuilt", false}}, ctx.timeout);
  c[1].call("mc_count", {{"proc", 0}, {"expected", n + 1000}, {"timeout_ms", ctx.timeout.count()}}, ctx.timeout);
  double publisher_after = rss(0), member_after = rss(1);
  double publisher_heap_after = heap(0), member_heap_after = heap(1);
  c[2].resume();
  auto per_message = [&](double before, double after) { return (after - before) / static_cast<double>(n); };
  RunOutput out;
  out.samples = {Sample{"publisher", per_message(publisher_before, publisher_after), "B", false},
                 Sample{"member", per_message(member_before, member_after), "B", false},
                 Sample{"publisher_heap", per_message(publisher_heap_before, publisher_heap_after), "B", false},
                 Sample{"member_heap", per_message(member_heap_before, member_heap_after), "B", false}};
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
      {"multicast_3_x3",
       std::string("3 members of a group of 3 on 3 nodes broadcast a third of the terms each") + every, false,
       stream_size, [](RunContext& ctx) { return run_throughput(ctx, 3, 0, 3); }, ""},
      {"publish_3",
       "beside multicast_3: Groups::publish of the same integers from n1 to a group of one process per node on 3 "
       "nodes, until every member took all of them from its mailbox (best effort, no guarantee)",
       false, stream_size, [](RunContext& ctx) { return run_publish(ctx, 3); }, ""},
      {"publish_5", "beside multicast_5: the same as publish_3 on 5 nodes", false, stream_size,
       [](RunContext& ctx) { return run_publish(ctx, 5); }, ""},
      {"confirmed_pipelined_3",
       "confirmed_broadcast_async with up to 1000 outstanding in a group of 3 on 3 nodes: confirmations per second",
       false, stream_size, [](RunContext& ctx) { return run_pipelined(ctx, 3); }, ""},
      {"mc_join_5", "Multicast::join of a second process on n1 into a group of 5 on 5 nodes at rest (then leave)",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 50 : 300; },
       [](RunContext& ctx) { return run_join(ctx, 5); }, ""},
      {"mc_kill_5",
       "a group of 5 on 5 nodes, n1's member broadcasting 100k/s; n5 is SIGKILLed: until every survivor's "
       "on_view without it ran",
       false, [](const Options&) -> std::size_t { return 1; }, [](RunContext& ctx) { return run_kill(ctx, 5); },
       "default NodeOptions (heartbeat 500 ms, peer_timeout 3 s): a SIGKILL is seen when the TCP link closes"},
      {"mc_memory_3",
       "memory per buffered message: a group of 3 on 3 nodes, n3 frozen so that nothing becomes stable, n1 "
       "broadcasts 64-byte terms; resident memory growth per message on the publisher's node and on a member's",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 20000 : 100000; },
       [](RunContext& ctx) { return run_buffer_memory(ctx); }, ""},
  };
}

}  // namespace syn::bench
