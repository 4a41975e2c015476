// Messaging workloads: the foundation under everything (one-way stream, ping-pong).
#include "driver/wl_helpers.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

namespace syn::bench {

namespace {

std::string pid_of(NodeProcess& node, std::size_t index) {
  return node.call("pids", {{"offset", index}, {"count", 1}}).at("pids").at(0).get<std::string>();
}

RunOutput run_one_way(RunContext& ctx) {
  Cluster c(ctx.cluster, 2);
  spawn_on(c, {1, 1});
  std::string to = pid_of(c[1], 0);
  auto n = ctx.n;
  auto phase = run_phase(c, {{0, "send_many", {{"to", to}, {"count", n}}}},
                         {{1, "count_recv", {{"proc", 0}, {"expected", n}}}}, ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("received", static_cast<double>(n), phase.seconds),
                 RunContext::rate("sent", static_cast<double>(n), phase.work_seconds())};
  out.detail = {{"phase", phase.to_json()}, {"out_of_order", phase.watches.at(0).at("out_of_order")}};
  if (phase.watches.at(0).at("out_of_order").get<std::size_t>() > 0) {
    throw std::runtime_error("messages arrived out of order: " + phase.watches.at(0).dump());
  }
  return out;
}

RunOutput run_ping_pong(RunContext& ctx) {
  Cluster c(ctx.cluster, 2);
  spawn_on(c, {1, 1});
  std::string a = pid_of(c[0], 0);
  std::string b = pid_of(c[1], 0);
  c[1].call("echo", {{"proc", 0}, {"reply_to", a}});
  Term r = c[0].call("ping_bench", {{"proc", 0}, {"to", b}, {"iterations", ctx.n}}, ctx.timeout);
  RunOutput out = latency_output(r.at("latency"));
  out.detail["lost"] = r.at("lost");
  return out;
}

// The floor of ping_pong, in the same run: bare ZeroMQ REQ/REP between the same two processes.
RunOutput run_ping_pong_zmq(RunContext& ctx) {
  Cluster c(ctx.cluster, 2);
  auto endpoint = c[1].call("zmq_echo").at("endpoint").get<std::string>();
  Term r = c[0].call("zmq_ping", {{"endpoint", endpoint}, {"iterations", ctx.n}}, ctx.timeout);
  return latency_output(r.at("latency"));
}

// A node at rest: what heartbeats and the node's threads cost while nothing happens (issue 14
// asks for it beside the latency: no spinning may buy latency with an idle core).
RunOutput run_idle_cpu(RunContext& ctx) {
  Cluster c(ctx.cluster, ctx.n);
  const auto settle = std::chrono::seconds(1);
  const auto window = std::chrono::seconds(ctx.options.quick() ? 3 : 10);
  std::this_thread::sleep_for(settle);  // the mesh's first syncs are over
  auto cpu_now = [&] {
    std::vector<double> ns;
    for (std::size_t i = 0; i < c.size(); ++i) ns.push_back(c[i].call("cpu").at("cpu_ns").get<double>());
    return ns;
  };
  auto before = cpu_now();
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(window);
  auto after = cpu_now();
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> percent;
  for (std::size_t i = 0; i < c.size(); ++i) percent.push_back((after[i] - before[i]) / 1e9 / seconds * 100);
  std::sort(percent.begin(), percent.end());
  RunOutput out;
  out.samples = {Sample{"cpu_median", percent[percent.size() / 2], "%", false},
                 Sample{"cpu_max", percent.back(), "%", false}};
  out.detail = {{"percent_per_node", percent}, {"seconds", seconds}};
  return out;
}

}  // namespace

std::vector<Workload> messaging_workloads() {
  return {
      {"messages_one_way",
       "Node::send of small messages (integers) from n1 to a process on n2, as fast as the API takes them; "
       "counted by a receiver thread on n2 until all arrived (in order)",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 100000 : 1000000; }, run_one_way, ""},
      {"ping_pong", "round trip: a process on n1 sends to a process on n2 that sends it back; latency per round trip",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 1000 : 10000; }, run_ping_pong, ""},
      {"ping_pong_zmq",
       "the floor of ping_pong, measured in the same run: bare ZeroMQ REQ/REP (8-byte messages) between the same "
       "two node processes over TCP on 127.0.0.1, without syn",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 1000 : 10000; }, run_ping_pong_zmq,
       "100 round trips of warm-up first"},
      {"idle_cpu",
       "CPU of each node at rest (a meshed cluster, no traffic but heartbeats), in % of one core over 10 s "
       "(3 s in quick mode), after 1 s of settling; the median and the highest node",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 3 : 8; }, run_idle_cpu,
       "the CPU of the whole node process, the bench's command loop included"},
  };
}

}  // namespace syn::bench
