// Multicast commands (SPEC 8): a member per process that counts what it receives, a stream of
// broadcasts, a wait for the count, the latency of confirmed broadcasts one at a time and their
// rate pipelined, the latency of joins, and background load.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <atomic>
#include <deque>
#include <fstream>
#include <malloc.h>
#include <future>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

/// Counts the messages a member receives, and notes the size of its latest view and when its
/// callback ran (the time a view change reached this member).
class Counter final : public syn::MulticastHandler {
 public:
  void on_joined(const syn::View& view) override { note_view(view); }
  void on_view(const syn::ViewChange& change) override { note_view(change.view); }
  void on_message(const syn::Pid&, const syn::Term&) override {
    if (received.fetch_add(1, std::memory_order_relaxed) + 1 == target.load(std::memory_order_relaxed)) {
      reached_ns.store(now_ns(), std::memory_order_relaxed);
    }
  }

  std::atomic<std::size_t> received{0};
  /// mc_count's expected count, and when the callback reached it: the time is taken here, so
  /// that the waiting thread can poll slowly (a fast poll costs the node CPU the figures count).
  std::atomic<std::size_t> target{0};
  std::atomic<std::int64_t> reached_ns{0};
  std::atomic<std::size_t> view_size{0};
  std::atomic<std::int64_t> view_ns{0};  ///< when the latest view's callback ran

 private:
  void note_view(const syn::View& view) {
    view_ns.store(now_ns(), std::memory_order_relaxed);
    view_size.store(view.members.size(), std::memory_order_release);
  }
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

// Waits until the member's callbacks saw a view of `expected` members; answers when the
// callback of that view ran.
Term mc_view_size(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto expected = required<std::size_t>(args, "expected");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 30000));
  while (m.counter->view_size.load(std::memory_order_acquire) != expected) {
    if (now_ns() > deadline || b.stopping())
      throw std::runtime_error("mc_view_size: the view never reached " + std::to_string(expected));
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return Term{{"t", m.counter->view_ns.load(std::memory_order_relaxed)}};
}

// The member broadcasts `count` messages of `size` bytes, from start_at, as fast as it can.
// `prebuilt` (default true): the terms are built before the clock starts; false: each one as it
// goes (a memory measure, which the harness's own terms would inflate).
Term mc_broadcast_many(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto count = required<std::size_t>(args, "count");
  auto size = arg<std::size_t>(args, "size", 0);
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  auto send = [&](Term message) {
    auto r = m.membership->broadcast(std::move(message));
    if (!r) throw std::runtime_error("broadcast: " + std::string(to_string(r.error())));
  };
  if (!arg<bool>(args, "prebuilt", true)) {
    auto late = lateness(start_at, now_ns());
    sleep_until_ns(start_at);
    for (std::size_t i = 0; i < count; ++i) send(payload(size, i));
    return Term{{"t_end", now_ns()}, {"late_ns", late}};
  }
  std::vector<Term> messages;  // built before the clock starts
  messages.reserve(count);
  for (std::size_t i = 0; i < count; ++i) messages.push_back(payload(size, i));
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  for (auto& message : messages) send(std::move(message));
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

// This process's resident memory, in bytes (VmRSS of /proc/self/status).
Term mc_rss(BenchNode&, const Term&) {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return Term{{"bytes", std::stoll(line.substr(6)) * 1024}};
  }
  throw std::runtime_error("mc_rss: no VmRSS in /proc/self/status");
}

// The bytes this process's heap holds in use (glibc's mallinfo2, every arena and the mmapped
// blocks): unlike resident memory, what was freed is not counted, however high it once rose.
Term mc_heap(BenchNode&, const Term&) {
  struct mallinfo2 info = mallinfo2();
  return Term{{"bytes", static_cast<std::int64_t>(info.uordblks + info.hblkhd)}};
}

// Waits until the member received `expected` messages; answers when it first saw them.
Term mc_count(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto expected = required<std::size_t>(args, "expected");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 60000));
  m.counter->reached_ns.store(0, std::memory_order_relaxed);
  m.counter->target.store(expected, std::memory_order_relaxed);
  while (m.counter->received.load(std::memory_order_relaxed) < expected) {
    if (now_ns() > deadline || b.stopping()) {
      throw std::runtime_error("mc_count: " + std::to_string(m.counter->received.load()) + " of " +
                               std::to_string(expected));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  // Reached before the target was set (no stream runs then): now is the best answer.
  std::int64_t reached = m.counter->reached_ns.load(std::memory_order_relaxed);
  return Term{{"t", reached != 0 ? reached : now_ns()}};
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

// confirmed_broadcast_async with up to `window` confirmations outstanding, `count` in all:
// confirmed per second, pipelined.
Term mc_confirmed_pipelined(BenchNode& b, const Term& args) {
  auto& m = member(b, args);
  auto count = required<std::size_t>(args, "count");
  auto window = std::max<std::size_t>(1, arg<std::size_t>(args, "window", 1000));
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  std::deque<std::future<Result<void>>> outstanding;
  auto settle_oldest = [&] {
    auto r = outstanding.front().get();
    if (!r) throw std::runtime_error("confirmed_broadcast_async: " + std::string(to_string(r.error())));
    outstanding.pop_front();
  };
  for (std::size_t i = 0; i < count && !b.stopping(); ++i) {
    if (outstanding.size() >= window) settle_oldest();
    outstanding.push_back(m.membership->confirmed_broadcast_async(Term(static_cast<std::int64_t>(i))));
  }
  while (!outstanding.empty()) settle_oldest();
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

// Process `proc` joins group `group` and leaves it again, `iterations` times: the latency of
// each join (until it returned, its first view installed and on_joined run).
Term mc_join_bench(BenchNode& b, const Term& args) {
  auto index = required<std::size_t>(args, "proc");
  auto group = arg<std::string>(args, "group", "g");
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 100));
  auto multicast = b.node().multicast(kScope);
  auto counter = std::make_shared<Counter>();
  std::vector<double> samples;
  samples.reserve(iterations);
  for (std::size_t i = 0; i < iterations && !b.stopping(); ++i) {
    auto t0 = now_ns();
    auto joined = multicast.join(group, b.proc(index), counter);
    if (!joined) throw std::runtime_error("multicast join: " + std::string(to_string(joined.error())));
    samples.push_back(static_cast<double>(now_ns() - t0));
    if (auto left = joined->leave(); !left) throw std::runtime_error("leave: " + std::string(to_string(left.error())));
  }
  return Term{{"latency", latency_json(std::move(samples))}};
}

// The member broadcasts integers in the background at about `rate` per second until the node
// stops or the member is out of the group: load while something else is measured.
Term mc_broadcast_background(BenchNode& b, const Term& args) {
  auto* m = &member(b, args);
  auto per_ms = std::max<std::size_t>(1, arg<std::size_t>(args, "rate", 100000) / 1000);
  b.start_background([&b, m, per_ms] {
    std::int64_t next = now_ns();
    for (std::int64_t i = 0; !b.stopping();) {
      for (std::size_t k = 0; k < per_ms; ++k) {
        if (!m->membership->broadcast(Term(i++))) return;
      }
      next += ms_to_ns(1);
      sleep_until_ns(next);
    }
  });
  return Term::object();
}

}  // namespace

void add_multicast_commands(CommandTable& table) {
  table["mc_join"] = mc_join;
  table["mc_view_size"] = mc_view_size;
  table["mc_broadcast_many"] = mc_broadcast_many;
  table["mc_count"] = mc_count;
  table["mc_rss"] = mc_rss;
  table["mc_heap"] = mc_heap;
  table["mc_confirmed_bench"] = mc_confirmed_bench;
  table["mc_confirmed_pipelined"] = mc_confirmed_pipelined;
  table["mc_join_bench"] = mc_join_bench;
  table["mc_broadcast_background"] = mc_broadcast_background;
}

}  // namespace syn::bench
