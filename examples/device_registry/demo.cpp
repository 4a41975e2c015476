// The demo: a live cluster of three gateways (alpha, beta, gamma), each a separate OS
// process, narrated step by step. What each gateway's event handler prints appears indented.
#include "common/demo_script.hpp"

#include <string>

namespace examples {

int run_demo() {
  DemoNode alpha{"--gateway", "alpha"}, beta{"--gateway", "beta"}, gamma{"--gateway", "gamma"};

  say("Three gateways start as separate processes; beta and gamma know only alpha's address");
  alpha.start({});
  beta.start({alpha.endpoint});
  gamma.start({alpha.endpoint});
  expect(
      wait_until([&] { return alpha.number("nodes") == 2 && beta.number("nodes") == 2 && gamma.number("nodes") == 2; }),
      "a full mesh");
  note("full mesh: every gateway sees the two others");

  say("Devices connect to gateways and register by serial number (every gateway prints every change)");
  expect_ok(alpha.ask("device 1001 1.4 Milan"), "device 1001 registered");
  expect_ok(alpha.ask("device 1002 1.4 Milan"), "device 1002 registered");
  expect_ok(beta.ask("device 2001 2.0 Turin"), "device 2001 registered");
  expect_ok(gamma.ask("device 3001 1.9 Rome"), "device 3001 registered");
  expect(
      wait_until([&] { return alpha.number("count") == 4 && beta.number("count") == 4 && gamma.number("count") == 4; }),
      "4 devices everywhere");

  say("Any gateway finds any device with a local lookup, and talks to it by name");
  note("gamma looks up device:1002 -> " + gamma.ask("lookup 1002"));
  note("alpha looks up device:2001 -> " + alpha.ask("lookup 2001"));
  note("gamma pings device:2001   -> " + gamma.ask("ping 2001"));
  note("beta looks up device:9     -> " + beta.ask("lookup 9"));

  say("beta crashes (SIGKILL): the others drop its devices at once");
  beta.process->kill_hard();
  expect(wait_until([&] { return alpha.number("count") == 3 && gamma.number("count") == 3; }), "beta's device purged");
  note("alpha and gamma now hold 3 devices; device:2001 -> " + alpha.ask("lookup 2001"));

  say("beta restarts (a new incarnation) and gets the registry in one snapshot");
  beta.start({alpha.endpoint});
  expect(wait_until([&] { return beta.number("nodes") == 2 && beta.number("count") == 3; }), "beta resynced");
  note("beta holds " + beta.ask("count") + " devices");

  say("A net split: alpha and gamma lose each other; beta still sees both");
  alpha.ask("disconnect gamma");
  expect(wait_until([&] { return alpha.number("nodes") == 1 && gamma.number("nodes") == 1; }), "the split");
  note("during the split device 9999 roams and registers through alpha (firmware 2.0) and gamma (2.1)");
  expect_ok(alpha.ask("device 9999 2.0 Milan"), "9999 on alpha");
  expect_ok(gamma.ask("device 9999 2.1 Turin"), "9999 on gamma");
  note("alpha sees device:9999 -> " + alpha.ask("lookup 9999"));
  note("gamma sees device:9999 -> " + gamma.ask("lookup 9999"));
  expect(wait_until([&] { return beta.ask("lookup 9999").find("\"2.1\"") != std::string::npos; }),
         "beta keeps gamma's");
  note("beta sees both and owns neither: it keeps the more recent -> " + beta.ask("lookup 9999"));

  say("The split heals: the conflict resolver keeps the newest firmware, on every gateway");
  alpha.ask("connect " + gamma.endpoint);
  expect(wait_until([&] {
           auto a = alpha.ask("lookup 9999"), b = beta.ask("lookup 9999"), g = gamma.ask("lookup 9999");
           return a == b && b == g && a.find("\"2.1\"") != std::string::npos;
         }),
         "the conflict resolved the same way everywhere");
  note("every gateway: device:9999 -> " + alpha.ask("lookup 9999"));
  note("(a custom resolver kills nothing: alpha's losing process stays alive, unregistered)");

  say("Done: stopping the gateways");
  alpha.process->quit();
  beta.process->quit();
  gamma.process->quit();
  return 0;
}

}  // namespace examples
