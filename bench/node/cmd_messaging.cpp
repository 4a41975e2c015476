// Messaging commands: a one-way stream of small messages counted at the receiver, and a
// ping-pong between two processes on two nodes.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <stdexcept>

namespace syn::bench {

namespace {

syn::Pid parse_pid(const std::string& text) {
  auto pid = syn::Pid::parse(text);
  if (!pid) throw std::invalid_argument("bad pid '" + text + "'");
  return *pid;
}

// Sends the integers 0..count-1 to `to`, as fast as the API takes them.
Term send_many(BenchNode& b, const Term& args) {
  syn::Pid to = parse_pid(required<std::string>(args, "to"));
  auto count = required<std::size_t>(args, "count");
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  for (std::size_t i = 0; i < count; ++i) b.node().send(to, Term(static_cast<std::int64_t>(i)));
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

// Receives on process `proc` until `expected` messages arrived; answers when the last one
// was taken, and how many came out of order.
Term count_recv(BenchNode& b, const Term& args) {
  auto& p = b.proc(required<std::size_t>(args, "proc"));
  auto expected = required<std::size_t>(args, "expected");
  auto timeout_ms = arg<std::int64_t>(args, "timeout_ms", 60000);
  auto deadline = now_ns() + ms_to_ns(timeout_ms);
  std::size_t received = 0, out_of_order = 0;
  std::int64_t next = 0;
  while (received < expected && !b.stopping()) {
    auto m = p.receive(std::chrono::milliseconds(50));
    if (m) {
      ++received;
      if (!m->body.is_number_integer() || m->body.get<std::int64_t>() != next) ++out_of_order;
      next = m->body.is_number_integer() ? m->body.get<std::int64_t>() + 1 : next + 1;
    } else if (now_ns() > deadline) {
      throw std::runtime_error("count_recv timed out after " + std::to_string(timeout_ms) + " ms: received " +
                               std::to_string(received) + " of " + std::to_string(expected));
    }
  }
  return Term{{"t", now_ns()}, {"received", received}, {"out_of_order", out_of_order}};
}

// Process `proc` sends every message it receives back to `reply_to` (in the background).
Term echo(BenchNode& b, const Term& args) {
  syn::Process* p = &b.proc(required<std::size_t>(args, "proc"));
  syn::Pid reply_to = parse_pid(required<std::string>(args, "reply_to"));
  b.start_background([&b, p, reply_to] {
    while (!b.stopping() && p->alive()) {
      auto m = p->receive(std::chrono::milliseconds(100));
      if (m) b.node().send(reply_to, std::move(m->body));
    }
  });
  return Term::object();
}

// Round trips: send i to `to`, wait for it to come back on process `proc`; latency of each.
Term ping_bench(BenchNode& b, const Term& args) {
  auto& p = b.proc(required<std::size_t>(args, "proc"));
  syn::Pid to = parse_pid(required<std::string>(args, "to"));
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 1000));
  auto timeout = std::chrono::milliseconds(arg<std::int64_t>(args, "timeout_ms", 2000));
  std::vector<double> samples;
  samples.reserve(iterations);
  std::size_t lost = 0;
  for (std::size_t i = 0; i < iterations && !b.stopping(); ++i) {
    auto t0 = now_ns();
    b.node().send(to, Term(static_cast<std::int64_t>(i)));
    // Skip stale answers (to an earlier ping that timed out).
    for (;;) {
      auto m = p.receive(timeout);
      if (!m) {
        ++lost;
        break;
      }
      if (m->body == Term(static_cast<std::int64_t>(i))) {
        samples.push_back(static_cast<double>(now_ns() - t0));
        break;
      }
    }
    if (lost > 10) throw std::runtime_error("ping_bench: more than 10 pings lost");
  }
  return Term{{"latency", latency_json(std::move(samples))}, {"lost", lost}};
}

}  // namespace

void add_messaging_commands(CommandTable& table) {
  table["send_many"] = send_many;
  table["count_recv"] = count_recv;
  table["echo"] = echo;
  table["ping_bench"] = ping_bench;
}

}  // namespace syn::bench
