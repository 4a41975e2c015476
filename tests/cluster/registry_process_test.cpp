// Registered processes that die (SPEC 2): lookup hides a dead local process at once, the name
// can be taken again right after the death, and the removal reaches every node with
// process_exit and the exit reason.
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;
using syn::test::stays;

TEST_CASE("registry: a dead local holder is hidden at once and its name is free at once", "[registry][death]") {
  auto rec_a = std::make_shared<Recorder>();
  auto rec_b = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("dh1", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  Node& b = nodes.add("dh2", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_b; });
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ra = a.registry("s");
  auto rb = b.registry("s");

  // White-box: the process is dead but its cleanup has not run (the window between the death
  // and the removal of its names, widened for good).
  auto p = a.spawn();
  REQUIRE(ra.register_name("svc", p.pid(), "old"));
  REQUIRE(ra.register_name("svc2", p.pid()));
  REQUIRE(eventually([&] { return rb.whereis("svc") == p.pid(); }));
  p.control()->kill_silently("crashed");
  CHECK_FALSE(p.alive());
  CHECK_FALSE(ra.lookup("svc"));
  CHECK_FALSE(ra.whereis("svc"));
  CHECK_FALSE(ra.send("svc", "lost"));
  auto u = ra.update("svc", [](const Pid&, const Term& m) { return m; });
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::undefined);
  auto r = ra.unregister_name("svc");
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::undefined);

  // Registering the name again succeeds right away, locally and from a remote caller.
  auto q = a.spawn();
  REQUIRE(ra.register_name("svc", q.pid(), "new"));
  CHECK(ra.lookup("svc") == Entry{q.pid(), "new"});
  REQUIRE(eventually([&] { return rb.lookup("svc") == Entry{q.pid(), "new"}; }));
  auto q2 = a.spawn();
  REQUIRE(rb.register_name("svc2", q2.pid(), "new2"));
  CHECK(rb.lookup("svc2") == Entry{q2.pid(), "new2"});
  CHECK(ra.lookup("svc2") == Entry{q2.pid(), "new2"});

  // The old registrations went away with process_exit and the exit reason, once per node.
  Reason died = Reason::process_exit("crashed");
  Reason normal = Reason::normal();
  std::vector<std::string> expected = {
      ev_reg("s", "svc", p.pid(), "old", normal), ev_reg("s", "svc2", p.pid(), nullptr, normal),
      ev_unreg("s", "svc", p.pid(), "old", died), ev_unreg("s", "svc2", p.pid(), nullptr, died),
      ev_reg("s", "svc", q.pid(), "new", normal), ev_reg("s", "svc2", q2.pid(), "new2", normal),
  };
  expect_events(*rec_a, expected, "dh1");
  expect_events(*rec_b, expected, "dh2", 50ms);
  CHECK(ra.count() == 2);
  CHECK(rb.count() == 2);
}

TEST_CASE("registry: a lookup racing a death never returns a holder already seen dead", "[registry][death]") {
  // The owner's lookups skip reading the process while no local process is dying
  // (NodeCore::deaths_in_progress): a reader that saw the process dead must not find it.
  Nodes nodes;
  Node& a = nodes.add("lr1", {"s"});
  auto ra = a.registry("s");
  constexpr int kRounds = 200;
  int seen_dead_then_found = 0;
  int seen_dead = 0;
  for (int round = 0; round < kRounds; ++round) {
    auto p = a.spawn();
    REQUIRE(ra.register_name("racer", p.pid()));
    std::atomic<bool> go{false};
    std::thread killer([&] {
      while (!go.load()) {}
      p.exit("boom");
    });
    go.store(true);
    for (int i = 0; i < 100000; ++i) {
      bool dead = !a.is_alive(p.pid());
      auto holder = ra.whereis("racer");
      if (dead) {
        ++seen_dead;
        if (holder) ++seen_dead_then_found;
        break;
      }
    }
    killer.join();
    REQUIRE(eventually([&] { return !ra.whereis("racer"); }));
  }
  INFO(seen_dead << " rounds saw the death before the lookup");
  CHECK(seen_dead_then_found == 0);
  CHECK(seen_dead > 0);
}

TEST_CASE("registry: a process restarted 100 times under the same name always gets it", "[registry][death]") {
  auto rec_b = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("rs1", {"s"});
  Node& b = nodes.add("rs2", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_b; });
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ra = a.registry("s");
  auto rb = b.registry("s");

  constexpr int kRestarts = 100;
  std::vector<Pid> pids;
  auto p = a.spawn();
  REQUIRE(ra.register_name("worker", p.pid(), 0));
  pids.push_back(p.pid());
  int failures = 0;
  for (int i = 1; i <= kRestarts; ++i) {
    // Killed from another node: the death and its cleanup happen on a's network thread,
    // while this thread registers the successor as soon as it sees the process dead.
    b.exit(p.pid(), Term{{"restart", i}});
    while (p.alive()) std::this_thread::yield();
    CHECK_FALSE(ra.lookup("worker"));
    p = a.spawn();
    auto r = ra.register_name("worker", p.pid(), i);
    if (!r) {
      ++failures;
      UNSCOPED_INFO("restart " << i << ": " << r.error());
    }
    CHECK(ra.lookup("worker") == Entry{p.pid(), i});
    pids.push_back(p.pid());
  }
  CHECK(failures == 0);
  REQUIRE(eventually([&] { return rb.lookup("worker") == Entry{p.pid(), kRestarts}; }));
  CHECK(ra.count() == 1);
  CHECK(rb.count() == 1);

  // b saw every incarnation come and go, in order, each death with its exit reason.
  std::vector<std::string> expected;
  for (int i = 0; i <= kRestarts; ++i) {
    expected.push_back(ev_reg("s", "worker", pids[i], i, Reason::normal()));
    if (i < kRestarts) {
      expected.push_back(ev_unreg("s", "worker", pids[i], i, Reason::process_exit(Term{{"restart", i + 1}})));
    }
  }
  REQUIRE(eventually([&] { return rec_b->size() >= expected.size(); }));
  CHECK(rec_b->events() == expected);
  CHECK(stays([&] { return rec_b->size() == expected.size(); }, 100ms));
}

TEST_CASE("registry: a killed holder leaves every node with process_exit and its reason", "[registry][death]") {
  std::shared_ptr<Recorder> rec[3];
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("kx" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  REQUIRE(wait_scope_mesh(nodes.running_nodes(), "s"));
  auto p = nodes[1].spawn();
  REQUIRE(nodes[0].registry("s").register_name("victim", p.pid(), "m"));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return nodes[i].registry("s").whereis("victim") == p.pid(); }));

  nodes[2].exit(p.pid(), Term::array({"shot", 3}));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return !nodes[i].registry("s").whereis("victim"); }));
    expect_events(*rec[i],
                  {ev_reg("s", "victim", p.pid(), "m", Reason::normal()),
                   ev_unreg("s", "victim", p.pid(), "m", Reason::process_exit(Term::array({"shot", 3})))},
                  nodes[i].name(), i == 0 ? 300ms : 50ms);
  }
  CHECK(p.exit_reason() == Term::array({"shot", 3}));
}

TEST_CASE("registry: a remote registration racing the death of its process leaves no entry anywhere",
          "[registry][death]") {
  Nodes nodes;
  Node& a = nodes.add("rr1", {"s"});
  Node& c = nodes.add("rr2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &c}, "s"));
  auto ra = a.registry("s");
  auto rc = c.registry("s");
  // c registers a's process while a kills it as soon as a holds the name: the removal must
  // not overtake the reply to c (c would keep an entry of a dead process for good).
  for (int i = 0; i < 200; ++i) {
    auto p = a.spawn();
    Term name = Term{{"race", i}};
    std::atomic<bool> answered{false};  // a call that failed otherwise must not leave the killer waiting
    std::thread killer([&] {
      while (!ra.whereis(name) && p.alive() && !answered) std::this_thread::yield();
      p.exit("raced");
    });
    auto r = rc.register_name(name, p.pid());
    answered = true;
    killer.join();
    INFO("round " << i << ": " << (r ? std::string("ok") : std::string(to_string(r.error()))));
    CHECK((r || r.error() == Errc::not_alive));
    REQUIRE(eventually([&] { return !rc.whereis(name); }, 3s));
  }
  CHECK(eventually([&] { return rc.count() == 0 && ra.count() == 0; }));
}
