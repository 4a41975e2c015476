// Multicast commands (SPEC 8): a member per process that counts what it receives, a stream of
// broadcasts, a wait for the count, and the latency of confirmed broadcasts one at a time.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <atomic>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

/// Counts the messages a member receives.
class Counter final : public syn::MulticastHandler {
 public:
  void on_message(const syn::Pid&, const syn::Term&) override { received.fetch_add(1, std::memory_order_relaxed); }
  std::atomic<std::size_t> received{0};
};

struct Member {
  std::shared_ptr<Counter> counter = std::make_shared<Counter>();
  std::optional<syn::Membership> membership;
};

std::string key_of(std::size_t proc) { return "multicast:" + std::to_string(proc); }

Member& member(BenchNode& b, const Term& args) {
  return *std::static_pointer_cast<Member>(b.kept(key_of(required<std::size_t>(args, "proc"))));
}

/// A message of about `size` bytes (an integer when 0).
Term payload(std::size_t size, std::size_t i) {
  if (size == 0) return Term(static_cast<std::int64_t>(i));
  return Term(std::string(size, 'x'));
}

// Process `proc` joins multicast group `group` (default "g") with a counting handler.
Term mc_join(BenchNode& b, const Term& args) {
  auto index = required<std::size_t>(args, "proc");
  auto m = std::make_shared<Member>();
  auto joined = b.node().multicast(kScope).join(arg<std::string>(args, "group", "g"), b.proc(index), m->counter);
  if (!joined) throw std::runtime_error("multicast join: " + std::string(to_string(joined.error())));
  m->membership.emplace(std::move(*joined));
  b.keep(key_of(index), m);
  return Term::object();
}

// Waits until the member's view has `expected` members.
Term mc_view_size(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto expected = required<std::size_t>(args, "expected");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 30000));
  while (m.membership->view().members.size() != expected) {
    if (now_ns() > deadline)
      throw std::runtime_error("mc_view_size: the view never reached " + std::to_string(expected));
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Term::object();
}

// The member broadcasts `count` messages of `size` bytes, from start_at, as fast as it can.
Term mc_broadcast_many(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto count = required<std::size_t>(args, "count");
  auto size = arg<std::size_t>(args, "size", 0);
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  std::vector<Term> messages;  // built before the clock starts
  messages.reserve(count);
  for (std::size_t i = 0; i < count; ++i) messages.push_back(payload(size, i));
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  for (auto& message : messages) {
    auto r = m.membership->broadcast(std::move(message));
    if (!r) throw std::runtime_error("broadcast: " + std::string(to_string(r.error())));
  }
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

// Waits until the member received `expected` messages; answers when it first saw them.
Term mc_count(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto expected = required<std::size_t>(args, "expected");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 60000));
  while (m.counter->received.load(std::memory_order_relaxed) < expected) {
    if (now_ns() > deadline || b.stopping()) {
      throw std::runtime_error("mc_count: " + std::to_string(m.counter->received.load()) + " of " +
                               std::to_string(expected));
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return Term{{"t", now_ns()}};
}

// confirmed_broadcast one at a time: the latency of each.
Term mc_confirmed_bench(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 1000));
  std::vector<double> samples;
  samples.reserve(iterations);
  for (std::size_t i = 0; i < iterations && !b.stopping(); ++i) {
    auto t0 = now_ns();
    auto r = m.membership->confirmed_broadcast(Term(static_cast<std::int64_t>(i)), std::chrono::seconds(10));
    if (!r) throw std::runtime_error("confirmed_broadcast: " + std::string(to_string(r.error())));
    samples.push_back(static_cast<double>(now_ns() - t0));
  }
  return Term{{"latency", latency_json(std::move(samples))}};
}

}  // namespace

void add_multicast_commands(CommandTable& table) {
  table["mc_join"] = mc_join;
  table["mc_view_size"] = mc_view_size;
  table["mc_broadcast_many"] = mc_broadcast_many;
  table["mc_count"] = mc_count;
  table["mc_confirmed_bench"] = mc_confirmed_bench;
}

}  // namespace syn::bench
