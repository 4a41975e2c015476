// Registry commands: timed register / unregister batches (synchronous from many threads,
// or pipelined from one), killing the processes, and lookup loops.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/batch.hpp"
#include "node/bench_node.hpp"

#include <barrier>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

// Name i of the set goes with process offset + i, or offset + i % procs_cycle when set (a
// process may hold many names: big name sets without as many processes). With remote_pids
// (pid strings of another node's processes), name i goes with remote_pids[i]: every call is a
// round trip to that node, the authority of its pids.
Term reg_register(BenchNode& b, const Term& args) {
  const auto& names = b.name_set(required<std::string>(args, "set"));
  Batch batch = Batch::from(args, names.size());
  auto cycle = arg<std::size_t>(args, "procs_cycle", 0);
  auto& procs = b.procs();
  std::vector<syn::Pid> remote;
  if (args.contains("remote_pids")) {
    for (const auto& text : args.at("remote_pids")) {
      auto parsed = syn::Pid::parse(text.get<std::string>());
      if (!parsed) throw std::invalid_argument("remote_pids: not a pid: " + text.dump());
      remote.push_back(*parsed);
    }
    if (batch.count > names.size() || batch.count > remote.size()) {
      throw std::invalid_argument("not enough names or remote pids");
    }
  } else {
    std::size_t span = cycle > 0 ? std::min(cycle, batch.count) : batch.count;
    if (batch.count > names.size() || batch.offset + span > procs.size()) {
      throw std::invalid_argument("not enough names or processes");
    }
  }
  auto pid = [&](std::size_t i) -> const syn::Pid& {
    if (!remote.empty()) return remote[i];
    return procs[batch.offset + (cycle > 0 ? i % cycle : i)].pid();
  };
  auto& reg = b.registry();
  return run_batch(
      batch, [&](std::size_t i) { return reg.register_name(names[i], pid(i)); },
      [&](std::size_t i) { return reg.register_name_async(names[i], pid(i)); });
}

Term reg_unregister(BenchNode& b, const Term& args) {
  const auto& names = b.name_set(required<std::string>(args, "set"));
  Batch batch = Batch::from(args, names.size());
  if (batch.count > names.size()) throw std::invalid_argument("not enough names");
  auto& reg = b.registry();
  return run_batch(
      batch, [&](std::size_t i) { return reg.unregister_name(names[i]); },
      [&](std::size_t i) { return reg.unregister_name_async(names[i]); });
}

// Kills processes offset..offset+count from one thread (as syn's benchmark does).
Term kill_procs(BenchNode& b, const Term& args) {
  auto& procs = b.procs();
  auto offset = arg<std::size_t>(args, "offset", 0);
  auto count = arg<std::size_t>(args, "count", procs.size() - std::min(offset, procs.size()));
  if (offset + count > procs.size()) throw std::invalid_argument("not enough processes");
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  for (std::size_t i = 0; i < count; ++i) procs[offset + i].exit("kill");
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

// Looks up every name of a set in turn, `passes` times, on `threads` threads at once (each
// thread reads the whole set, starting at a different place). One untimed pass first, then
// the threads start together. Answers wall-clock and thread-CPU nanoseconds per lookup: on a
// busy machine the thread is often descheduled, and only the CPU figure excludes that.
Term lookup_bench(BenchNode& b, const Term& args) {
  const auto& names = b.name_set(required<std::string>(args, "set"));
  auto threads = std::max<std::size_t>(1, arg<std::size_t>(args, "threads", 1));
  auto passes = std::max<std::size_t>(1, arg<std::size_t>(args, "passes", 1));
  auto& reg = b.registry();
  const std::size_t n = names.size();
  if (n == 0) throw std::invalid_argument("empty name set");
  std::vector<double> ns_per_op(threads), cpu_ns_per_op(threads);
  std::vector<std::size_t> hits(threads);
  std::vector<std::thread> pool;
  std::barrier ready(static_cast<std::ptrdiff_t>(threads));
  for (std::size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      std::size_t first = t * n / threads;
      for (std::size_t i = 0; i < n; ++i) (void)reg.lookup(names[(first + i) % n]);
      ready.arrive_and_wait();
      std::size_t found = 0;
      auto c0 = thread_cpu_ns();
      auto t0 = now_ns();
      for (std::size_t p = 0; p < passes; ++p) {
        for (std::size_t i = first; i < n; ++i) found += reg.lookup(names[i]).has_value();
        for (std::size_t i = 0; i < first; ++i) found += reg.lookup(names[i]).has_value();
      }
      auto elapsed = now_ns() - t0;
      auto cpu = thread_cpu_ns() - c0;
      ns_per_op[t] = static_cast<double>(elapsed) / static_cast<double>(passes * n);
      cpu_ns_per_op[t] = static_cast<double>(cpu) / static_cast<double>(passes * n);
      hits[t] = found;
    });
  }
  for (auto& th : pool) th.join();
  return Term{
      {"ns_per_op", ns_per_op}, {"cpu_ns_per_op", cpu_ns_per_op}, {"hits", hits}, {"lookups_per_thread", passes * n}};
}

}  // namespace

void add_registry_commands(CommandTable& table) {
  table["reg_register"] = reg_register;
  table["reg_unregister"] = reg_unregister;
  table["kill_procs"] = kill_procs;
  table["lookup_bench"] = lookup_bench;
}

}  // namespace syn::bench
