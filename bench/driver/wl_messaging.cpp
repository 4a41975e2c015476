// Messaging workloads: the foundation under everything (one-way stream, ping-pong).
#include "driver/wl_helpers.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
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

// The floor of messages_one_way, in the same run: bare ZeroMQ PUSH/PULL between the same two
// processes, timed the same way (from start_at until the receiver took the last one).
RunOutput run_one_way_zmq(RunContext& ctx) {
  Cluster c(ctx.cluster, 2);
  auto n = ctx.n;
  auto endpoint = c[1].call("zmq_sink", {{"expected", n}}).at("endpoint").get<std::string>();
  auto phase = run_phase(c, {{0, "zmq_push_many", {{"endpoint", endpoint}, {"count", n}}}},
                         {{1, "zmq_sink_wait", Term::object()}}, ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("received", static_cast<double>(n), phase.seconds),
                 RunContext::rate("sent", static_cast<double>(n), phase.work_seconds())};
  out.detail = {{"phase", phase.to_json()}};
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

// Erlang's round trip, the reference issue 14 sets: bench/erlang/syn_bench_ping.erl (two BEAM
// nodes on 127.0.0.1, the same echo pattern), run with Debian's erlang-base when it is
// installed. The bench installs nothing: without Erlang, it says so and skips. Its epmd runs on
// a port of its own and is stopped after.
RunOutput run_ping_pong_erlang(RunContext& ctx) {
  if (std::system("command -v erl >/dev/null 2>&1 && command -v erlc >/dev/null 2>&1") != 0) {
    throw Skipped("Erlang is not installed (Debian: apt-get install erlang-base); the bench installs nothing");
  }
  char dir_template[] = "/tmp/syn-bench-erlang-XXXXXX";
  const char* dir = ::mkdtemp(dir_template);
  if (dir == nullptr) throw std::runtime_error("mkdtemp failed");
  const std::string work(dir);
  const std::string epmd_port = std::to_string(43000 + ::getpid() % 1000);
  auto cleanup = [&] {
    (void)std::system(("ERL_EPMD_PORT=" + epmd_port + " epmd -kill >/dev/null 2>&1").c_str());
    std::filesystem::remove_all(work);
  };
  const std::string compile = "erlc -o " + work + " " SYN_BENCH_ERLANG_DIR "/syn_bench_ping.erl 2>&1";
  const std::string run = "ERL_EPMD_PORT=" + epmd_port +
                          " timeout 300 erl -noshell -name syn_bench_ping@127.0.0.1 -setcookie syn_bench -pa " + work +
                          " -run syn_bench_ping main " + std::to_string(ctx.n) + " " + work + " 2>&1";
  std::string output;
  int status = 0;
  for (const auto& command : {compile, run}) {
    output.clear();
    std::FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      cleanup();
      throw std::runtime_error("cannot run: " + command);
    }
    char buffer[4096];
    while (std::fgets(buffer, sizeof buffer, pipe) != nullptr) output += buffer;
    status = ::pclose(pipe);
    if (status != 0) break;
  }
  cleanup();
  if (status != 0) throw std::runtime_error("the Erlang program failed: " + output);
  // Its last line is the JSON result.
  auto start = output.rfind('{');
  if (start == std::string::npos) throw std::runtime_error("no result from the Erlang program: " + output);
  return latency_output(Term::parse(output.substr(start)));
}

// A node at rest: what heartbeats and the node's threads cost while nothing happens (issue 14
// asks for it beside the latency: no spinning may buy latency with an idle core).
RunOutput run_idle_cpu(RunContext& ctx) {
  Cluster c(ctx.cluster, ctx.n);
  const auto settle = std::chrono::seconds(1);
  const auto window = std::chrono::seconds(ctx.options.quick() ? 3 : 10);
  std::this_thread::sleep_for(settle);  // the mesh's first syncs are over
  auto percent = cpu_percent(c, window);
  std::sort(percent.begin(), percent.end());
  RunOutput out;
  out.samples = {Sample{"cpu_median", percent[percent.size() / 2], "%", false},
                 Sample{"cpu_max", percent.back(), "%", false}};
  out.detail = {{"percent_per_node", percent}, {"seconds", std::chrono::duration<double>(window).count()}};
  return out;
}

}  // namespace

std::vector<Workload> messaging_workloads() {
  return {
      {"messages_one_way",
       "Node::send of small messages (integers) from n1 to a process on n2, as fast as the API takes them; "
       "counted by a receiver thread on n2 until all arrived (in order)",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 100000 : 1000000; }, run_one_way, ""},
      {"messages_one_way_zmq",
       "the floor of messages_one_way, measured in the same run: bare ZeroMQ PUSH/PULL (64-byte messages) between "
       "the same two node processes over TCP on 127.0.0.1, without syn; until the receiver took the last",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 100000 : 1000000; }, run_one_way_zmq,
       "ZeroMQ's default high-water marks: a full queue blocks the sender"},
      {"ping_pong", "round trip: a process on n1 sends to a process on n2 that sends it back; latency per round trip",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 1000 : 10000; }, run_ping_pong, ""},
      {"ping_pong_zmq",
       "the floor of ping_pong, measured in the same run: bare ZeroMQ REQ/REP (8-byte messages) between the same "
       "two node processes over TCP on 127.0.0.1, without syn",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 1000 : 10000; }, run_ping_pong_zmq,
       "100 round trips of warm-up first"},
      {"ping_pong_erlang",
       "the reference of ping_pong, measured in the same run: two Erlang nodes on 127.0.0.1 (Debian's "
       "erlang-base), a process sends {self(), I} to an echo process on the other node (bench/erlang)",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 1000 : 10000; }, run_ping_pong_erlang,
       "100 round trips of warm-up first; skipped when Erlang is not installed"},
      {"idle_cpu",
       "CPU of each node at rest (a meshed cluster, no traffic but heartbeats), in % of one core over 10 s "
       "(3 s in quick mode), after 1 s of settling; the median and the highest node",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 3 : 8; }, run_idle_cpu,
       "the CPU of the whole node process, the bench's command loop included"},
  };
}

}  // namespace syn::bench
