// The syn-node program itself: its control protocol, its errors and its ways of stopping.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::Agent;
using syn::test::eventually;

TEST_CASE("syn-node answers every request with its id and reports errors", "[process][control]") {
  auto node = syn::test::start_agent("solo");

  auto help = node->ok("help");
  for (const char* cmd : {"endpoint", "nodes", "connect", "disconnect", "spawn", "send", "exit", "is_alive", "receive",
                          "monitor", "stats", "quit"}) {
    CHECK(help["commands"].contains(cmd));
  }

  auto unknown = node->call(Term{{"id", 41}, {"cmd", "no_such_command"}});
  CHECK(unknown["id"] == 41);
  CHECK(unknown["ok"] == false);
  CHECK(unknown["code"] == "unknown_command");

  auto missing = node->call("send", {{"to", "<solo.1.1>"}});
  CHECK(missing["ok"] == false);
  CHECK(missing["error"].get<std::string>().find("message") != std::string::npos);

  auto bad_pid = node->call("is_alive", {{"pid", "not a pid"}});
  CHECK(bad_pid["ok"] == false);
  CHECK(bad_pid["code"] == "bad_argument");

  auto not_ours = node->call("receive", {{"pid", "<elsewhere.1.1>"}});
  CHECK(not_ours["ok"] == false);

  // A process spawned here: alive, receives its own messages, dies by exit.
  auto pid = node->spawn();
  CHECK(node->ok("is_alive", {{"pid", pid}})["alive"] == true);
  node->ok("send", {{"to", pid}, {"message", 42}});
  CHECK(node->ok("receive", {{"pid", pid}, {"timeout_ms", 1000}})["message"] == 42);
  auto ref = node->ok("monitor", {{"pid", pid}})["ref"].get<std::int64_t>();
  node->ok("exit", {{"pid", pid}, {"reason", "enough"}});
  auto down = node->wait_down(ref);
  REQUIRE(down);
  CHECK(down->at("pid") == pid);
  CHECK(down->at("reason") == "enough");
  CHECK(node->ok("is_alive", {{"pid", pid}})["alive"] == false);
  CHECK(node->ok("processes")["processes"][pid] == false);

  // Still serving after all the errors.
  CHECK(node->ok("stats")["malformed_frames"] == 0);
}

TEST_CASE("syn-node reports bad options and exits with 2", "[process][control]") {
  auto options = syn::test::agent_options("x");
  options["no_such_option"] = 1;
  CHECK_THROWS_WITH(Agent(options, syn::test::process_agent_config()), Catch::Contains("no_such_option"));
}

TEST_CASE("syn-node stops gracefully on quit and on SIGTERM and peers see it leave at once", "[process][control]") {
  auto first = syn::test::start_agent("first");
  auto second = syn::test::start_agent("second", {first->endpoint()});
  auto third = syn::test::start_agent("third", {first->endpoint()}, {"--no-control"});
  REQUIRE(eventually([&] { return syn::test::agent_sees_exactly(*first, {"second", "third"}); }));

  SECTION("quit") {
    second->ok("quit");
    CHECK(second->wait(5s) == 0);
    CHECK(second->wait_event([](const Term& e) { return e["event"] == "stopped"; }, 1s));
    // A graceful leave is seen at once, not after peer_timeout.
    CHECK(eventually([&] { return syn::test::agent_sees_exactly(*first, {"third"}); }, 900ms));
  }
  SECTION("SIGTERM without a control stream") {
    CHECK(third->terminate(5s) == 0);
    CHECK(eventually([&] { return syn::test::agent_sees_exactly(*first, {"second"}); }, 900ms));
  }
}
