// Calibration: the same lookup loop on a bare absl::flat_hash_map (no syn), on this machine at
// this moment. PERFORMANCE.md's "physical limits" were measured this way; on a busy machine
// both figures move together, so the ratio of syn's lookup to this one stays meaningful.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"

#include <absl/container/flat_hash_map.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

namespace syn::bench {

namespace {

/// As large as a registry entry beside its key (pid, time, meta, process pointer).
struct Payload {
  std::uint64_t words[5] = {};
};

// Builds a map of `count` keys "name:<i>" (inserted in order), then looks every key up in
// turn (or in the order of a shuffle with shuffle_seed) `passes` times after one warm pass.
Term hash_bench(BenchNode&, const Term& args) {
  auto count = required<std::size_t>(args, "count");
  auto passes = std::max<std::size_t>(1, arg<std::size_t>(args, "passes", 1));
  absl::flat_hash_map<std::string, Payload> map;
  std::vector<std::size_t> order(count);
  std::iota(order.begin(), order.end(), 0);
  for (std::size_t i : order) map.emplace("name:" + std::to_string(i), Payload{});
  if (args.contains("shuffle_seed")) {
    std::mt19937_64 rng(args["shuffle_seed"].get<std::uint64_t>());
    std::shuffle(order.begin(), order.end(), rng);
  }
  std::vector<std::string> keys;
  keys.reserve(count);
  for (std::size_t i : order) keys.push_back("name:" + std::to_string(i));
  std::size_t found = 0;
  for (const auto& k : keys) found += map.find(k) != map.end();
  auto c0 = thread_cpu_ns();
  auto t0 = now_ns();
  for (std::size_t p = 0; p < passes; ++p) {
    for (const auto& k : keys) found += map.find(k) != map.end();
  }
  auto elapsed = now_ns() - t0;
  auto cpu = thread_cpu_ns() - c0;
  double ops = static_cast<double>(passes * count);
  return Term{{"ns_per_op", static_cast<double>(elapsed) / ops},
              {"cpu_ns_per_op", static_cast<double>(cpu) / ops},
              {"found", found}};
}

}  // namespace

void add_calibration_commands(CommandTable& table) { table["hash_bench"] = hash_bench; }

}  // namespace syn::bench
