// exit and monitors across OS processes.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <optional>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;

TEST_CASE("exit from another OS process kills a process and monitors everywhere get the reason",
          "[process][exit][monitor]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);

  auto pid = cluster.alpha->spawn();
  auto ref = cluster.beta->ok("monitor", {{"pid", pid}})["ref"].get<std::int64_t>();
  std::mutex mutex;
  std::optional<Term> observed;
  cluster.observer->monitor(*Pid::parse(pid), [&](const Pid&, const Term& reason) {
    std::lock_guard lock(mutex);
    observed = reason;
  });
  // A monitor request travels on its own link and could arrive after the kill (it would then
  // answer noproc): a message sent after it on the same link, once received, proves it landed.
  cluster.beta->ok("send", {{"to", pid}, {"message", "sync from beta"}});
  cluster.observer->send(*Pid::parse(pid), "sync from observer");
  for (int i = 0; i < 2; ++i) {
    REQUIRE_FALSE(cluster.alpha->ok("receive", {{"pid", pid}, {"timeout_ms", 3000}})["message"].is_null());
  }

  Term reason = {{"killed_by", "gamma"}, {"why", {1, 2, 3}}};
  cluster.gamma->ok("exit", {{"pid", pid}, {"reason", reason}});

  auto down = cluster.beta->wait_down(ref);
  REQUIRE(down);
  CHECK(down->at("pid") == pid);
  CHECK(down->at("reason") == reason);
  CHECK(eventually([&] {
    std::lock_guard lock(mutex);
    return observed == reason;
  }));
  // Dead on its own node: alive false, and receive returns at once with nothing.
  CHECK(cluster.alpha->ok("is_alive", {{"pid", pid}})["alive"] == false);
  auto got = cluster.alpha->ok("receive", {{"pid", pid}, {"timeout_ms", 2000}});
  CHECK(got["message"].is_null());
  CHECK(got["alive"] == false);
}

TEST_CASE("the in-test node kills a process of an agent and a late monitor says noproc", "[process][exit][monitor]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);

  auto pid = cluster.beta->spawn();
  auto ref = cluster.beta->ok("monitor", {{"pid", pid}})["ref"].get<std::int64_t>();
  cluster.observer->exit(*Pid::parse(pid), "kill");
  auto down = cluster.beta->wait_down(ref);
  REQUIRE(down);
  CHECK(down->at("reason") == "kill");

  // Monitoring it afterwards, from another OS process.
  auto late = cluster.gamma->ok("monitor", {{"pid", pid}})["ref"].get<std::int64_t>();
  auto late_down = cluster.gamma->wait_down(late);
  REQUIRE(late_down);
  CHECK(late_down->at("reason") == "noproc");
}
