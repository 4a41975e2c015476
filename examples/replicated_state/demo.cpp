// The demo: replicas of a configuration on separate OS processes (alpha, beta, gamma, then
// delta), kept identical by a multicast group while a node is SIGKILLed mid-stream.
#include "common/demo_script.hpp"

#include <string>

namespace examples {

int run_demo() {
  DemoNode alpha{"--replica", "alpha"}, beta{"--replica", "beta"}, gamma{"--replica", "gamma"},
      delta{"--replica", "delta"};

  say("Three nodes start; each holds a replica of the configuration in multicast group 'config'");
  alpha.start({});
  beta.start({alpha.endpoint});
  gamma.start({alpha.endpoint});
  expect(wait_until([&] { return alpha.number("nodes") == 2 && gamma.number("nodes") == 2; }), "a full mesh");
  for (auto* r : {&alpha, &beta, &gamma}) expect_ok(r->ask("start"), r->name + " in the group");
  expect(wait_until([&] { return alpha.number("members") == 3 && gamma.number("members") == 3; }), "3 members");
  note("the group's view has 3 members, the same on every node");

  say("alpha and beta change settings: confirmed_broadcast returns once every replica applied the change");
  expect_ok(alpha.ask("set log_level \"info\""), "a confirmed change");
  expect_ok(beta.ask("set max_connections 512"), "a confirmed change");
  for (auto* r : {&alpha, &beta, &gamma}) note(r->name + ": " + r->ask("dump"));

  say("gamma streams 2000 changes and is SIGKILLed in the middle of it");
  gamma.ask("set_many gamma_key_ 2000");
  gamma.process->kill_hard();
  expect(wait_until([&] { return alpha.number("members") == 2 && beta.number("members") == 2; }),
         "gamma's member out of the view");
  note("the survivors installed a view without gamma (left: node_down), and agree on what it sent:");
  expect(wait_until([&] { return alpha.ask("digest") == beta.ask("digest"); }), "the same state on alpha and beta");
  note("alpha: " + alpha.ask("digest"));
  note("beta:  " + beta.ask("digest"));

  say("delta starts, joins the group, and asks it for a snapshot while changes keep coming");
  delta.start({alpha.endpoint});
  expect(wait_until([&] { return delta.number("nodes") == 2; }), "delta connected");
  expect_ok(delta.ask("start"), "delta in the group");
  expect_ok(alpha.ask("set feature_x true"), "a confirmed change after delta joined");
  expect(wait_until([&] { return delta.ask("ready") == "1"; }), "delta's snapshot");
  expect(wait_until([&] { return delta.ask("digest") == alpha.ask("digest"); }), "delta caught up");
  note("delta: " + delta.ask("digest") + " (the same as alpha's)");

  say("Done: stopping the replicas");
  for (auto* r : {&alpha, &beta, &delta}) r->process->quit();
  return 0;
}

}  // namespace examples
