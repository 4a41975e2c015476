// Separate OS processes form one cluster and carry messages between their processes.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;

TEST_CASE("syn-node processes form a full mesh from one seed", "[process][mesh]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);
  // Each agent's ready line and its endpoint command agree.
  auto info = cluster.beta->ok("endpoint");
  CHECK(info["name"] == "beta");
  CHECK(info["endpoint"] == cluster.beta->endpoint());
  CHECK(info["creation"] == cluster.beta->creation());
}

TEST_CASE("messages cross between processes on different OS processes", "[process][messages]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);

  SECTION("spawned on one agent, sent from another, in order") {
    auto pid = cluster.alpha->spawn();
    for (int i = 0; i < 3; ++i) cluster.beta->ok("send", {{"to", pid}, {"message", {{"seq", i}, {"from", "beta"}}}});
    for (int i = 0; i < 3; ++i) {
      auto got = cluster.alpha->ok("receive", {{"pid", pid}, {"timeout_ms", 3000}});
      CHECK(got["message"] == Term{{"seq", i}, {"from", "beta"}});
    }
    // Nothing more arrived.
    CHECK(cluster.alpha->ok("receive", {{"pid", pid}})["message"].is_null());
  }

  SECTION("between an agent and the in-test node, both ways") {
    auto on_gamma = cluster.gamma->spawn();
    cluster.observer->send(*Pid::parse(on_gamma), Term{"from", "observer"});
    CHECK(cluster.gamma->ok("receive", {{"pid", on_gamma}, {"timeout_ms", 3000}})["message"] ==
          Term{"from", "observer"});

    auto local = cluster.observer->spawn();
    cluster.gamma->ok("send", {{"to", local.pid().to_string()}, {"message", {{"from", "gamma"}}}});
    auto m = local.receive(3s);
    REQUIRE(m);
    CHECK(m->body == Term{{"from", "gamma"}});
  }
}
