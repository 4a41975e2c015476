// Node::monitor / demonitor: watching local and remote processes.
#include "cluster/cluster_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <set>
#include <thread>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::DownLog;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;
using syn::test::test_options;

namespace {

/// Waits until the link from `from` to `to` has carried everything `from` sent before this
/// call (monitor requests included): a message to a fresh process there is ordered behind it.
void sync_link(Node& from, Node& to) {
  auto probe = to.spawn();
  from.send(probe.pid(), "sync");
  REQUIRE(probe.receive(5s));
}

}  // namespace

TEST_CASE("a monitor of a local process fires once with the exit reason", "[cluster][monitors]") {
  Node node(test_options("mon-local"));
  auto log = std::make_shared<DownLog>();
  auto p = node.spawn();
  auto ref1 = node.monitor(p.pid(), log->callback());
  auto ref2 = node.monitor(p.pid(), log->callback());  // a second, independent monitor
  CHECK(ref1 != ref2);
  CHECK(stays([&] { return log->size() == 0; }, 50ms));
  p.exit(Term{{"crashed", 42}});
  p.exit("twice");
  node.exit(p.pid(), "thrice");
  REQUIRE(eventually([&] { return log->size() == 2; }));
  for (std::size_t i = 0; i < 2; ++i) {
    CHECK(log->at(i).first == p.pid());
    CHECK(log->at(i).second == Term{{"crashed", 42}});
  }
  CHECK(stays([&] { return log->size() == 2; }, 100ms));
  node.demonitor(ref1);  // after it fired: a no-op
}

TEST_CASE("a monitor of a remote process fires once with the exit reason", "[cluster][monitors]") {
  syn::test::Cluster cluster(3, {}, "mon-remote");
  REQUIRE(cluster.wait_full_mesh());
  auto log = std::make_shared<DownLog>();
  auto target = cluster[1].spawn();
  cluster[0].monitor(target.pid(), log->callback());
  cluster[2].monitor(target.pid(), log->callback());
  cluster[1].monitor(target.pid(), log->callback());
  sync_link(cluster[0], cluster[1]);
  sync_link(cluster[2], cluster[1]);
  CHECK(log->size() == 0);

  SECTION("killed from another node") { cluster[2].exit(target.pid(), Term::array({"bad", "day"})); }
  SECTION("exiting by itself") { target.exit(Term::array({"bad", "day"})); }

  REQUIRE(eventually([&] { return log->size() == 3; }));
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(log->at(i).first == target.pid());
    CHECK(log->at(i).second == Term::array({"bad", "day"}));
  }
  CHECK(stays([&] { return log->size() == 3; }, 200ms));
}

TEST_CASE("monitoring a dead or unknown process gives noproc", "[cluster][monitors]") {
  syn::test::Cluster cluster(2, {}, "noproc");
  REQUIRE(cluster.wait_full_mesh());
  auto dead_local = cluster[0].spawn();
  auto dead_remote = cluster[1].spawn();
  dead_local.exit("gone");
  dead_remote.exit("gone");
  const std::vector<Pid> targets = {
      dead_local.pid(),
      dead_remote.pid(),
      Pid(cluster[0].name(), cluster[0].creation(), 987654321),  // never existed, local
      Pid(cluster[1].name(), cluster[1].creation(), 987654321),  // never existed, remote
      Pid(cluster[1].name(), cluster[1].creation() + 1, 1),      // another incarnation of a peer
      Pid(cluster[0].name(), cluster[0].creation() + 1, 1),      // another incarnation of this node
      Pid(),                                                     // the null pid
  };
  auto log = std::make_shared<DownLog>();
  for (const Pid& pid : targets) cluster[0].monitor(pid, log->callback());
  REQUIRE(eventually([&] { return log->size() == targets.size(); }));
  for (std::size_t i = 0; i < targets.size(); ++i) {
    INFO(log->at(i).first.to_string());
    CHECK(log->at(i).second == "noproc");
  }
  std::set<Pid> reported;
  for (std::size_t i = 0; i < targets.size(); ++i) reported.insert(log->at(i).first);
  CHECK(reported == std::set<Pid>(targets.begin(), targets.end()));
  CHECK(stays([&] { return log->size() == targets.size(); }, 100ms));
}

TEST_CASE("a pid of a previous incarnation of this very node gives noproc", "[cluster][monitors]") {
  auto o = test_options("mon-reborn");
  auto node = std::make_unique<Node>(o);
  Pid old_pid;
  {
    auto p = node->spawn();
    old_pid = p.pid();
  }
  node.reset();
  node = std::make_unique<Node>(o);
  auto fresh = node->spawn();  // the same local number
  REQUIRE(fresh.pid().id() == old_pid.id());
  auto log = std::make_shared<DownLog>();
  node->monitor(old_pid, log->callback());
  REQUIRE(eventually([&] { return log->size() == 1; }));
  CHECK(log->at(0).first == old_pid);
  CHECK(log->at(0).second == "noproc");
  fresh.exit("unrelated");
  CHECK(stays([&] { return log->size() == 1; }, 100ms));
}

TEST_CASE("when the node of a monitored process goes down the monitor gives noconnection", "[cluster][monitors]") {
  syn::test::Cluster cluster(3, {}, "noconn");
  REQUIRE(cluster.wait_full_mesh());
  auto log = std::make_shared<DownLog>();
  auto t1 = cluster[2].spawn();
  auto t2 = cluster[2].spawn();
  auto other = cluster[1].spawn();
  cluster[0].monitor(t1.pid(), log->callback());
  cluster[0].monitor(t2.pid(), log->callback());
  cluster[1].monitor(t1.pid(), log->callback());
  auto unaffected = cluster[0].monitor(other.pid(), log->callback());
  sync_link(cluster[0], cluster[2]);
  sync_link(cluster[1], cluster[2]);

  SECTION("it leaves") { cluster.stop(2); }
  SECTION("the link is dropped") {
    cluster[0].disconnect(cluster[2].name());
    cluster[1].disconnect(cluster[2].name());
  }
  REQUIRE(eventually([&] { return log->size() == 3; }));
  for (std::size_t i = 0; i < 3; ++i) CHECK(log->at(i).second == "noconnection");
  // Exactly once each: no late "shutdown" reason after the noconnection.
  CHECK(stays([&] { return log->size() == 3; }, 200ms));
  cluster[0].demonitor(unaffected);
}

TEST_CASE("monitoring a process of a node that is not connected gives noconnection", "[cluster][monitors]") {
  Node node(test_options("lonely"));
  auto log = std::make_shared<DownLog>();
  node.monitor(Pid("lonely-nobody", 7, 1), log->callback());
  REQUIRE(eventually([&] { return log->size() == 1; }));
  CHECK(log->at(0).second == "noconnection");
}

TEST_CASE("demonitor stops delivery", "[cluster][monitors]") {
  syn::test::Cluster cluster(2, {}, "demon");
  REQUIRE(cluster.wait_full_mesh());
  auto log = std::make_shared<DownLog>();
  auto local = cluster[0].spawn();
  auto remote = cluster[1].spawn();
  auto r1 = cluster[0].monitor(local.pid(), log->callback());
  auto r2 = cluster[0].monitor(remote.pid(), log->callback());
  auto kept = cluster[0].monitor(remote.pid(), log->callback());
  sync_link(cluster[0], cluster[1]);
  cluster[0].demonitor(r1);
  cluster[0].demonitor(r2);
  cluster[0].demonitor(r2);         // twice: a no-op
  cluster[0].demonitor(123456789);  // unknown: a no-op
  local.exit("bye");
  remote.exit("bye");
  REQUIRE(eventually([&] { return log->size() == 1; }));
  CHECK(log->at(0).first == remote.pid());
  CHECK(stays([&] { return log->size() == 1; }, 200ms));
  cluster[0].demonitor(kept);

  SECTION("a demonitor right before the node goes down") {
    auto p = cluster[1].spawn();
    auto ref = cluster[0].monitor(p.pid(), log->callback());
    sync_link(cluster[0], cluster[1]);
    cluster[0].demonitor(ref);
    cluster.stop(1);
    CHECK(stays([&] { return log->size() == 1; }, 200ms));
  }
}

TEST_CASE("a demonitored process that dies does not disturb later monitors", "[cluster][monitors]") {
  syn::test::Cluster cluster(2, {}, "remon");
  REQUIRE(cluster.wait_full_mesh());
  auto log = std::make_shared<DownLog>();
  auto p = cluster[1].spawn();
  for (int i = 0; i < 20; ++i) cluster[0].demonitor(cluster[0].monitor(p.pid(), log->callback()));
  cluster[0].monitor(p.pid(), log->callback());
  sync_link(cluster[0], cluster[1]);
  p.exit("last");
  REQUIRE(eventually([&] { return log->size() == 1; }));
  CHECK(log->at(0).second == "last");
  CHECK(stays([&] { return log->size() == 1; }, 200ms));
}

TEST_CASE("a monitor callback may call the node's API", "[cluster][monitors]") {
  syn::test::Cluster cluster(2, {}, "reentrant");
  REQUIRE(cluster.wait_full_mesh());
  Node& node = cluster[0];
  auto inbox = cluster[1].spawn();
  auto second = cluster[1].spawn();
  auto first = node.spawn();
  auto log = std::make_shared<DownLog>();
  std::atomic<int> callbacks{0};
  std::vector<Process> spawned;  // touched only by the callback until it has run
  node.monitor(first.pid(), [&, log](const Pid& pid, const Term& reason) {
    node.send(inbox.pid(), Term{{"down", pid}, {"reason", reason}});
    spawned.push_back(node.spawn());
    auto ref = node.monitor(second.pid(), log->callback());
    node.demonitor(node.monitor(spawned.back().pid(), log->callback()));
    (void)ref;
    node.exit(second.pid(), "chain");
    (void)node.nodes();
    (void)node.stats();
    node.connect(node.endpoint());
    (void)node.is_alive(pid);
    ++callbacks;
  });
  first.exit("start");
  auto m = inbox.receive(5s);
  REQUIRE(m);
  CHECK(m->body["reason"] == "start");
  CHECK(m->body["down"].get<Pid>() == first.pid());
  REQUIRE(eventually([&] { return log->size() == 1; }));
  CHECK(log->at(0).first == second.pid());
  CHECK(log->at(0).second == "chain");
  CHECK(callbacks == 1);
  REQUIRE(spawned.size() == 1);
  CHECK(spawned[0].alive());
}

TEST_CASE("a monitor callback that throws does not stop the others", "[cluster][monitors]") {
  Node node(test_options("mon-throw"));
  auto log = std::make_shared<DownLog>();
  auto p = node.spawn();
  auto q = node.spawn();
  std::optional<syn::test::QuietLog> quiet(std::in_place);  // the thrown error is logged
  node.monitor(p.pid(), [](const Pid&, const Term&) { throw std::runtime_error("callback failure"); });
  node.monitor(p.pid(), log->callback());
  node.monitor(q.pid(), log->callback());
  p.exit("one");
  q.exit("two");
  REQUIRE(eventually([&] { return log->size() == 2; }));
  quiet.reset();
  CHECK(log->at(0).second == "one");
  CHECK(log->at(1).second == "two");
}

TEST_CASE("monitors from many threads each fire once", "[cluster][monitors]") {
  syn::test::Cluster cluster(2, {}, "mon-many");
  REQUIRE(cluster.wait_full_mesh());
  constexpr int kTargets = 50;
  std::vector<Process> targets;
  for (int i = 0; i < kTargets; ++i) targets.push_back(cluster[1].spawn());
  auto log = std::make_shared<DownLog>();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (auto& target : targets) cluster[0].monitor(target.pid(), log->callback());
    });
  }
  // Kill them while the monitors are being placed: each monitor still fires exactly once,
  // with the exit reason or with noproc.
  for (auto& target : targets) target.exit("racing");
  for (auto& t : threads) t.join();
  REQUIRE(eventually([&] { return log->size() == 2 * kTargets; }));
  std::map<Pid, int> per_target;
  for (std::size_t i = 0; i < 2 * kTargets; ++i) {
    auto [pid, reason] = log->at(i);
    ++per_target[pid];
    CHECK((reason == "racing" || reason == "noproc"));
  }
  CHECK(per_target.size() == kTargets);
  for (auto& [pid, n] : per_target) CHECK(n == 2);
  CHECK(stays([&] { return log->size() == 2 * kTargets; }, 100ms));
}
