// Messaging workloads: the foundation under everything (one-way stream, ping-pong).
#include "driver/wl_helpers.hpp"

#include <stdexcept>

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
  };
}

}  // namespace syn::bench
