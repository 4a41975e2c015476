// Groups commands: timed join / leave batches, members() loops, publish with counting
// receivers, and multi_call with answering members.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/batch.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

void check_procs(BenchNode& b, const Batch& batch) {
  if (batch.offset + batch.count > b.procs().size()) throw std::invalid_argument("not enough processes");
}

// Process offset + i joins `group`, for i in [0, count); mode "list": in lists of `list`.
Term grp_join(BenchNode& b, const Term& args) {
  Term group = required<std::string>(args, "group");
  Batch batch = Batch::from(args, b.procs().size() - std::min(b.procs().size(), arg<std::size_t>(args, "offset", 0)));
  check_procs(b, batch);
  auto& procs = b.procs();
  auto& groups = b.groups();
  if (batch.mode == "list") {
    return run_lists(batch, std::max<std::size_t>(1, arg<std::size_t>(args, "list", 1000)),
                     [&](std::size_t first, std::size_t end) {
                       std::vector<Pid> pids;
                       pids.reserve(end - first);
                       for (std::size_t i = first; i < end; ++i) pids.push_back(procs[batch.offset + i].pid());
                       return groups.join(group, pids);
                     });
  }
  return run_batch(
      batch, [&](std::size_t i) { return groups.join(group, procs[batch.offset + i].pid()); },
      [&](std::size_t i) { return groups.join_async(group, procs[batch.offset + i].pid()); });
}

Term grp_leave(BenchNode& b, const Term& args) {
  Term group = required<std::string>(args, "group");
  Batch batch = Batch::from(args, b.procs().size() - std::min(b.procs().size(), arg<std::size_t>(args, "offset", 0)));
  check_procs(b, batch);
  auto& procs = b.procs();
  auto& groups = b.groups();
  return run_batch(
      batch, [&](std::size_t i) { return groups.leave(group, procs[batch.offset + i].pid()); },
      [&](std::size_t i) { return groups.leave_async(group, procs[batch.offset + i].pid()); });
}

// Calls members(group) `iterations` times; answers the mean cost of one call (wall-clock and
// thread CPU time).
Term members_bench(BenchNode& b, const Term& args) {
  Term group = required<std::string>(args, "group");
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 1000));
  auto& groups = b.groups();
  std::size_t size = groups.members(group).size();  // warm
  auto c0 = thread_cpu_ns();
  auto t0 = now_ns();
  std::size_t total = 0;
  for (std::size_t i = 0; i < iterations; ++i) total += groups.members(group).size();
  auto elapsed = now_ns() - t0;
  auto cpu = thread_cpu_ns() - c0;
  return Term{{"ns_per_call", static_cast<double>(elapsed) / static_cast<double>(iterations)},
              {"cpu_ns_per_call", static_cast<double>(cpu) / static_cast<double>(iterations)},
              {"size", size},
              {"consistent", total == size * iterations}};
}

// Publishes `count` small messages to `group` from this thread.
Term publish_bench(BenchNode& b, const Term& args) {
  Term group = required<std::string>(args, "group");
  auto count = required<std::size_t>(args, "count");
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  auto late = lateness(start_at, now_ns());
  auto& groups = b.groups();
  std::size_t recipients = 0;
  sleep_until_ns(start_at);
  for (std::size_t i = 0; i < count; ++i) recipients += groups.publish(group, Term(static_cast<std::int64_t>(i)));
  return Term{{"t_end", now_ns()}, {"late_ns", late}, {"recipients", recipients}};
}

// One receiver thread for processes offset..offset+count: takes every message from their
// mailboxes until `expected` arrived; answers the time the last one was taken.
Term consume(BenchNode& b, const Term& args) {
  auto offset = arg<std::size_t>(args, "offset", 0);
  auto count = required<std::size_t>(args, "count");
  auto expected = required<std::size_t>(args, "expected");
  auto timeout_ms = arg<std::int64_t>(args, "timeout_ms", 60000);
  if (offset + count > b.procs().size()) throw std::invalid_argument("not enough processes");
  auto deadline = now_ns() + ms_to_ns(timeout_ms);
  std::size_t received = 0;
  while (received < expected && !b.stopping()) {
    std::size_t before = received;
    for (std::size_t i = 0; i < count; ++i) {
      auto& p = b.proc(offset + i);
      while (p.try_receive()) ++received;
    }
    if (received >= expected) break;
    if (now_ns() > deadline) {
      throw std::runtime_error("consume timed out after " + std::to_string(timeout_ms) + " ms: received " +
                               std::to_string(received) + " of " + std::to_string(expected));
    }
    if (received == before) std::this_thread::sleep_for(std::chrono::microseconds(50));
  }
  return Term{{"t", now_ns()}, {"received", received}};
}

// Gives each of processes offset..offset+count a thread that answers every multi_call at
// once (with the request's body); they run until the process dies or the node stops.
Term responders(BenchNode& b, const Term& args) {
  auto offset = arg<std::size_t>(args, "offset", 0);
  auto count = required<std::size_t>(args, "count");
  if (offset + count > b.procs().size()) throw std::invalid_argument("not enough processes");
  for (std::size_t i = 0; i < count; ++i) {
    syn::Process* p = &b.proc(offset + i);
    b.start_background([&b, p] {
      while (!b.stopping() && p->alive()) {
        auto m = p->receive(std::chrono::milliseconds(100));
        if (m && m->is_multi_call()) m->reply(m->body);
      }
    });
  }
  return Term{{"started", count}};
}

// multi_call(group) `iterations` times in turn; answers the latency of one call and how many
// calls did not get `expect` replies.
Term multi_call_bench(BenchNode& b, const Term& args) {
  Term group = required<std::string>(args, "group");
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 100));
  auto expect = required<std::size_t>(args, "expect");
  auto timeout = std::chrono::milliseconds(arg<std::int64_t>(args, "timeout_ms", 5000));
  auto& groups = b.groups();
  std::vector<double> samples;
  samples.reserve(iterations);
  std::size_t incomplete = 0;
  for (std::size_t i = 0; i < iterations && !b.stopping(); ++i) {
    auto t0 = now_ns();
    auto r = groups.multi_call(group, Term(static_cast<std::int64_t>(i)), timeout);
    samples.push_back(static_cast<double>(now_ns() - t0));
    if (r.replies.size() != expect) ++incomplete;
  }
  return Term{{"latency", latency_json(std::move(samples))}, {"incomplete", incomplete}};
}

}  // namespace

void add_groups_commands(CommandTable& table) {
  table["grp_join"] = grp_join;
  table["grp_leave"] = grp_leave;
  table["members_bench"] = members_bench;
  table["publish_bench"] = publish_bench;
  table["consume"] = consume;
  table["responders"] = responders;
  table["multi_call_bench"] = multi_call_bench;
}

}  // namespace syn::bench
