// The demo: three chat servers (alpha, beta, gamma) as separate OS processes. Rooms are
// groups; what the servers print (presence, messages read by users) appears indented.
#include "common/demo_script.hpp"

#include <string>

namespace examples {

int run_demo() {
  DemoNode alpha{"--server", "alpha"}, beta{"--server", "beta"}, gamma{"--server", "gamma"};

  say("Three chat servers start; each watches the presence in room 'lobby'");
  alpha.start({});
  beta.start({alpha.endpoint});
  gamma.start({alpha.endpoint});
  expect(
      wait_until([&] { return alpha.number("nodes") == 2 && beta.number("nodes") == 2 && gamma.number("nodes") == 2; }),
      "a full mesh");
  for (auto* s : {&alpha, &beta, &gamma}) s->ask("watch lobby");

  say("Users connect to different servers and enter the lobby");
  expect_ok(alpha.ask("enter alice lobby"), "alice in");
  expect_ok(beta.ask("enter bob lobby"), "bob in");
  expect_ok(gamma.ask("enter carol lobby"), "carol in");
  expect(wait_until([&] {
           return alpha.number("members lobby") == 3 && beta.number("members lobby") == 3 &&
                  gamma.number("members lobby") == 3;
         }),
         "3 members everywhere");

  say("alice says hello: one publish reaches every member, on every server");
  note("delivered to " + alpha.ask("say alice lobby hello everyone!") + " members");

  say("bob polls the room (multi_call): everyone answers within one timeout");
  note(beta.ask("poll lobby pizza tonight?"));

  say("bob goes away: his member meta changes atomically, presence shows it");
  note("bob's meta is now " + beta.ask("status bob lobby away"));

  say("carol leaves; dave arrives on gamma");
  expect_ok(gamma.ask("leave carol lobby"), "carol out");
  expect_ok(gamma.ask("enter dave lobby"), "dave in");
  expect(wait_until([&] { return alpha.number("members lobby") == 3; }), "3 members");

  say("gamma crashes (SIGKILL): alpha and beta see dave leave at once");
  gamma.process->kill_hard();
  expect(wait_until([&] { return alpha.number("members lobby") == 2 && beta.number("members lobby") == 2; }),
         "gamma's users purged");
  note("the lobby has " + alpha.ask("members lobby") + " members left");
  note("alice publishes again: delivered to " + alpha.ask("say alice lobby where did dave go?") + " members");

  say("Done: stopping the servers");
  alpha.process->quit();
  beta.process->quit();
  return 0;
}

}  // namespace examples
