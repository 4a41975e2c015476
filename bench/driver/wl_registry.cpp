// Registry throughput workloads: syn's benchmark (register, unregister, reregister, kill from
// 2 writers x W callers on 3 nodes), its pipelined variant, and sequential register latency.
#include "driver/wl_helpers.hpp"

#include <syn/security.hpp>

#include <sys/stat.h>

#include <fstream>

namespace syn::bench {

namespace {

constexpr std::size_t kNodes = 3;

// 2 writers (n1, n2) with half of N each; n3 only replicates.
std::vector<std::size_t> writer_shares(std::size_t n) {
  auto half = split(n, 2);
  return {half[0], half[1], 0};
}

RunOutput run_registry(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  auto shares = writer_shares(ctx.n);
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  auto n = static_cast<std::int64_t>(ctx.n);
  Term sync{{"set", "reg"}, {"threads", ctx.options.workers}, {"mode", "sync"}};
  RunOutput out;
  auto reg = run_phase(c, on_writers(shares, "reg_register", sync), watch_every(c, "reg_count", n), ctx.timeout);
  auto unreg = run_phase(c, on_writers(shares, "reg_unregister", sync), watch_every(c, "reg_count", 0), ctx.timeout);
  auto rereg = run_phase(c, on_writers(shares, "reg_register", sync), watch_every(c, "reg_count", n), ctx.timeout);
  auto kill =
      run_phase(c, on_writers(shares, "kill_procs", Term::object()), watch_every(c, "reg_count", 0), ctx.timeout);
  out.samples = {RunContext::rate("register", ctx.n, reg.seconds),
                 RunContext::rate("unregister", ctx.n, unreg.seconds),
                 RunContext::rate("reregister", ctx.n, rereg.seconds),
                 RunContext::seconds("kill", kill.seconds),
                 RunContext::cpu_per_op("register_cpu", reg.cpu_total(), ctx.n),
                 RunContext::cpu_per_op("kill_cpu", kill.cpu_total(), ctx.n)};
  out.detail = {{"register", reg.to_json()},
                {"unregister", unreg.to_json()},
                {"reregister", rereg.to_json()},
                {"kill", kill.to_json()}};
  return out;
}

/// A key file for the CURVE runs (mode 0600, in the log directory), made once per harness run.
std::string bench_key_file(const std::string& dir) {
  static std::string path;
  if (!path.empty()) return path;
  path = dir + "/cluster.key";
  {
    std::ofstream out(path);
    out << generate_cluster_key() << "\n";
  }
  ::chmod(path.c_str(), 0600);
  return path;
}

/// The register phase of syn's benchmark on a fresh cluster: its seconds and cluster CPU.
PhaseResult register_phase(RunContext& ctx, ClusterConfig config) {
  Cluster c(std::move(config), kNodes);
  auto shares = writer_shares(ctx.n);
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  Term sync{{"set", "reg"}, {"threads", ctx.options.workers}, {"mode", "sync"}};
  return run_phase(c, on_writers(shares, "reg_register", sync),
                   watch_every(c, "reg_count", static_cast<std::int64_t>(ctx.n)), ctx.timeout);
}

// syn's register phase with plaintext links and with CURVE (a cluster key), one after the
// other in the same run, the order alternating from run to run: the machine's drift hits both.
RunOutput run_registry_curve(RunContext& ctx) {
  static int run = 0;
  bool curve_first = run++ % 2 == 1;
  ClusterConfig plain = ctx.cluster, curve = ctx.cluster;
  plain.tag += "-plain";
  curve.tag += "-curve";
  curve.cluster_key_file = bench_key_file(ctx.cluster.log_dir);
  PhaseResult first = register_phase(ctx, curve_first ? curve : plain);
  PhaseResult second = register_phase(ctx, curve_first ? plain : curve);
  const PhaseResult& p = curve_first ? second : first;
  const PhaseResult& k = curve_first ? first : second;
  RunOutput out;
  out.samples = {RunContext::rate("register_plain", ctx.n, p.seconds),
                 RunContext::rate("register_curve", ctx.n, k.seconds),
                 Sample{"curve_ratio", p.seconds > 0 && k.seconds > 0 ? p.seconds / k.seconds : 0, "x", true},
                 RunContext::cpu_per_op("register_cpu_plain", p.cpu_total(), ctx.n),
                 RunContext::cpu_per_op("register_cpu_curve", k.cpu_total(), ctx.n)};
  out.detail = {{"plain", p.to_json()}, {"curve", k.to_json()}, {"curve_first", curve_first}};
  return out;
}

RunOutput run_register_async(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  auto shares = writer_shares(ctx.n);
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  auto n = static_cast<std::int64_t>(ctx.n);
  Term async{{"set", "reg"}, {"mode", "async"}, {"window", 10000}};
  auto reg = run_phase(c, on_writers(shares, "reg_register", async), watch_every(c, "reg_count", n), ctx.timeout);
  auto unreg = run_phase(c, on_writers(shares, "reg_unregister", async), watch_every(c, "reg_count", 0), ctx.timeout);
  RunOutput out;
  out.samples = {RunContext::rate("register", ctx.n, reg.seconds), RunContext::rate("unregister", ctx.n, unreg.seconds),
                 RunContext::cpu_per_op("register_cpu", reg.cpu_total(), ctx.n)};
  out.detail = {{"register", reg.to_json()}, {"unregister", unreg.to_json()}};
  return out;
}

RunOutput run_register_sequential(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  std::vector<std::size_t> shares{ctx.n, 0, 0};
  spawn_on(c, shares);
  names_on(c, shares, "reg", "");
  Term seq{{"set", "reg"}, {"threads", 1}, {"mode", "sync"}, {"latency", true}};
  auto reg = run_phase(c, on_writers(shares, "reg_register", seq),
                       watch_every(c, "reg_count", static_cast<std::int64_t>(ctx.n)), ctx.timeout);
  const Term& lat = reg.work.at(0).at("latency");
  RunOutput out;
  double caller_s = reg.work_seconds();
  out.samples = {RunContext::nanos("per_call", lat.at("median_ns").get<double>()),
                 RunContext::nanos("per_call_p99", lat.at("p99_ns").get<double>()),
                 RunContext::rate("rate", ctx.n, caller_s),
                 RunContext::cpu_per_op("per_call_cpu", reg.work.at(0).at("caller_cpu_ns").get<double>() / 1e9, ctx.n),
                 RunContext::seconds("peer_lag", reg.seconds - caller_s)};
  out.detail = {{"register", reg.to_json()}, {"latency", lat}};
  return out;
}

// Issue 14: a synchronous register_name of a pid on another node is a round trip to that
// node (its authority) plus the write there; compare with ping_pong, the bare round trip.
RunOutput run_register_remote(RunContext& ctx) {
  Cluster c(ctx.cluster, kNodes);
  spawn_on(c, {0, ctx.n, 0});
  names_on(c, {ctx.n, 0, 0}, "remote", "");
  Term pids = c[1].call("pids", {{"count", ctx.n}}).at("pids");
  Term r = c[0].call("reg_register",
                     {{"set", "remote"}, {"threads", 1}, {"mode", "sync"}, {"latency", true}, {"remote_pids", pids}},
                     ctx.timeout);
  auto calls = r.at("calls");
  if (calls.value("ok", std::int64_t{0}) != static_cast<std::int64_t>(ctx.n)) {
    throw std::runtime_error("register_name of remote pids: " + calls.dump());
  }
  RunOutput out = latency_output(r.at("latency"));
  out.detail["register"] = r;
  return out;
}

}  // namespace

std::vector<Workload> registry_workloads() {
  return {
      {"registry",
       "syn's benchmark: 2 writer nodes x W callers register N names (half each) for local processes, "
       "then unregister, reregister, kill the processes; each phase until all 3 nodes agree",
       true, nullptr, run_registry, ""},
      {"registry_curve",
       "syn's register phase with plaintext links and with a cluster key (CURVE), alternated in "
       "the same run: curve_ratio = encrypted rate / plaintext rate",
       true, nullptr, run_registry_curve, ""},
      {"register_async",
       "the register and unregister phases from ONE caller per writer with register_name_async "
       "(windows of 10k futures in flight), until all 3 nodes agree",
       true, nullptr, run_register_async, ""},
      {"register_sequential",
       "one caller on n1 registers N local processes one synchronous call at a time: per-call latency; "
       "peer_lag = how long after the caller's last call the 2 peers held all N",
       true, nullptr, run_register_sequential, ""},
      {"register_remote",
       "one caller on n1 registers N names for processes of n2, one synchronous call at a time: per-call "
       "latency, a round trip to n2 (the pids' authority) each; its floor is ping_pong",
       false, [](const Options& o) -> std::size_t { return o.quick() ? 500 : 5000; }, run_register_remote, ""},
  };
}

}  // namespace syn::bench
