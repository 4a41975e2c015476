#pragma once
// Guaranteed multicast on a simulated cluster (SPEC 8): the production multicast handler
// (views, streams, flush, eviction, merge) on every node, random joins, leaves, process
// deaths, broadcasts and confirmed broadcasts, with cuts (both ways and one way, which make
// partial connectivity), resets of a link, heals, crashes and restarts under the same name.
// Every member's callbacks are recorded and checked by the offline checker of the process
// tests (tests/support/multicast_checker.hpp); once everything healed, the group must be one
// view of every live member again, and a last broadcast of each must reach all of them.
//
//   auto outcome = sim::run_multicast_scenario(seed, sim::MulticastScenarioConfig{});
#include "sim/sim_workload.hpp"

#include <cstdint>

namespace syn::sim {

/// What a multicast scenario does; every choice within it comes from the seed.
struct MulticastScenarioConfig {
  std::size_t nodes = 4;
  std::size_t groups = 2;
  std::size_t processes_per_node = 3;
  std::size_t operations = 200;  ///< API calls, spread over the run
  Micros run_time = 8'000'000;   ///< faults and calls happen in this much simulated time
  double fault_rate = 0.08;      ///< share of steps that are a fault (cut, heal, crash)
  bool crashes = true;
  bool one_way_cuts = true;
  /// Half the crashes take two nodes at once (World::crash_together).
  bool crash_together = false;
  /// Slow consumers among the faults: a node's callbacks lag by up to 8 s (past
  /// multicast_max_lag, 5 s here: its node is evicted), until the next such fault on it.
  bool slow_nodes = false;
  bool trace = false;  ///< keep a trace of every step (printed on failure)
};

/// Builds the cluster, runs the workload with faults, heals everything, lets it settle, and
/// checks every member's log and the final views.
Outcome run_multicast_scenario(std::uint64_t seed, const MulticastScenarioConfig& config);

}  // namespace syn::sim
