#pragma once
// Random workloads on a simulated cluster and the checks that must hold once it healed:
// SPEC 6's invariants for the registry and groups, and each node's callbacks.
//
//   auto outcome = sim::run_scenario(seed, sim::ScenarioConfig{});
//   if (!outcome.ok()) print(outcome.report());   // names the seed; replay it with the same seed
#include "sim/sim_cluster.hpp"

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace syn::sim {

/// What a scenario does; every choice within it comes from the seed.
struct ScenarioConfig {
  std::size_t nodes = 4;
  std::size_t names = 6;  ///< a small pool: conflicts happen
  std::size_t groups = 3;
  std::size_t processes_per_node = 4;
  std::size_t operations = 150;  ///< API calls, spread over the run
  Micros run_time = 6'000'000;   ///< faults and calls happen in this much simulated time
  double fault_rate = 0.15;      ///< share of steps that are a fault (cut, heal, crash)
  bool crashes = true;
  bool one_way_cuts = true;
  /// Half the crashes take two nodes at once (World::crash_together).
  bool crash_together = false;
  /// A custom conflict resolver for every node (the default resolver when empty).
  ConflictResolver resolver;
  bool trace = false;  ///< keep a trace of every step (printed on failure)
  /// Sabotage, to show the checks can fail: the network loses one frame of the workload
  /// without ending its session.
  bool lose_one_frame = false;
};

/// What a scenario found.
struct Outcome {
  std::uint64_t seed = 0;
  std::vector<std::string> violations;  ///< empty: every check held
  std::vector<std::string> trace;       ///< when tracing
  std::size_t operations = 0, faults = 0;
  Micros simulated = 0;
  bool ok() const { return violations.empty(); }
  /// The seed, the violations, and the end of the trace.
  std::string report(std::size_t trace_lines = 80) const;
};

/// The number in environment variable `name` (seed ranges of the tests), or `fallback`.
inline std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v && *v ? std::strtoull(v, nullptr, 10) : fallback;
}

/// Runs seeds [first, first + count) of `run(seed, traced)` and returns how many failed; the
/// first failure is run again traced and its report printed, with `replay` and the seed (the
/// command that replays it).
std::size_t run_seed_range(std::uint64_t first, std::uint64_t count,
                           const std::function<Outcome(std::uint64_t seed, bool traced)>& run,
                           const std::string& replay);

/// The faults a scenario mixes in.
struct FaultMix {
  bool crashes = true;
  bool one_way_cuts = true;
  bool resets = false;          ///< link resets (World::reset) beside silent cuts
  bool crash_together = false;  ///< half the crashes of two running nodes take both at once
};

/// One random fault between two random nodes of `names`: a cut (one way or both), a reset, a
/// heal, or a crash of a running node (of both at once, with crash_together) or the restart
/// (`restart`) of a crashed one.
void random_fault(World& world, const std::vector<std::string>& names, const FaultMix& mix,
                  const std::function<void(const std::string&)>& restart);

/// The conflict resolvers scenarios run with, by name: "default" (the default resolver),
/// "keep-local" (each owner keeps its own: the owners disagree), "keep-neither",
/// "keep-incoming". nullopt: no resolver of that name.
std::optional<ConflictResolver> resolver_named(std::string_view name);

/// Builds the cluster, runs the workload with faults, heals everything, lets it settle, and
/// checks it.
Outcome run_scenario(std::uint64_t seed, const ScenarioConfig& config);

}  // namespace syn::sim
