// Guaranteed multicast on the simulated cluster: the production multicast handler of several
// nodes over simulated links, with random joins, leaves, deaths, broadcasts, cuts (one way
// and both), heals, crashes and restarts; every member's log checked against SPEC 8, and the
// group whole again after the heal. `scripts/sim --multicast --seed N --trace` replays a seed.
#include "multicast/multicast_scope.hpp"
#include "sim/multicast_workload.hpp"
#include "sim/sim_cluster.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace syn;
using namespace syn::sim;

TEST_CASE("multicast sim: the same seed runs the same steps, another seed others", "[sim][multicast]") {
  MulticastScenarioConfig config;
  config.trace = true;
  config.operations = 60;
  auto a = run_multicast_scenario(7, config);
  auto b = run_multicast_scenario(7, config);
  auto c = run_multicast_scenario(8, config);
  REQUIRE(a.trace.size() > 50);
  CHECK(a.trace == b.trace);
  CHECK(a.violations == b.violations);
  CHECK(a.trace != c.trace);
}

TEST_CASE(
    "multicast sim: random members, broadcasts, cuts, resets, crashes and restarts keep SPEC 8 and heal into one view",
    "[sim][multicast]") {
  // CI runs a fixed range; scripts/sim --multicast runs as many others as wanted.
  MulticastScenarioConfig config;
  std::uint64_t first = env_or("SYN_MC_SIM_FIRST_SEED", 1), count = env_or("SYN_MC_SIM_SEEDS", 300);
  auto failed = run_seed_range(
      first, count,
      [&](std::uint64_t seed, bool traced) {
        MulticastScenarioConfig c = config;
        c.trace = traced;
        return run_multicast_scenario(seed, c);
      },
      "scripts/sim --multicast --seed ");
  INFO("seeds " << first << ".." << first + count - 1);
  CHECK(failed == 0);
}

TEST_CASE("multicast sim: nodes crashed together keep SPEC 8 and heal into one view", "[sim][multicast]") {
  // Every survivor is told of both links in one call (issue 14): their members leave the view
  // in the same view change or in consecutive ones.
  MulticastScenarioConfig config;
  config.crash_together = true;
  config.fault_rate = 0.15;
  auto failed = run_seed_range(
      50'000, 100,
      [&](std::uint64_t seed, bool traced) {
        MulticastScenarioConfig c = config;
        c.trace = traced;
        return run_multicast_scenario(seed, c);
      },
      "scripts/sim --multicast --crash-together --seed ");
  CHECK(failed == 0);
}

namespace {
/// A seed the simulator once failed on, what it showed, and what the fix changed.
struct RegressionSeed {
  const char* what;
  std::uint64_t seed;
  const char* before;
};

const RegressionSeed regression_seeds[] = {
    {"a node that follows no coordinator refuses a round naming none", 483765170007,
     "m2 refused a PREPARE with an empty pid as the coordinator it follows; the reader refused the frame as "
     "malformed and the link reset"},
    {"data that came before a view reaches none of the members that left in the round installing it", 876977216263,
     "m1 installed a merged view without m1's member that had left, and delivered the data that came before that "
     "view (m3's first messages) in the same step, before the member's leave was applied: the leaver got messages "
     "of a view it was not in. (Seed 483765175927, a junior coordinator paused for good after its senior "
     "restarted, runs another schedule since this fix; tests/unit/view_machine_test.cpp keeps that case.)"},
    {"a node that gave a round up and published on takes no offence at its own stream resent to it", 970000035753,
     "m2 answered a PREPARE (its digest: 5 messages of its own stream), gave the round up and published on; the "
     "coordinator's FLUSH still carried that digest, so m3 was told to resend m2's own stream to m2, which "
     "refused the frame as malformed"},
    {"a member that joins again after giving its leave up is in a view once the old leave is taken", 970000026571,
     "m2's member gave its leave up (the coordinator unreached) and joined again while the view still named its "
     "pid: the join asked for nothing, and it stayed joining to the end"},
    {"a node that lost the coordinator's role forgets the nodes it meant to drop", 991000052066,
     "m2 chose while idle to drop m4, lost the role to m1 before any round, and had it again in a later view: m4 "
     "stayed out of every proposal, and the joins of m4's members never ended"},
    {"a node that answered a round's FLUSH takes no other coordinator's round while that one can finish", 992000121516,
     "m1 answered m2's FLUSH, then the PREPARE of m3 (back from a cut, first in the view), gave m2's round up "
     "when m3's failed and delivered past its ends, then installed the view m2 had installed with it: m1 and m2 "
     "went from one view to the next having received different messages in it"},
    {"every member gone from a member's previous view is in its on_view's `left`", 751,
     "m3's member installed m2's view #12 with a member of its previous view missing from `left`: the list came "
     "from a node whose previous view was another, and was filtered against this node's (found by the recorder's "
     "check of `joined` and `left`, added then; a black-box run saw it after a coordinator's SIGKILL)"},
};
}  // namespace

TEST_CASE("multicast sim: regression seeds", "[sim][multicast]") {
  MulticastScenarioConfig config;
  for (const auto& regression : regression_seeds) {
    DYNAMIC_SECTION(regression.what << " (seed " << regression.seed << ")") {
      INFO("before the fix: " << regression.before);
      auto outcome = run_multicast_scenario(regression.seed, config);
      INFO(outcome.report());
      CHECK(outcome.ok());
    }
  }
}

TEST_CASE("multicast sim: a join whose process dies before its first view answers not_alive", "[sim][multicast]") {
  // Multicast ticks for ever: the clock runs for a while rather than until quiet.
  auto run = [&](World& world) { world.run_until(world.now() + 3'000'000); };
  struct Quiet : MulticastHandler {
    void on_message(const Pid&, const Term&) override {}
  };
  World world(41);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"});
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"});
  run(world);
  auto on_a = a.scopes().get<detail::MulticastScope>(Kind::multicast, "s");
  auto on_b = b.scopes().get<detail::MulticastScope>(Kind::multicast, "s");
  auto first = on_a->begin_join(Term("g"), a.spawn(), std::make_shared<Quiet>(), MulticastOptions{});
  REQUIRE(first);
  run(world);
  REQUIRE(on_a->await_join(*first));
  // b's member asks a's coordinator to let it in; its process dies before the view comes.
  Pid doomed = b.spawn();
  auto joining = on_b->begin_join(Term("g"), doomed, std::make_shared<Quiet>(), MulticastOptions{});
  REQUIRE(joining);
  auto process = b.find_local(doomed);
  REQUIRE(process);
  process->kill("gone");
  run(world);
  auto joined = on_b->await_join(*joining);
  REQUIRE_FALSE(joined);
  CHECK(joined.error() == Errc::not_alive);
}
