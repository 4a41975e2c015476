// The registry API from local and remote callers (SPEC 2, 3): register, lookup, unregister,
// update, whereis, send, counts, errors, strict mode, read-your-writes, and the races
// (race_condition, undefined, taken, not_alive at the authority).
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <thread>

using namespace syn;
using namespace syn::test::reg;
using syn::test::contains;
using syn::test::eventually;
using syn::test::stays;

namespace {

struct Three : syn::test::ThreeNodes<Recorder> {
  explicit Three(const std::string& prefix, bool strict = false) : ThreeNodes(prefix, Kind::registry, strict) {}
  Registry reg(int i) { return n[i]->registry("s"); }
};

struct MyError : std::runtime_error {
  MyError() : std::runtime_error("mine") {}
};

}  // namespace

TEST_CASE("registry: register, lookup, unregister from local and remote callers", "[registry][api]") {
  Three t("api");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  auto ra = t.reg(0), rb = t.reg(1), rc = t.reg(2);
  auto pa = a.spawn();
  auto pb = b.spawn();
  const Reason normal = Reason::normal();

  // Local register: visible and its callback run when the call returns.
  REQUIRE(ra.register_name("x", pa.pid(), Term{{"v", 1}}));
  CHECK(ra.lookup("x") == Entry{pa.pid(), Term{{"v", 1}}});
  CHECK(ra.whereis("x") == pa.pid());
  CHECK(contains(t.rec[0]->events(), ev_reg("s", "x", pa.pid(), Term{{"v", 1}}, normal)));
  for (auto* r : {&rb, &rc}) REQUIRE(eventually([&] { return r->lookup("x") == Entry{pa.pid(), Term{{"v", 1}}}; }));

  // Same pid, same meta: ok and a no-op (no callback anywhere), from the authority or a remote caller.
  REQUIRE(ra.register_name("x", pa.pid(), Term{{"v", 1}}));
  REQUIRE(rc.register_name("x", pa.pid(), Term{{"v", 1}}));

  // Same pid, other meta, from a remote caller: an update, applied on the caller at return.
  REQUIRE(rc.register_name("x", pa.pid(), Term{{"v", 2}}));
  CHECK(rc.lookup("x") == Entry{pa.pid(), Term{{"v", 2}}});
  CHECK(contains(t.rec[2]->events(), ev_upd("s", "x", pa.pid(), Term{{"v", 1}}, Term{{"v", 2}}, normal)));
  CHECK(ra.lookup("x") == Entry{pa.pid(), Term{{"v", 2}}});  // the authority had applied it
  REQUIRE(eventually([&] { return rb.lookup("x") == Entry{pa.pid(), Term{{"v", 2}}}; }));

  // Taken, from the authority of the other pid and from a third node; nothing changes.
  auto r = rb.register_name("x", pb.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::taken);
  r = rc.register_name("x", pb.pid(), "z");
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::taken);
  CHECK(rb.whereis("x") == pa.pid());

  // Register without meta: null meta. A remote caller registering a pid of a third node.
  REQUIRE(rc.register_name("y", pb.pid()));
  CHECK(rc.lookup("y") == Entry{pb.pid(), nullptr});
  CHECK(contains(t.rec[2]->events(), ev_reg("s", "y", pb.pid(), nullptr, normal)));
  CHECK(rb.lookup("y") == Entry{pb.pid(), nullptr});
  REQUIRE(eventually([&] { return ra.lookup("y") == Entry{pb.pid(), nullptr}; }));

  // Names of any Term type.
  Term composite = Term::array({"italy", "lombardy"});
  REQUIRE(rb.register_name(composite, pb.pid(), 42));
  REQUIRE(rb.register_name(7, pb.pid()));
  REQUIRE(eventually([&] { return ra.whereis(composite) == pb.pid() && rc.whereis(7) == pb.pid(); }));
  CHECK_FALSE(ra.whereis("7"));

  // Counts on every node.
  for (auto* reg : {&ra, &rb, &rc}) {
    REQUIRE(eventually([&] { return reg->count() == 4; }));
    CHECK(reg->count(a.name()) == 1);
    CHECK(reg->count(b.name()) == 3);
    CHECK(reg->count(c.name()) == 0);
    CHECK(reg->count("nobody") == 0);
  }
  CHECK(ra.local_count() == 1);
  CHECK(rb.local_count() == 3);
  CHECK(rc.local_count() == 0);

  // send by name, from any node.
  CHECK(rc.send("x", "hello"));
  auto m = pa.receive(5s);
  REQUIRE(m);
  CHECK(m->body == "hello");
  CHECK(ra.send(composite, Term{{"k", "v"}}));
  m = pb.receive(5s);
  REQUIRE(m);
  CHECK(m->body == Term{{"k", "v"}});
  CHECK_FALSE(rb.send("nobody", "lost"));

  // Unregister: unknown name; remote caller; local caller. Read-your-writes, callbacks at return.
  r = rc.unregister_name("nobody");
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::undefined);
  REQUIRE(rc.unregister_name("x"));  // held by a pid of a
  CHECK_FALSE(rc.lookup("x"));
  CHECK(contains(t.rec[2]->events(), ev_unreg("s", "x", pa.pid(), Term{{"v", 2}}, normal)));
  CHECK_FALSE(ra.lookup("x"));
  REQUIRE(eventually([&] { return !rb.lookup("x"); }));
  r = rc.unregister_name("x");
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::undefined);
  REQUIRE(rb.unregister_name(7));
  CHECK_FALSE(rb.whereis(7));
  CHECK(contains(t.rec[1]->events(), ev_unreg("s", 7, pb.pid(), nullptr, normal)));
  REQUIRE(eventually([&] { return !ra.whereis(7) && !rc.whereis(7); }));
  CHECK_FALSE(rc.send("x", "lost"));

  // The name is free again, for another pid.
  REQUIRE(ra.register_name("x", pb.pid(), "again"));
  CHECK(ra.whereis("x") == pb.pid());
  for (auto* reg : {&ra, &rb, &rc}) {
    REQUIRE(eventually([&] { return reg->count() == 3 && reg->whereis("x") == pb.pid(); }));
    CHECK(reg->count(b.name()) == 3);
    CHECK(reg->count(a.name()) == 0);
  }

  // Every node got exactly one callback per change.
  Pid A = pa.pid(), B = pb.pid();
  std::vector<std::string> all = {
      ev_reg("s", "x", A, Term{{"v", 1}}, normal), ev_upd("s", "x", A, Term{{"v", 1}}, Term{{"v", 2}}, normal),
      ev_reg("s", "y", B, nullptr, normal),        ev_reg("s", composite, B, 42, normal),
      ev_reg("s", 7, B, nullptr, normal),          ev_unreg("s", "x", A, Term{{"v", 2}}, normal),
      ev_unreg("s", 7, B, nullptr, normal),        ev_reg("s", "x", B, "again", normal),
  };
  for (int i = 0; i < 3; ++i) expect_events(*t.rec[i], all, t.n[i]->name(), i == 0 ? 300ms : 50ms);
}

TEST_CASE("registry: names of every string and integer width are found by exact type on every node",
          "[registry][api][names]") {
  // Lookups build the key of a string or integer name without encoding it (ShortKey and
  // SplitKey): every msgpack width, on the owner and on a replica, must find what was stored.
  Three t("rnames");
  auto owner = t.reg(0), replica = t.reg(1);
  auto p = t.n[0]->spawn();
  std::vector<Term> names;
  for (int n : {0, 1, 7, 8, 13, 14, 15, 16, 31, 32, 255, 256, 70000}) {
    names.emplace_back(std::string(static_cast<std::size_t>(n), 'n'));
  }
  for (std::uint64_t v : {0ULL, 127ULL, 128ULL, 65536ULL, 0x100000000ULL, ~0ULL}) names.emplace_back(v);
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{-33}, std::int64_t{-40000}, std::int64_t{INT64_MIN}}) {
    names.emplace_back(v);
  }
  for (std::size_t i = 0; i < names.size(); ++i) REQUIRE(owner.register_name(names[i], p.pid(), static_cast<int>(i)));
  for (auto* reg : {&owner, &replica}) {
    for (std::size_t i = 0; i < names.size(); ++i) {
      INFO(names[i].dump().substr(0, 40));
      REQUIRE(eventually([&] { return reg->lookup(names[i]) == Entry{p.pid(), static_cast<int>(i)}; }));
    }
    // The same value under another type is another name (SPEC 2).
    CHECK_FALSE(reg->lookup(Term(127.0)));
    CHECK_FALSE(reg->lookup(Term("127")));
    CHECK_FALSE(reg->lookup(Term(std::string(13, 'm'))));
    auto unsigned_127 = std::find(names.begin(), names.end(), Term(std::uint64_t{127})) - names.begin();
    CHECK(reg->lookup(Term(std::int64_t{127})) == Entry{p.pid(), unsigned_127});  // signed or unsigned: one integer
  }
}

TEST_CASE("registry: not_alive, one pid with many names, and the death of the holder", "[registry][api]") {
  Three t("many");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ra = t.reg(0), rb = t.reg(1), rc = t.reg(2);

  // Dead local pid; dead remote pid (from a remote caller); a null pid.
  auto dead_a = a.spawn();
  dead_a.exit("gone");
  auto dead_b = b.spawn();
  dead_b.exit("gone");
  for (auto* reg : {&ra, &rb, &rc}) {
    for (const Pid& p : {dead_a.pid(), dead_b.pid(), Pid()}) {
      auto r = reg->register_name("dead", p);
      REQUIRE_FALSE(r);
      CHECK(r.error() == Errc::not_alive);
    }
  }
  CHECK_FALSE(ra.lookup("dead"));

  // One pid holds many names, registered from every node.
  auto p = a.spawn();
  for (int i = 0; i < 30; ++i) {
    auto& reg = i % 3 == 0 ? ra : i % 3 == 1 ? rb : rc;
    REQUIRE(reg.register_name(Term{{"n", i}}, p.pid(), i));
    CHECK(reg.lookup(Term{{"n", i}}) == Entry{p.pid(), i});
  }
  for (auto* reg : {&ra, &rb, &rc}) {
    REQUIRE(eventually([&] { return reg->count() == 30 && reg->count(a.name()) == 30; }));
  }
  CHECK(ra.local_count() == 30);
  CHECK(rb.local_count() == 0);

  // Its death removes every name everywhere, with process_exit and its reason.
  p.exit(Term{{"why", "crash"}});
  CHECK(ra.count() == 0);  // the killing thread removed them before exit() returned
  for (auto* reg : {&rb, &rc}) REQUIRE(eventually([&] { return reg->count() == 0; }));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return t.rec[i]->size() == 60; }));
    auto events = t.rec[i]->events();
    auto exits = std::count_if(events.begin(), events.end(), [&](const std::string& e) {
      return e.rfind("unreg", 0) == 0 && e.find("process_exit({\"why\":\"crash\"})") != std::string::npos;
    });
    CHECK(exits == 30);
    CHECK(events.size() == 60);
  }
}

TEST_CASE("registry: update", "[registry][api][update]") {
  Three t("upd");
  Node& a = *t.n[0];
  auto ra = t.reg(0), rb = t.reg(1), rc = t.reg(2);
  auto pa = a.spawn();
  const Reason normal = Reason::normal();

  // undefined when the caller's replica lacks the name; fn is not called.
  bool called = false;
  auto u = rc.update("none", [&](const Pid&, const Term& m) {
    called = true;
    return m;
  });
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::undefined);
  CHECK_FALSE(called);

  REQUIRE(ra.register_name("k", pa.pid(), Term{{"count", 0}}));
  REQUIRE(eventually([&] { return rb.whereis("k") && rc.whereis("k"); }));

  // fn gets the pid and the current meta; from the authority's node and from a remote one.
  u = ra.update("k", [&](const Pid& pid, const Term& m) {
    CHECK(pid == pa.pid());
    Term n = m;
    n["count"] = m["count"].get<int>() + 1;
    return n;
  });
  REQUIRE(u);
  CHECK(*u == Entry{pa.pid(), Term{{"count", 1}}});
  CHECK(ra.lookup("k")->meta == Term{{"count", 1}});
  CHECK(contains(t.rec[0]->events(), ev_upd("s", "k", pa.pid(), Term{{"count", 0}}, Term{{"count", 1}}, normal)));

  u = rb.update("k", [&](const Pid& pid, const Term& m) {
    CHECK(pid == pa.pid());
    return Term{{"count", m["count"].get<int>() + 1}};
  });
  REQUIRE(u);
  CHECK(u->meta == Term{{"count", 2}});
  CHECK(rb.lookup("k")->meta == Term{{"count", 2}});  // read-your-writes
  CHECK(contains(t.rec[1]->events(), ev_upd("s", "k", pa.pid(), Term{{"count", 1}}, Term{{"count", 2}}, normal)));
  CHECK(ra.lookup("k")->meta == Term{{"count", 2}});
  REQUIRE(eventually([&] { return rc.lookup("k")->meta == Term{{"count", 2}}; }));

  // An exception from fn reaches the caller unchanged, and nothing changes.
  for (auto* reg : {&ra, &rc}) {
    CHECK_THROWS_AS(reg->update("k", [](const Pid&, const Term&) -> Term { throw MyError(); }), MyError);
    CHECK_THROWS_WITH(reg->update("k", [](const Pid&, const Term&) -> Term { throw MyError(); }), "mine");
  }
  // An unchanged meta returns the entry, without a callback.
  for (auto* reg : {&ra, &rb, &rc}) {
    u = reg->update("k", [](const Pid&, const Term& m) { return m; });
    REQUIRE(u);
    CHECK(*u == Entry{pa.pid(), Term{{"count", 2}}});
  }

  std::vector<std::string> expected = {
      ev_reg("s", "k", pa.pid(), Term{{"count", 0}}, normal),
      ev_upd("s", "k", pa.pid(), Term{{"count", 0}}, Term{{"count", 1}}, normal),
      ev_upd("s", "k", pa.pid(), Term{{"count", 1}}, Term{{"count", 2}}, normal),
  };
  for (int i = 0; i < 3; ++i) expect_events(*t.rec[i], expected, t.n[i]->name(), i == 0 ? 300ms : 50ms);
  for (auto* reg : {&ra, &rb, &rc}) CHECK(reg->lookup("k")->meta == Term{{"count", 2}});

  // Updating to null and back.
  REQUIRE(rc.update("k", [](const Pid&, const Term&) { return Term(); }));
  CHECK(rc.lookup("k") == Entry{pa.pid(), nullptr});
  REQUIRE(eventually([&] {
    return ra.lookup("k") == Entry{pa.pid(), nullptr} && rb.lookup("k") == Entry{pa.pid(), nullptr};
  }));

  // The holder is dead: undefined on its node at once (its entry is gone).
  pa.exit("done");
  u = ra.update("k", [](const Pid&, const Term& m) { return m; });
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::undefined);
}

TEST_CASE("registry: concurrent updates from several threads and nodes lose no increment", "[registry][api][update]") {
  Three t("cas");
  Node& a = *t.n[0];
  auto pa = a.spawn();
  REQUIRE(t.reg(0).register_name("counter", pa.pid(), Term{{"n", 0}}));
  REQUIRE(eventually([&] { return t.reg(1).whereis("counter") && t.reg(2).whereis("counter"); }));

  // 4 threads x 50 increments: two on the authority's node, one on each other node.
  constexpr int kThreads = 4, kIncrements = 50;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    int node = i < 2 ? 0 : i - 1;
    threads.emplace_back([&, node] {
      auto reg = t.reg(node);
      for (int k = 0; k < kIncrements; ++k) {
        auto u = reg.update("counter", [](const Pid&, const Term& m) { return Term{{"n", m["n"].get<int>() + 1}}; });
        if (!u) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failures == 0);
  for (int i = 0; i < 3; ++i) {
    auto reg = t.reg(i);
    REQUIRE(eventually([&] { return reg.lookup("counter")->meta == Term{{"n", kThreads * kIncrements}}; }));
    // One updated callback per increment on every node.
    bool all_callbacks = eventually([&] { return t.rec[i]->size() == 1 + kThreads * kIncrements; });
    std::string error;
    auto state = replay(t.rec[i]->log(), error);
    INFO("node " << i << ": " << t.rec[i]->size() << " callbacks; replay: " << error);
    REQUIRE(all_callbacks);
    CHECK(error.empty());
    auto events = t.rec[i]->events();
    auto updates =
        std::count_if(events.begin(), events.end(), [](const std::string& e) { return e.rfind("upd", 0) == 0; });
    CHECK(updates == kThreads * kIncrements);
    CHECK(stays([&] { return t.rec[i]->size() == 1 + kThreads * kIncrements; }, 100ms));
  }
}

TEST_CASE("registry: taken fills the holder as the authority saw it, also one the caller's replica lacks",
          "[registry][api]") {
  Three t("holder");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  auto ra = t.reg(0), rb = t.reg(1), rc = t.reg(2);
  // c does not hear b: b's registrations reach a, never c.
  REQUIRE(syn::test::cut(c, b));
  auto pa = a.spawn();
  auto pb = b.spawn();
  REQUIRE(rb.register_name("x", pb.pid(), Term{{"m", 1}}));
  REQUIRE(eventually([&] { return ra.lookup("x") == Entry{pb.pid(), Term{{"m", 1}}}; }));
  CHECK_FALSE(rc.lookup("x"));

  // c asks a (the authority of pa), which finds x held by pb: c learns who holds it.
  Entry holder;
  auto taken = rc.register_name("x", pa.pid(), "mine", &holder);
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == Errc::taken);
  CHECK(holder == Entry{pb.pid(), Term{{"m", 1}}});
  CHECK_FALSE(rc.lookup("x"));  // nothing of it was applied on c
  CHECK(ra.lookup("x") == Entry{pb.pid(), Term{{"m", 1}}});
}

TEST_CASE("registry: strict mode", "[registry][api][strict]") {
  Three t("strict", true);
  Node &a = *t.n[0], &b = *t.n[1];
  auto ra = t.reg(0), rb = t.reg(1), rc = t.reg(2);
  auto pa = a.spawn();
  auto pa2 = a.spawn();
  auto pb = b.spawn();

  auto r = ra.register_name("me", pa.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::not_self);
  r = rc.register_name("me", pa.pid());  // not_self comes before routing
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::not_self);
  r = rc.register_name("me", Pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::not_self);
  CHECK_FALSE(ra.lookup("me"));

  REQUIRE(ra.register_name("me", pa, "m1"));
  CHECK(ra.lookup("me") == Entry{pa.pid(), "m1"});
  REQUIRE(ra.register_name("me", pa, "m2"));  // an update of its own meta
  r = ra.register_name("me", pa2, "m3");
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::taken);
  REQUIRE(rb.register_name("bee", pb));
  // b too: its update below must find the name (unknown there, it is `undefined`, not `not_self`).
  REQUIRE(eventually([&] {
    return rc.lookup("me") == Entry{pa.pid(), "m2"} && rc.whereis("bee") == pb.pid() &&
           rb.lookup("me") == Entry{pa.pid(), "m2"};
  }));

  // update: only the holder itself.
  auto inc = [](const Pid&, const Term& m) { return Term(m.get<std::string>() + "+"); };
  auto u = ra.update("me", inc);
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::not_self);
  u = rc.update("me", inc);
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::not_self);
  u = ra.update("me", pa2, inc);
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::not_self);
  u = rb.update("me", pb, inc);  // another node's process
  REQUIRE_FALSE(u);
  CHECK(u.error() == Errc::not_self);
  u = ra.update("me", pa, inc);
  REQUIRE(u);
  CHECK(*u == Entry{pa.pid(), "m2+"});
  CHECK(ra.lookup("me") == Entry{pa.pid(), "m2+"});
  REQUIRE(eventually([&] { return rc.lookup("me") == Entry{pa.pid(), "m2+"}; }));

  // Unregister is not restricted by strict mode.
  REQUIRE(rc.unregister_name("me"));
  CHECK_FALSE(rc.lookup("me"));
  REQUIRE(eventually([&] { return !ra.lookup("me") && !rb.lookup("me"); }));
}

TEST_CASE("registry: node_down for a pid of an unreachable node", "[registry][api]") {
  Nodes nodes;
  Node& a = nodes.add("nd1", {"s"}, false);
  Node& b = nodes.add("nd2", {"s"}, false);
  Node& c = nodes.add("nd3", {"s"}, false);
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  auto pb = b.spawn();
  REQUIRE(b.registry("s").register_name("bee", pb.pid()));
  REQUIRE(eventually([&] { return a.registry("s").whereis("bee") && c.registry("s").whereis("bee"); }));

  cut(a, b);
  // a no longer has b's names, and cannot reach b.
  REQUIRE(eventually([&] { return !a.registry("s").whereis("bee"); }));
  auto r = a.registry("s").register_name("other", pb.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::node_down);
  // c still sees both (views are not transitive).
  CHECK(c.registry("s").whereis("bee") == pb.pid());
  REQUIRE(c.registry("s").register_name("other", pb.pid()));
  CHECK(stays([&] { return !a.registry("s").whereis("other"); }, 100ms));

  // After the node is gone for good: node_down too.
  auto pc = c.spawn();
  REQUIRE(c.registry("s").register_name("cee", pc.pid()));
  REQUIRE(eventually([&] { return a.registry("s").whereis("cee"); }));
  Pid gone = pc.pid();
  nodes.stop(2);
  REQUIRE(eventually([&] { return !a.registry("s").whereis("cee"); }));
  r = a.registry("s").register_name("cee", gone);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::node_down);

  // The node comes back under the same name: a new incarnation, the old pid is dead.
  Node& c2 = nodes.add("nd3", {"s"}, false);
  bool linked = eventually([&] { return subcluster_is(a, "s", {"nd3"}) && subcluster_is(c2, "s", {"nd1", "nd2"}); });
  INFO("a sees " << a.nodes().size() << ", c2 sees " << c2.nodes().size() << ", a's subcluster "
                 << a.subcluster_nodes(Kind::registry, "s").size() << ", c2's "
                 << c2.subcluster_nodes(Kind::registry, "s").size());
  REQUIRE(linked);
  r = a.registry("s").register_name("cee", gone);
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::not_alive);
  auto fresh = c2.spawn();
  REQUIRE(a.registry("s").register_name("cee", fresh.pid()));
  CHECK(a.registry("s").whereis("cee") == fresh.pid());
}

TEST_CASE("registry: unregister races at the authority give race_condition or undefined", "[registry][api][races]") {
  Three t("race");
  Node &a = *t.n[0], &c = *t.n[2];
  auto ra = t.reg(0), rc = t.reg(2);
  auto pa = a.spawn();
  auto pa2 = a.spawn();
  REQUIRE(ra.register_name("x", pa.pid(), "first"));
  REQUIRE(eventually([&] { return rc.whereis("x") == pa.pid(); }));

  SECTION("race_condition: the authority holds the name under another pid") {
    std::future<Result<void>> f;
    {
      EngineBlock hold(c);  // c's replica stays stale: x -> pa
      REQUIRE(ra.unregister_name("x"));
      REQUIRE(ra.register_name("x", pa2.pid(), "second"));
      CHECK(rc.whereis("x") == pa.pid());
      f = rc.unregister_name_async("x");  // sent to a with pa
    }
    auto r = f.get();
    REQUIRE_FALSE(r);
    CHECK(r.error() == Errc::race_condition);
    // Nothing changed at the authority; c catches up.
    CHECK(ra.lookup("x") == Entry{pa2.pid(), "second"});
    REQUIRE(eventually([&] { return rc.lookup("x") == Entry{pa2.pid(), "second"}; }));
    CHECK(stays([&] { return ra.whereis("x") == pa2.pid() && rc.whereis("x") == pa2.pid(); }, 100ms));
  }
  SECTION("undefined: the authority has no entry") {
    std::future<Result<void>> f;
    {
      EngineBlock hold(c);
      REQUIRE(ra.unregister_name("x"));
      CHECK(rc.whereis("x") == pa.pid());
      f = rc.unregister_name_async("x");
    }
    auto r = f.get();
    REQUIRE_FALSE(r);
    CHECK(r.error() == Errc::undefined);
    REQUIRE(eventually([&] { return !rc.whereis("x"); }));
  }
  SECTION("update: taken when the authority gave the name to another pid") {
    std::promise<void> fn_called;
    std::thread caller;
    Result<Entry> u = syn::unexpected(Errc::bad_argument);
    {
      EngineBlock hold(c);
      REQUIRE(ra.unregister_name("x"));
      REQUIRE(ra.register_name("x", pa2.pid(), "second"));
      bool once = false;
      caller = std::thread([&] {
        u = rc.update("x", [&](const Pid& pid, const Term& m) {
          if (!once) {
            once = true;
            CHECK(pid == pa.pid());
            fn_called.set_value();
          }
          return Term(m.get<std::string>() + "!");
        });
      });
      fn_called.get_future().wait();  // c read its stale replica; its call is queued
    }
    caller.join();
    REQUIRE_FALSE(u);
    CHECK(u.error() == Errc::taken);
    CHECK(ra.lookup("x") == Entry{pa2.pid(), "second"});
  }
  SECTION("update: not_alive when the holder died meanwhile") {
    std::promise<void> fn_called;
    std::thread caller;
    Result<Entry> u = syn::unexpected(Errc::bad_argument);
    {
      EngineBlock hold(c);
      pa.exit("died");
      CHECK(rc.whereis("x") == pa.pid());
      bool once = false;
      caller = std::thread([&] {
        u = rc.update("x", [&](const Pid&, const Term& m) {
          if (!once) {
            once = true;
            fn_called.set_value();
          }
          return m;
        });
      });
      fn_called.get_future().wait();
    }
    caller.join();
    REQUIRE_FALSE(u);
    CHECK(u.error() == Errc::not_alive);
    REQUIRE(eventually([&] { return !rc.whereis("x"); }));
  }
}

TEST_CASE("registry: handles and processes that outlive their node", "[registry][api]") {
  auto rec = std::make_shared<Recorder>();
  auto a = std::make_unique<Node>(syn::test::test_options("gone1", {"s"}));
  auto ob = syn::test::test_options("gone2", {"s"});
  ob.seeds = {a->endpoint()};
  ob.event_handler = rec;
  Node b(ob);
  REQUIRE(wait_scope_mesh({a.get(), &b}, "s"));
  auto ra = a->registry("s");
  auto p = a->spawn();
  auto q = a->spawn();
  REQUIRE(ra.register_name("p", p.pid()));
  REQUIRE(ra.register_name("q", q.pid()));
  REQUIRE(eventually([&] { return b.registry("s").count() == 2; }));
  const Pid q_pid = q.pid();

  a.reset();  // ra, p and q outlive it
  CHECK_FALSE(p.alive());
  CHECK_FALSE(ra.lookup("p"));
  CHECK(ra.count() == 0);
  CHECK(ra.local_count() == 0);
  CHECK_FALSE(ra.send("p", "x"));
  auto r = ra.register_name("p2", p.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::node_down);
  r = ra.unregister_name("q");
  REQUIRE_FALSE(r);
  auto u = ra.update("q", [](const Pid&, const Term& m) { return m; });
  REQUIRE_FALSE(u);
  p.exit("late");
  q = Process();
  REQUIRE(eventually([&] { return b.registry("s").count() == 0; }));
  expect_events(
      *rec,
      {ev_reg("s", "p", p.pid(), nullptr, Reason::normal()), ev_reg("s", "q", q_pid, nullptr, Reason::normal()),
       ev_unreg("s", "p", p.pid(), nullptr, Reason::node_down("gone1")),
       ev_unreg("s", "q", q_pid, nullptr, Reason::node_down("gone1"))},
      "gone2", 100ms);
}

TEST_CASE("registry: a call that timed out may still have happened: its late answer reaches the caller's replica",
          "[registry][api]") {
  auto rec = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("slow1", {"s"});
  Node& c = nodes.add("slow2", {"s"}, true, [&](NodeOptions& o) {
    o.event_handler = rec;
    o.call_timeout = std::chrono::milliseconds(150);
  });
  REQUIRE(wait_scope_mesh({&a, &c}, "s"));
  auto pa = a.spawn();
  Result<void> r;
  {
    EngineBlock hold(a);  // a answers nothing meanwhile (well under peer_timeout)
    r = c.registry("s").register_name("late", pa.pid(), "m");
  }
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::timeout);
  REQUIRE(eventually([&] { return c.registry("s").lookup("late") == Entry{pa.pid(), "m"}; }));
  CHECK(a.registry("s").lookup("late") == Entry{pa.pid(), "m"});
  expect_events(*rec, {ev_reg("s", "late", pa.pid(), "m", Reason::normal())}, "slow2");
}
