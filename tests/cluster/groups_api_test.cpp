// The groups write API from local and remote callers (SPEC 2, 4, 5): join, meta updates by a
// second join, no-op joins, leave, update_member and their errors (strict mode, not_alive,
// invalid_remote_scope, node_down, not_in_group, undefined), read-your-writes, and exactly one
// callback per node per change with the reason `normal`.
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <future>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::contains;
using syn::test::eventually;
using syn::test::stays;

namespace {

struct MyError : std::runtime_error {
  MyError() : std::runtime_error("mine") {}
};

}  // namespace

TEST_CASE("groups: join, meta update, no-op join and leave from local and remote callers", "[groups][api]") {
  RecordedThree t("gapi");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gb = t.g(1), gc = t.g(2);
  auto pa = a.spawn();
  auto pb = b.spawn();
  const Reason normal = Reason::normal();
  const Term m1 = Term{{"v", 1}}, m2 = Term{{"v", 2}};

  // Local join: visible and its callback run when the call returns.
  REQUIRE(ga.join("g", pa.pid(), m1));
  CHECK(ga.member("g", pa.pid()) == Member{pa.pid(), m1});
  CHECK(contains(t.rec[0]->events(), ev_join("s", "g", pa.pid(), m1, normal)));
  for (auto* g : {&gb, &gc}) REQUIRE(eventually([&] { return g->member("g", pa.pid()) == Member{pa.pid(), m1}; }));

  // Remote caller (c joins b's process): read-your-writes on c, callback on c before the return.
  REQUIRE(gc.join("g", pb.pid(), "mb"));
  CHECK(gc.member("g", pb.pid()) == Member{pb.pid(), "mb"});
  CHECK(gc.is_member("g", pb.pid()));
  CHECK(gc.member_count("g") == 2);
  CHECK(contains(t.rec[2]->events(), ev_join("s", "g", pb.pid(), "mb", normal)));
  REQUIRE(eventually([&] { return ga.member("g", pb.pid()) == Member{pb.pid(), "mb"}; }));
  CHECK(gb.member("g", pb.pid()) == Member{pb.pid(), "mb"});  // b is the authority: it had it first

  // A second join with another meta updates it (remote caller b for a's process).
  REQUIRE(gb.join("g", pa.pid(), m2));
  CHECK(gb.member("g", pa.pid()) == Member{pa.pid(), m2});
  CHECK(contains(t.rec[1]->events(), ev_upd("s", "g", pa.pid(), m1, m2, normal)));
  for (auto* g : {&ga, &gc}) REQUIRE(eventually([&] { return g->member("g", pa.pid()) == Member{pa.pid(), m2}; }));
  CHECK(ga.member_count("g") == 2);

  // The same meta again: ok and a no-op, local or remote caller.
  REQUIRE(ga.join("g", pa.pid(), m2));
  REQUIRE(gc.join("g", pa.pid(), m2));
  REQUIRE(gc.join("g", pb.pid(), "mb"));

  // Without meta: null.
  REQUIRE(gb.join("h", pa.pid()));
  CHECK(gb.member("h", pa.pid()) == Member{pa.pid(), nullptr});

  // Leave from a remote caller: read-your-writes on c.
  REQUIRE(gc.leave("g", pa.pid()));
  CHECK_FALSE(gc.is_member("g", pa.pid()));
  CHECK(gc.member_count("g") == 1);
  CHECK(gc.members("g") == std::vector<Member>{{pb.pid(), "mb"}});
  for (auto* g : {&ga, &gb}) REQUIRE(eventually([&] { return !g->is_member("g", pa.pid()); }));

  // Leave again, or of a group never joined: not_in_group, local or remote caller.
  CHECK(ga.leave("g", pa.pid()).error() == Errc::not_in_group);
  CHECK(gb.leave("g", pa.pid()).error() == Errc::not_in_group);
  CHECK(gc.leave("nothing", pb.pid()).error() == Errc::not_in_group);
  CHECK(gb.leave("h", pb.pid()).error() == Errc::not_in_group);  // h exists, pb is not in it

  // Local leave.
  REQUIRE(gb.leave("g", pb.pid()));
  CHECK(gb.members("g").empty());
  CHECK(gb.member_count("g") == 0);

  std::vector<std::string> expected = {
      ev_join("s", "g", pa.pid(), m1, normal),    ev_join("s", "g", pb.pid(), "mb", normal),
      ev_upd("s", "g", pa.pid(), m1, m2, normal), ev_join("s", "h", pa.pid(), nullptr, normal),
      ev_left("s", "g", pa.pid(), m2, normal),    ev_left("s", "g", pb.pid(), "mb", normal)};
  for (int i = 0; i < 3; ++i) {
    for (auto* g : {&ga, &gb, &gc}) {
      REQUIRE(eventually([&] { return g->member_count("g") == 0 && g->member_count("h") == 1; }));
    }
    expect_events(*t.rec[i], expected, t.n[i]->name(), i == 0 ? 300ms : 30ms);
  }
  // The callbacks of one node come in the order applied.
  auto events_b = t.rec[1]->events();
  CHECK(std::find(events_b.begin(), events_b.end(), ev_join("s", "g", pa.pid(), m1, normal)) <
        std::find(events_b.begin(), events_b.end(), ev_upd("s", "g", pa.pid(), m1, m2, normal)));
}

TEST_CASE("groups: errors of join and leave", "[groups][api]") {
  RecordedThree t("gerr");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gc = t.g(2);

  SECTION("not_alive: a dead local pid, a dead remote pid, a pid of no process") {
    auto pa = a.spawn();
    auto pb = b.spawn();
    Pid pa_pid = pa.pid(), pb_pid = pb.pid();
    pa.exit("bye");
    pb.exit("bye");
    CHECK(ga.join("g", pa_pid).error() == Errc::not_alive);
    CHECK(gc.join("g", pa_pid, "m").error() == Errc::not_alive);
    CHECK(gc.join("g", pb_pid).error() == Errc::not_alive);
    CHECK(ga.join("g", pb_pid).error() == Errc::not_alive);
    Pid never(b.name(), b.creation(), 999999);
    CHECK(ga.join("g", never).error() == Errc::not_alive);
    CHECK(ga.join_async("g", pb_pid).get().error() == Errc::not_alive);
    CHECK(ga.join_async("g", pa_pid).get().error() == Errc::not_alive);
    // An old incarnation of a running node: its pids are dead.
    Pid old_incarnation(b.name(), b.creation() + 1, pb_pid.id());
    CHECK(ga.join("g", old_incarnation).error() == Errc::not_alive);
    CHECK(stays([&] { return ga.group_count() == 0 && gc.group_count() == 0; }, 100ms));
    CHECK(t.rec[0]->size() == 0);
    CHECK(t.rec[2]->size() == 0);
  }

  SECTION("invalid_remote_scope: the pid's node has not added the scope") {
    Node& d = t.nodes.add("gerr4", {"other"});
    REQUIRE(eventually([&] { return a.nodes().size() == 3; }));
    auto pd = d.spawn();
    CHECK(ga.join("g", pd.pid()).error() == Errc::invalid_remote_scope);
    CHECK(ga.leave("g", pd.pid()).error() == Errc::invalid_remote_scope);
    CHECK(ga.update_member("g", pd.pid(), [](const Term& m) { return m; }).error() == Errc::invalid_remote_scope);
    CHECK(ga.join_async("g", pd.pid()).get().error() == Errc::invalid_remote_scope);
    CHECK_THROWS_AS(d.groups("s"), Error);
    try {
      d.groups("s");
    } catch (const Error& e) { CHECK(e.code() == Errc::invalid_scope); }
    CHECK(ga.group_count() == 0);
  }

  SECTION("node_down: the pid's node is gone") {
    auto pb = b.spawn();
    Pid pb_pid = pb.pid();
    REQUIRE(ga.join("g", pb_pid, "x"));
    t.nodes.stop(1);
    REQUIRE(eventually([&] { return a.nodes().size() == 1 && t.n[2]->nodes().size() == 1; }));
    CHECK(ga.join("g", pb_pid).error() == Errc::node_down);
    CHECK(gc.leave("g", pb_pid).error() == Errc::node_down);
    CHECK(gc.update_member("g", pb_pid, [](const Term& m) { return m; }).error() == Errc::node_down);
    CHECK(ga.member_count("g") == 0);  // purged with the node
  }

  SECTION("a stopped node: node_down") {
    Nodes lone;
    Node& x = lone.add("gerr_lone", {"s"});
    auto gx = x.groups("s");
    auto px = x.spawn();
    x.core()->stop();
    CHECK(gx.join("g", px.pid()).error() == Errc::node_down);
    CHECK(gx.leave("g", px.pid()).error() == Errc::node_down);
  }
}

TEST_CASE("groups: strict mode", "[groups][api]") {
  RecordedThree t("gstrict", true);
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gb = t.g(1), gc = t.g(2);
  auto pa = a.spawn();
  auto pb = b.spawn();
  // The Pid overload is refused, even for a local process of the calling node.
  CHECK(ga.join("g", pa.pid(), "m").error() == Errc::not_self);
  CHECK(gc.join("g", pb.pid(), "m").error() == Errc::not_self);
  CHECK(ga.join_async("g", pa.pid()).get().error() == Errc::not_self);
  CHECK(ga.group_count() == 0);
  // The Process& overload is allowed.
  REQUIRE(ga.join("g", pa, "ma"));
  CHECK(ga.member("g", pa.pid()) == Member{pa.pid(), "ma"});
  REQUIRE(gb.join("g", pb, "mb"));
  REQUIRE(ga.join("g", pa, "ma2"));  // a meta update by the process itself
  for (auto* g : {&ga, &gb, &gc}) {
    REQUIRE(eventually([&] { return g->members("g") == std::vector<Member>{{pa.pid(), "ma2"}, {pb.pid(), "mb"}}; }));
  }
  // Strict mode is about joining: leave is allowed.
  REQUIRE(gb.leave("g", pb.pid()));
  REQUIRE(eventually([&] { return ga.member_count("g") == 1 && gc.member_count("g") == 1; }));
  for (int i = 0; i < 3; ++i) {
    expect_events(
        *t.rec[i],
        {ev_join("s", "g", pa.pid(), "ma", Reason::normal()), ev_join("s", "g", pb.pid(), "mb", Reason::normal()),
         ev_upd("s", "g", pa.pid(), "ma", "ma2", Reason::normal()),
         ev_left("s", "g", pb.pid(), "mb", Reason::normal())},
        t.n[i]->name(), i == 0 ? 200ms : 20ms);
  }
}

TEST_CASE("groups: update_member", "[groups][api]") {
  RecordedThree t("gupd");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  auto ga = t.g(0), gb = t.g(1), gc = t.g(2);
  const Reason normal = Reason::normal();
  auto pa = a.spawn();
  auto pb = b.spawn();

  // not_alive first (even when not a member), then undefined.
  {
    auto dead = a.spawn();
    Pid dead_pid = dead.pid();
    dead.exit("x");
    int calls = 0;
    auto fn = [&](const Term& m) {
      ++calls;
      return m;
    };
    CHECK(ga.update_member("g", dead_pid, fn).error() == Errc::not_alive);
    CHECK(gc.update_member("g", dead_pid, fn).error() == Errc::not_alive);
    CHECK(ga.update_member("g", pa.pid(), fn).error() == Errc::undefined);
    CHECK(gc.update_member("g", pa.pid(), fn).error() == Errc::undefined);
    REQUIRE(gb.join("other", pa.pid(), 1));  // member of another group only
    CHECK(gc.update_member("g", pa.pid(), fn).error() == Errc::undefined);
    CHECK(ga.update_member("g", pa.pid(), fn).error() == Errc::undefined);
    CHECK(calls == 0);
  }

  // A member of a group, then dead, not cleaned yet: still not_alive (checked first).
  REQUIRE(ga.join("g", pa.pid(), Term{{"n", 0}}));
  REQUIRE(gc.join("g", pb.pid(), Term{{"n", 0}}));
  for (auto* g : {&ga, &gb, &gc}) REQUIRE(eventually([&] { return g->member_count("g") == 2; }));

  // Local and remote callers; fn gets the current meta; read-your-writes.
  Term seen;
  auto r = ga.update_member("g", pa.pid(), [&](const Term& m) {
    seen = m;
    return Term{{"n", m["n"].get<int>() + 1}};
  });
  REQUIRE(r);
  CHECK(seen == Term{{"n", 0}});
  CHECK(*r == Member{pa.pid(), Term{{"n", 1}}});
  CHECK(ga.member("g", pa.pid())->meta == Term{{"n", 1}});
  r = gc.update_member("g", pa.pid(), [&](const Term& m) { return Term{{"n", m["n"].get<int>() + 1}}; });
  REQUIRE(r);
  CHECK(*r == Member{pa.pid(), Term{{"n", 2}}});
  CHECK(gc.member("g", pa.pid())->meta == Term{{"n", 2}});
  CHECK(contains(t.rec[2]->events(), ev_upd("s", "g", pa.pid(), Term{{"n", 1}}, Term{{"n", 2}}, normal)));

  // An exception thrown by fn reaches the caller unchanged and changes nothing.
  CHECK_THROWS_AS(ga.update_member("g", pb.pid(), [](const Term&) -> Term { throw MyError(); }), MyError);
  CHECK_THROWS_AS(gb.update_member("g", pb.pid(), [](const Term&) -> Term { throw MyError(); }), MyError);
  CHECK_THROWS_AS(gc.update_member("g", pa.pid(), [](const Term&) -> Term { throw MyError(); }), MyError);
  CHECK_THROWS_AS(ga.update_member("g", pa.pid(), [](const Term&) -> Term { throw MyError(); }), MyError);

  // An unchanged meta: returns the member, no callback.
  r = gb.update_member("g", pa.pid(), [](const Term& m) { return m; });
  REQUIRE(r);
  CHECK(*r == Member{pa.pid(), Term{{"n", 2}}});
  r = gb.update_member("g", pb.pid(), [](const Term& m) { return m; });
  REQUIRE(r);
  CHECK(*r == Member{pb.pid(), Term{{"n", 0}}});

  std::vector<std::string> expected = {ev_join("s", "other", pa.pid(), 1, normal),
                                       ev_join("s", "g", pa.pid(), Term{{"n", 0}}, normal),
                                       ev_join("s", "g", pb.pid(), Term{{"n", 0}}, normal),
                                       ev_upd("s", "g", pa.pid(), Term{{"n", 0}}, Term{{"n", 1}}, normal),
                                       ev_upd("s", "g", pa.pid(), Term{{"n", 1}}, Term{{"n", 2}}, normal)};
  for (int i = 0; i < 3; ++i) {
    expect_events(*t.rec[i], expected, t.n[i]->name(), i == 0 ? 300ms : 30ms);
    CHECK(t.n[i]->groups("s").members("g") ==
          std::vector<Member>{{pa.pid(), Term{{"n", 2}}}, {pb.pid(), Term{{"n", 0}}}});
  }

  SECTION("no caller-side pre-check: the caller's replica does not have the member yet") {
    auto pb2 = b.spawn();
    Term got;
    std::future<Result<Member>> f;
    {
      EngineBlock hold(c);  // c learns nothing of b's join meanwhile
      REQUIRE(gb.join("late", pb2.pid(), "first"));
      CHECK_FALSE(gc.is_member("late", pb2.pid()));
      f = std::async(std::launch::async, [&] {
        return gc.update_member("late", pb2.pid(), [&](const Term& m) {
          got = m;
          return Term("second");
        });
      });
    }
    auto result = f.get();
    REQUIRE(result);
    CHECK(got == "first");
    CHECK(*result == Member{pb2.pid(), "second"});
    CHECK(gc.member("late", pb2.pid())->meta == "second");
    for (auto* g : {&ga, &gb}) REQUIRE(eventually([&] { return g->member("late", pb2.pid())->meta == "second"; }));
  }

  SECTION("a dead member not cleaned up on the caller: not_alive") {
    // c still lists pb for a moment after its death; the authority answers not_alive.
    Pid pb_pid = pb.pid();
    {
      EngineBlock hold(c);
      pb.exit("gone");
      auto f = std::async(std::launch::async, [&] {
        return gc.update_member("g", pb_pid, [](const Term& m) { return Term{{"n", m["n"].get<int>() + 1}}; });
      });
      hold.release();
      CHECK(f.get().error() == Errc::not_alive);
    }
    CHECK(gb.update_member("g", pb_pid, [](const Term& m) { return m; }).error() == Errc::not_alive);
  }
}

TEST_CASE("groups: concurrent update_member from several threads and nodes loses no increment", "[groups][api]") {
  RecordedThree t("gcas");
  Node& a = *t.n[0];
  auto pa = a.spawn();
  REQUIRE(t.g(1).join("counter", pa.pid(), Term{{"n", 0}}));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return t.g(i).member_count("counter") == 1; }));

  constexpr int kPerThread = 20;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int node = 0; node < 3; ++node) {
    for (int k = 0; k < 2; ++k) {
      threads.emplace_back([&, node] {
        auto g = t.n[node]->groups("s");
        for (int i = 0; i < kPerThread; ++i) {
          auto r = g.update_member("counter", pa.pid(), [](const Term& m) {
            return Term{{"n", m["n"].get<int>() + 1}};
          });
          if (!r) ++failures;
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  const int total = 3 * 2 * kPerThread;
  for (int i = 0; i < 3; ++i) {
    auto g = t.g(i);
    INFO("node " << t.n[i]->name());
    REQUIRE(eventually([&] { return g.member("counter", pa.pid())->meta == Term{{"n", total}}; }));
    // One callback per increment on every node, each from n to n+1.
    REQUIRE(eventually([&] { return t.rec[i]->size() == static_cast<std::size_t>(1 + total); }));
    std::set<std::string> seen;
    for (auto& e : t.rec[i]->events()) seen.insert(e);
    for (int n = 0; n < total; ++n) {
      CHECK(seen.count(ev_upd("s", "counter", pa.pid(), Term{{"n", n}}, Term{{"n", n + 1}}, Reason::normal())) == 1);
    }
  }
}

TEST_CASE("groups: a callback may call the writing API", "[groups][api]") {
  RecordedThree t("ghook");
  Node &a = *t.n[0], &b = *t.n[1];
  auto pa = a.spawn();
  auto pb = b.spawn();
  // On c: when pa joins "trigger", c's handler joins pb (remote) to "echo" and pa to "echo2".
  std::atomic<int> hook_results{0};
  t.rec[2]->set_hook([&](const std::string& event) {
    if (event.rfind("join s \"trigger\"", 0) != 0) return;
    auto g = t.n[2]->groups("s");
    if (g.join("echo", pb.pid(), "from-hook")) ++hook_results;
    if (g.update_member("trigger", pa.pid(), [](const Term&) { return Term("updated-by-hook"); })) ++hook_results;
  });
  REQUIRE(t.g(0).join("trigger", pa.pid(), "t"));
  REQUIRE(eventually([&] { return hook_results == 2; }));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] {
      return t.g(i).member("echo", pb.pid()) == Member{pb.pid(), "from-hook"} &&
             t.g(i).member("trigger", pa.pid()) == Member{pa.pid(), "updated-by-hook"};
    }));
  }
}

TEST_CASE("groups: a handler that throws does not disturb the node", "[groups][api]") {
  RecordedThree t("gthrow");
  t.rec[1]->set_hook([](const std::string&) { throw std::runtime_error("handler failure"); });
  auto pa = t.n[0]->spawn();
  REQUIRE(t.g(1).join("g", pa.pid(), 1));
  REQUIRE(t.g(1).join("g", pa.pid(), 2));
  REQUIRE(t.g(0).leave("g", pa.pid()));
  REQUIRE(t.g(0).join("g", pa.pid(), 3));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return t.g(i).member("g", pa.pid()) == Member{pa.pid(), 3}; }));
    REQUIRE(eventually([&] { return t.rec[i]->size() == 4; }));
  }
}

TEST_CASE("groups: join and leave of a list of pids on several nodes: one result per pid, in input order",
          "[groups][api][list]") {
  RecordedThree t("glist");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  auto ga = t.g(0), gc = t.g(2);
  auto pa1 = a.spawn(), pa2 = a.spawn();
  auto pb1 = b.spawn(), pb2 = b.spawn();
  auto dead = c.spawn();
  Pid dead_pid = dead.pid();
  dead.exit("bye");
  // Pids of three nodes, interleaved, with a dead one in the middle: the caller is on a.
  std::vector<Pid> pids = {pb1.pid(), pa1.pid(), dead_pid, pb2.pid(), pa2.pid()};
  auto joined = ga.join("pool", pids, "worker");
  REQUIRE(joined.size() == pids.size());
  CHECK(joined[0]);
  CHECK(joined[1]);
  CHECK(joined[2].error() == Errc::not_alive);
  CHECK(joined[3]);
  CHECK(joined[4]);
  // Read-your-writes on the caller's node; every node converges on the same four members.
  std::vector<Pid> want = {pa1.pid(), pa2.pid(), pb1.pid(), pb2.pid()};
  std::sort(want.begin(), want.end());
  CHECK(ga.member_pids("pool") == want);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return t.g(i).member_pids("pool") == want; }));
    for (const auto& m : t.g(i).members("pool")) CHECK(m.meta == "worker");
  }
  // Leave from another node: the pid not in the group gets not_in_group, in its place.
  auto left = gc.leave("pool", {pa2.pid(), pb2.pid(), pb2.pid(), pa1.pid()});
  REQUIRE(left.size() == 4);
  CHECK(left[0]);
  CHECK(left[1]);
  CHECK(left[2].error() == Errc::not_in_group);  // left a moment before, by the same call
  CHECK(left[3]);
  REQUIRE(eventually([&] {
    for (int i = 0; i < 3; ++i) {
      if (t.g(i).member_pids("pool") != std::vector<Pid>{pb1.pid()}) return false;
    }
    return true;
  }));
  // An empty list does nothing.
  CHECK(ga.join("pool", std::vector<Pid>{}).empty());
  CHECK(ga.leave("pool", std::vector<Pid>{}).empty());
}
