// The simulated cluster (tests/sim): the production scope engines and handlers of several
// nodes over simulated links, with random workloads and faults, checked against SPEC 6 after
// the heal. Every run follows from its seed; a failure prints the seed, and
// `scripts/sim --seed N --trace` replays it step by step.
#include "sim/sim_workload.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace syn;
using namespace syn::sim;

namespace {

/// Runs seeds [first, first + count) and fails with the report of the first failing one.
void run_seeds(std::uint64_t first, std::uint64_t count, const ScenarioConfig& config) {
  auto failed = run_seed_range(
      first, count,
      [&](std::uint64_t seed, bool traced) {
        ScenarioConfig c = config;
        c.trace = traced;
        return run_scenario(seed, c);
      },
      "scripts/sim --seed ");
  INFO("seeds " << first << ".." << first + count - 1);
  CHECK(failed == 0);
}

}  // namespace

TEST_CASE("sim: the same seed runs the same steps, another seed others", "[sim]") {
  ScenarioConfig config;
  config.trace = true;
  config.operations = 60;
  auto a = run_scenario(7, config);
  auto b = run_scenario(7, config);
  auto c = run_scenario(8, config);
  REQUIRE(a.trace.size() > 50);
  CHECK(a.trace == b.trace);
  CHECK(a.violations == b.violations);
  CHECK(a.trace != c.trace);
}

TEST_CASE("sim: random registry and groups workloads under cuts, one-way cuts and crashes converge", "[sim]") {
  // CI runs a fixed range; scripts/sim runs as many others as wanted.
  ScenarioConfig config;
  run_seeds(env_or("SYN_SIM_FIRST_SEED", 1), env_or("SYN_SIM_SEEDS", 2000), config);
}

TEST_CASE("sim: calm runs (no faults) converge with every callback exactly once", "[sim]") {
  ScenarioConfig config;
  config.fault_rate = 0;
  config.operations = 300;
  run_seeds(10'000, 50, config);
}

TEST_CASE("sim: five nodes, many faults", "[sim]") {
  ScenarioConfig config;
  config.nodes = 5;
  config.fault_rate = 0.4;
  config.operations = 200;
  run_seeds(20'000, 100, config);
}

TEST_CASE("sim: nodes crashed together are purged together, and the cluster converges", "[sim]") {
  // Two nodes killed at once: every survivor is told of both links in one call and purges
  // them in one scan of each table (issue 14). Half the crashes take two nodes here.
  ScenarioConfig config;
  config.nodes = 5;
  config.fault_rate = 0.3;
  config.crash_together = true;
  std::size_t told_together = 0;
  for (std::uint64_t seed = 40'000; seed < 40'020; ++seed) {
    ScenarioConfig traced = config;
    traced.trace = true;
    auto outcome = run_scenario(seed, traced);
    for (const auto& line : outcome.trace) told_together += line.find("downs at once") != std::string::npos;
  }
  CHECK(told_together > 0);  // the runs below take the path they are meant to test
  run_seeds(40'000, 300, config);
}

TEST_CASE("sim: custom conflict resolvers converge", "[sim]") {
  // SPEC 6: a resolver that keeps neither frees the name everywhere; resolvers that keep the
  // incoming one on both owners free it too; resolvers that disagree (each owner keeps its own)
  // fall back to the default choice after a bounded number of rounds instead of livelocking.
  for (const char* name : {"keep-local", "keep-neither", "keep-incoming"}) {
    SECTION(name) {
      ScenarioConfig config;
      config.resolver = *resolver_named(name);
      run_seeds(30'000, 150, config);
    }
  }
}

TEST_CASE("sim: regression seeds", "[sim]") {
  SECTION("keep-neither: the other owner lost its process and took ours; the removal reaches it") {
    // Before the fix, n1 kept showing n3's registration of "name-5" that every other node had
    // freed: keep-neither left the other owner out of the removal.
    ScenarioConfig config;
    config.resolver = *resolver_named("keep-neither");
    run_seeds(453873905901, 1, config);
  }
  SECTION("keep-local: owners that keep disagreeing settle on the default choice") {
    // Before the fix, the two owners restamped their own registration for ever: never quiet
    // (158655 frames in the last 30 s of simulated time).
    ScenarioConfig config;
    config.resolver = *resolver_named("keep-local");
    run_seeds(30'004, 1, config);
  }
  SECTION("keep-local: a change to a registration restamped by a conflict is newer than the restamp") {
    // Before the fix, n2 won a conflict over "name-3" with a time taken past n4's (n4's clock
    // ran ahead), then updated it with a time from its own clock, older than that: n4 dropped
    // the update as stale, and then n2's removal too, and kept a dead process's name. 1 seed
    // in about 9000 of keep-local runs failed so.
    ScenarioConfig config;
    config.resolver = *resolver_named("keep-local");
    run_seeds(20125782001, 1, config);
    config.crash_together = true;
    run_seeds(533308009847, 1, config);
    run_seeds(533308015155, 1, config);
  }
}

TEST_CASE("sim: the checks catch a replica that missed one change", "[sim]") {
  // A sabotaged network that loses one frame without ending its session (a bug TCP never
  // makes) must show up as a violation: the checks can fail.
  ScenarioConfig config;
  config.fault_rate = 0;
  config.crashes = false;
  config.operations = 100;
  config.lose_one_frame = true;
  std::size_t caught = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) caught += run_scenario(seed, config).ok() ? 0 : 1;
  CHECK(caught >= 5);
}

TEST_CASE("sim: a World lets go of every node it made, crashed and restarted ones too", "[sim]") {
  // Each node's directory holds the node as its host: without the World breaking that cycle,
  // every seed leaked its cluster and hour-long runs ran out of memory.
  std::vector<std::weak_ptr<SimNode>> made;
  {
    World world(11);
    made.push_back(world.add_node("a", NodeOptions{}, {"s"}).weak_from_this());
    made.push_back(world.add_node("b", NodeOptions{}, {"s"}).weak_from_this());
    REQUIRE(world.settle(10'000'000));
    world.crash("b");
    world.restart("b");
    made.push_back(world.node("b")->weak_from_this());
    REQUIRE(world.settle(10'000'000));
    for (const auto& node : made) REQUIRE_FALSE(node.expired());
  }
  for (const auto& node : made) CHECK(node.expired());
}
