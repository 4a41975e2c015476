// Real failures of whole OS processes: SIGKILL (a crash: the link drops) and SIGSTOP (a
// frozen peer: only peer_timeout can tell), then the way back into the cluster.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <mutex>
#include <optional>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::agent_sees_exactly;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;

namespace {

// What an in-test monitor saw, filled on the node's callback thread.
struct DownCatcher {
  std::mutex mutex;
  std::optional<Term> reason;
  std::function<void(const Pid&, const Term&)> callback() {
    return [this](const Pid&, const Term& why) {
      std::lock_guard lock(mutex);
      reason = why;
    };
  }
  std::optional<Term> get() {
    std::lock_guard lock(mutex);
    return reason;
  }
};

}  // namespace

TEST_CASE("a node killed with SIGKILL is seen down by the link drop and restarts as a new incarnation",
          "[process][failure][sigkill]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);

  auto old_pid_text = cluster.gamma->spawn();
  auto old_pid = *Pid::parse(old_pid_text);
  auto old_creation = cluster.gamma->creation();
  auto ref = cluster.alpha->ok("monitor", {{"pid", old_pid_text}})["ref"].get<std::int64_t>();
  DownCatcher observed;
  cluster.observer->monitor(old_pid, observed.callback());
  REQUIRE(cluster.observer->is_alive(old_pid));

  cluster.gamma->kill();

  // The link drop, not peer_timeout (1000 ms), must tell everyone: well within 900 ms.
  CHECK(eventually(
      [&] {
        return sees_exactly(*cluster.observer, {"alpha", "beta"}) &&
               agent_sees_exactly(*cluster.alpha, {"beta", "observer"}) &&
               agent_sees_exactly(*cluster.beta, {"alpha", "observer"});
      },
      900ms));

  // Its processes are dead everywhere; monitors fire with noconnection.
  CHECK_FALSE(cluster.observer->is_alive(old_pid));
  CHECK(cluster.beta->ok("is_alive", {{"pid", old_pid_text}})["alive"] == false);
  auto down = cluster.alpha->wait_down(ref);
  REQUIRE(down);
  CHECK(down->at("reason") == "noconnection");
  CHECK(eventually([&] { return observed.get() == Term("noconnection"); }));

  // Restarted under the same name: a new incarnation joins through any member.
  cluster.gamma = syn::test::start_agent("gamma", {cluster.beta->endpoint()});
  CHECK(cluster.gamma->creation() != old_creation);
  REQUIRE_MESH(cluster);

  // The old pids stay dead: not alive, and a new monitor on one says noproc.
  CHECK_FALSE(cluster.observer->is_alive(old_pid));
  CHECK(cluster.alpha->ok("is_alive", {{"pid", old_pid_text}})["alive"] == false);
  auto ref2 = cluster.alpha->ok("monitor", {{"pid", old_pid_text}})["ref"].get<std::int64_t>();
  auto down2 = cluster.alpha->wait_down(ref2);
  REQUIRE(down2);
  CHECK(down2->at("reason") == "noproc");

  // New pids work.
  auto new_pid = cluster.gamma->spawn();
  CHECK(Pid::parse(new_pid)->creation() == cluster.gamma->creation());
  CHECK(cluster.observer->is_alive(*Pid::parse(new_pid)));
  cluster.beta->ok("send", {{"to", new_pid}, {"message", "welcome back"}});
  CHECK(cluster.gamma->ok("receive", {{"pid", new_pid}, {"timeout_ms", 3000}})["message"] == "welcome back");
}

TEST_CASE("a node frozen with SIGSTOP is seen down after peer_timeout and rejoins after SIGCONT",
          "[process][failure][sigstop]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);
  auto pid = cluster.gamma->spawn();

  cluster.gamma->stop();

  // Its sockets stay open, so nothing but silence tells: still listed well before
  // peer_timeout (1000 ms)...
  CHECK(stays([&] { return sees_exactly(*cluster.observer, {"alpha", "beta", "gamma"}); }, 400ms));
  CHECK(agent_sees_exactly(*cluster.alpha, {"beta", "gamma", "observer"}));
  // ...and gone once it passed (with a margin for heartbeats and scheduling).
  CHECK(eventually(
      [&] {
        return sees_exactly(*cluster.observer, {"alpha", "beta"}) &&
               agent_sees_exactly(*cluster.alpha, {"beta", "observer"}) &&
               agent_sees_exactly(*cluster.beta, {"alpha", "observer"});
      },
      2000ms));
  CHECK_FALSE(cluster.observer->is_alive(*Pid::parse(pid)));

  cluster.gamma->resume();
  REQUIRE_MESH(cluster);
  // Same incarnation: its processes survived the freeze and are reachable again.
  CHECK(cluster.observer->is_alive(*Pid::parse(pid)));
  cluster.alpha->ok("send", {{"to", pid}, {"message", "thawed"}});
  CHECK(cluster.gamma->ok("receive", {{"pid", pid}, {"timeout_ms", 3000}})["message"] == "thawed");
}

TEST_CASE("a crashed peer counts as a lost connection in the stats, not as a send-queue overflow",
          "[process][failure][sigkill][stats]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);
  auto before = cluster.observer->stats();
  // Traffic to gamma while it dies: sends that fail because its connection is gone.
  auto target = *Pid::parse(cluster.gamma->spawn());
  cluster.gamma->kill();
  for (int i = 0; i < 200 && cluster.observer->is_alive(target); ++i) cluster.observer->send(target, i);
  REQUIRE(eventually([&] { return sees_exactly(*cluster.observer, {"alpha", "beta"}); }));
  auto after = cluster.observer->stats();
  CHECK(after.connections_lost == before.connections_lost + 1);
  CHECK(after.link_resets == before.link_resets);
  // The agents' stats say the same through syn-node (alpha sees the loss on its own clock:
  // the observer seeing it first says nothing of alpha).
  CHECK(eventually([&] { return cluster.alpha->ok("stats")["connections_lost"].get<int>() >= 1; }));
  CHECK(cluster.alpha->ok("stats")["link_resets"].get<int>() == 0);
}
