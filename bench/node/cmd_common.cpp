// Commands shared by every workload: processes, prepared names, watches (the timing of
// convergence), memory figures, connecting, and node information.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"

#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <random>
#include <stdexcept>
#include <thread>

namespace syn::bench {

namespace {

Term info(BenchNode& b, const Term&) {
  auto s = b.node().stats();
  return Term{{"name", b.node().name()},           {"endpoint", b.node().endpoint()}, {"nodes", b.node().nodes()},
              {"reg_count", b.registry().count()}, {"procs", b.procs().size()},       {"stats", Term(s)}};
}

// Waits until `peers` other nodes are connected and both handlers of the scope see them.
Term wait_mesh(BenchNode& b, const Term& args) {
  auto peers = required<std::size_t>(args, "peers");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 20000));
  while (now_ns() < deadline && !b.stopping()) {
    if (b.node().nodes().size() >= peers && b.node().subcluster_nodes(syn::Kind::registry, kScope).size() >= peers &&
        b.node().subcluster_nodes(syn::Kind::groups, kScope).size() >= peers) {
      return Term{{"nodes", b.node().nodes()}};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  throw std::runtime_error("mesh not complete: " + Term(b.node().nodes()).dump());
}

Term spawn(BenchNode& b, const Term& args) {
  auto count = required<std::size_t>(args, "count");
  auto& procs = b.procs();
  std::size_t first = procs.size();
  auto t0 = now_ns();
  procs.reserve(first + count);
  for (std::size_t i = 0; i < count; ++i) procs.push_back(b.node().spawn());
  return Term{{"first", first}, {"total", procs.size()}, {"elapsed_ns", now_ns() - t0}};
}

Term pids(BenchNode& b, const Term& args) {
  auto offset = arg<std::size_t>(args, "offset", 0);
  auto count = arg<std::size_t>(args, "count", b.procs().size() - std::min(offset, b.procs().size()));
  std::vector<std::string> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i) out.push_back(b.proc(offset + i).pid().to_string());
  return Term{{"pids", out}};
}

// Builds the name set `set`: prefix + (start + i) as string Terms. With shuffle_seed, the
// names are made in a random order, so the set is read in turn but hits the table at random
// (and the Terms themselves lie in memory in the order they are read).
Term names(BenchNode& b, const Term& args) {
  auto set = required<std::string>(args, "set");
  auto prefix = arg<std::string>(args, "prefix", "");
  auto count = required<std::size_t>(args, "count");
  auto start = arg<std::size_t>(args, "start", 0);
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), start);
  if (args.contains("shuffle_seed")) {
    std::mt19937_64 rng(args["shuffle_seed"].get<std::uint64_t>());
    std::shuffle(order.begin(), order.end(), rng);
  }
  std::vector<Term> out;
  out.reserve(count);
  for (std::size_t i : order) out.emplace_back(prefix + std::to_string(i));
  b.put_name_set(set, std::move(out));
  return Term{{"count", count}};
}

// File descriptors this process holds (sockets, eventfds, pipes, logs).
std::int64_t open_files() {
  std::int64_t n = 0;
  for ([[maybe_unused]] const auto& entry : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

std::int64_t rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::int64_t size = 0, resident = 0;
  statm >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

// Heap in use (glibc, every arena): small chunks in use plus mmapped chunks.
Term malloc_stats(BenchNode&, const Term&) {
  struct mallinfo2 mi = mallinfo2();
  return Term{{"in_use", mi.uordblks + mi.hblkhd},
              {"uordblks", mi.uordblks},
              {"hblkhd", mi.hblkhd},
              {"arena", mi.arena},
              {"rss", rss_bytes()},
              {"fds", open_files()}};
}

std::function<std::int64_t()> probe_for(BenchNode& b, const Term& args) {
  auto what = required<std::string>(args, "what");
  if (what == "reg_count") return [&b] { return static_cast<std::int64_t>(b.registry().count()); };
  if (what == "reg_count_node") {
    auto node = required<std::string>(args, "node");
    return [&b, node] { return static_cast<std::int64_t>(b.registry().count(node)); };
  }
  if (what == "member_count") {
    Term group = required<std::string>(args, "group");
    return [&b, group] { return static_cast<std::int64_t>(b.groups().member_count(group)); };
  }
  if (what == "connected") {
    auto node = required<std::string>(args, "node");
    return [&b, node] {
      auto nodes = b.node().nodes();
      return static_cast<std::int64_t>(std::find(nodes.begin(), nodes.end(), node) != nodes.end());
    };
  }
  throw std::invalid_argument("unknown watch '" + what + "'");
}

// Polls this node's replica until the probe equals `target`; answers the monotonic time it
// first saw it. Bounded by timeout_ms.
Term watch(BenchNode& b, const Term& args) {
  auto probe = probe_for(b, args);
  auto target = required<std::int64_t>(args, "target");
  auto poll = std::chrono::microseconds(arg<std::int64_t>(args, "poll_us", 100));
  auto timeout_ms = arg<std::int64_t>(args, "timeout_ms", 60000);
  auto deadline = now_ns() + ms_to_ns(timeout_ms);
  std::int64_t value = 0;
  std::size_t polls = 0;
  while (!b.stopping()) {
    value = probe();
    ++polls;
    if (value == target) return Term{{"t", now_ns()}, {"value", value}, {"polls", polls}};
    if (now_ns() > deadline) break;
    std::this_thread::sleep_for(poll);
  }
  throw std::runtime_error("watch " + args["what"].get<std::string>() + " timed out after " +
                           std::to_string(timeout_ms) + " ms: value " + std::to_string(value) + ", target " +
                           std::to_string(target));
}

Term connect(BenchNode& b, const Term& args) {
  auto endpoint = required<std::string>(args, "endpoint");
  sleep_until_ns(arg<std::int64_t>(args, "start_at", 0));
  auto t = now_ns();
  b.node().connect(endpoint);
  return Term{{"t", t}};
}

// CPU time of the whole process so far, and the node's frame counters (for per-phase deltas).
Term cpu(BenchNode& b, const Term&) {
  auto s = b.node().stats();
  return Term{{"cpu_ns", process_cpu_ns()},
              {"frames_sent", s.frames_sent},
              {"frames_received", s.frames_received},
              {"link_resets", s.link_resets}};
}

}  // namespace

void add_common_commands(CommandTable& table) {
  table["ping"] = [](BenchNode&, const Term&) { return Term::object(); };
  table["info"] = info;
  table["wait_mesh"] = wait_mesh;
  table["spawn"] = spawn;
  table["pids"] = pids;
  table["names"] = names;
  table["malloc_stats"] = malloc_stats;
  table["watch"] = watch;
  table["connect"] = connect;
  table["cpu"] = cpu;
}

}  // namespace syn::bench
