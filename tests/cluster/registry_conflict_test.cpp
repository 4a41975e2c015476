// Registry conflicts after a net split heals (SPEC 6): both sides registered the same name for
// their own processes. Default resolver (newer wins, loser killed), custom resolvers (keep one,
// keep neither, throw), and what every node ends up with.
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;
using syn::test::stays;

namespace {

/// The calls a resolver got, thread-safe.
struct ResolverLog {
  struct Call {
    std::string node, scope;
    Term name;
    ConflictCandidate incoming, local;
  };
  std::mutex mutex;
  std::vector<Call> calls;
  void add(Call c) {
    std::lock_guard lock(mutex);
    calls.push_back(std::move(c));
  }
  std::vector<Call> all() {
    std::lock_guard lock(mutex);
    return calls;
  }
};

/// Three nodes without auto_connect, a and b cut apart, c linked to both (a partial split).
struct PartialSplit {
  std::shared_ptr<Recorder> rec[3];
  Nodes nodes;
  Node *a, *b, *c;
  PartialSplit(const std::string& prefix, const std::function<void(int, NodeOptions&)>& tweak = {}) {
    for (int i = 0; i < 3; ++i) {
      rec[i] = std::make_shared<Recorder>();
      nodes.add(prefix + std::to_string(i + 1), {"s"}, false, [&](NodeOptions& o) {
        o.event_handler = rec[i];
        if (tweak) tweak(i, o);
      });
    }
    a = &nodes[0];
    b = &nodes[1];
    c = &nodes[2];
    REQUIRE(wait_scope_mesh({a, b, c}, "s"));
    cut(*a, *b);
    REQUIRE(eventually([&] { return subcluster_is(*a, "s", {c->name()}) && subcluster_is(*b, "s", {c->name()}); }));
  }
  /// a registers `name` for pa, then (once c has it) b registers it for pb: each side holds its own.
  void register_both(const Term& name, const Process& pa, const Term& ma, const Process& pb, const Term& mb) {
    REQUIRE(a->registry("s").register_name(name, pa.pid(), ma));
    REQUIRE(eventually([&] { return c->registry("s").whereis(name) == pa.pid(); }));
    REQUIRE(b->registry("s").register_name(name, pb.pid(), mb));
    REQUIRE(eventually([&] { return c->registry("s").whereis(name) == pb.pid(); }));  // newer wins on c
    CHECK(a->registry("s").whereis(name) == pa.pid());
    CHECK(b->registry("s").whereis(name) == pb.pid());
  }
  void heal_all() {
    REQUIRE(heal(*a, *b));
    REQUIRE(wait_scope_mesh({a, b, c}, "s"));
  }
};

}  // namespace

TEST_CASE("registry conflict, default resolver: the newer registration wins, the loser is killed",
          "[registry][conflict]") {
  PartialSplit t("cfd");
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  auto bystander = a.spawn();
  REQUIRE(a.registry("s").register_name("calm", bystander.pid(), "c"));
  t.register_both("x", pa, "ma", pb, "mb");

  t.heal_all();
  std::vector<Term> names = {"x", "calm"};
  REQUIRE(eventually([&] { return converged({&a, &b, &c}, "s", names) && !pa.alive(); }));
  for (Node* n : {&a, &b, &c}) {
    CHECK(n->registry("s").lookup("x") == Entry{pb.pid(), "mb"});
    CHECK(n->registry("s").count() == 2);
    CHECK(n->registry("s").count(a.name()) == 1);
    CHECK(n->registry("s").count(b.name()) == 1);
  }
  CHECK(a.registry("s").local_count() == 1);
  CHECK(b.registry("s").local_count() == 1);
  CHECK(c.registry("s").local_count() == 0);
  CHECK(pa.exit_reason() == Term::array({"syn_resolve_kill", "x", "ma"}));
  CHECK(pb.alive());
  CHECK(bystander.alive());

  const Reason normal = Reason::normal(), conflict = Reason::conflict();
  auto calm = ev_reg("s", "calm", bystander.pid(), "c", normal);
  expect_events(*t.rec[0],
                {calm, ev_reg("s", "x", pa.pid(), "ma", normal), ev_unreg("s", "x", pa.pid(), "ma", conflict),
                 ev_reg("s", "x", pb.pid(), "mb", conflict)},
                "a (loser's owner)");
  // The winner's owner: its registration, then a's "calm" from a's snapshot; no callback for x.
  expect_events(
      *t.rec[1],
      {ev_reg("s", "x", pb.pid(), "mb", normal), ev_reg("s", "calm", bystander.pid(), "c", Reason::node_up(a.name()))},
      "b (winner's owner)", 50ms);
  expect_events(*t.rec[2],
                {calm, ev_reg("s", "x", pa.pid(), "ma", normal), ev_unreg("s", "x", pa.pid(), "ma", normal),
                 ev_reg("s", "x", pb.pid(), "mb", normal)},
                "c (saw both)", 50ms);
}

TEST_CASE("registry conflict, default resolver: the loser's other names go with process_exit", "[registry][conflict]") {
  PartialSplit t("cfo");
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  REQUIRE(a.registry("s").register_name("other", pa.pid(), 1));
  t.register_both("x", pa, "ma", pb, Term{{"m", "b"}});
  t.heal_all();
  REQUIRE(eventually([&] { return converged({&a, &b, &c}, "s", {"x", "other"}) && !pa.alive(); }));
  const Term why = Term::array({"syn_resolve_kill", "x", "ma"});
  for (Node* n : {&a, &b, &c}) {
    CHECK_FALSE(n->registry("s").whereis("other"));
    CHECK(n->registry("s").whereis("x") == pb.pid());
    CHECK(n->registry("s").count() == 1);
  }
  const Reason normal = Reason::normal();
  expect_events(*t.rec[2],
                {ev_reg("s", "other", pa.pid(), 1, normal), ev_reg("s", "x", pa.pid(), "ma", normal),
                 ev_unreg("s", "x", pa.pid(), "ma", normal), ev_reg("s", "x", pb.pid(), Term{{"m", "b"}}, normal),
                 ev_unreg("s", "other", pa.pid(), 1, Reason::process_exit(why))},
                "c");
  expect_events(*t.rec[0],
                {ev_reg("s", "other", pa.pid(), 1, normal), ev_reg("s", "x", pa.pid(), "ma", normal),
                 ev_unreg("s", "x", pa.pid(), "ma", Reason::conflict()),
                 ev_reg("s", "x", pb.pid(), Term{{"m", "b"}}, Reason::conflict()),
                 ev_unreg("s", "other", pa.pid(), 1, Reason::process_exit(why))},
                "a", 50ms);
  // b got a's snapshot before or after the kill: "other" came and went, or never came.
  expect_events_one_of(*t.rec[1],
                       {{ev_reg("s", "x", pb.pid(), Term{{"m", "b"}}, normal)},
                        {ev_reg("s", "x", pb.pid(), Term{{"m", "b"}}, normal),
                         ev_reg("s", "other", pa.pid(), 1, Reason::node_up(a.name())),
                         ev_unreg("s", "other", pa.pid(), 1, Reason::process_exit(why))}},
                       "b", 50ms);
}

TEST_CASE("registry conflict, default resolver, full split of four nodes", "[registry][conflict]") {
  std::shared_ptr<Recorder> rec[4];
  Nodes nodes;
  for (int i = 0; i < 4; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("cf4" + std::to_string(i + 1), {"s"}, false, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  // {a, c} | {b, d}
  Node &a = nodes[0], &b = nodes[1], &c = nodes[2], &d = nodes[3];
  REQUIRE(wait_scope_mesh(nodes.running_nodes(), "s"));
  cut(a, b);
  cut(a, d);
  cut(c, b);
  cut(c, d);
  REQUIRE(eventually([&] { return subcluster_is(a, "s", {"cf43"}) && subcluster_is(b, "s", {"cf44"}); }));
  auto pa = a.spawn(), pb = b.spawn(), pc = c.spawn(), pd = d.spawn();
  std::vector<Term> names;
  // Two names, one won by each side; registered on the "non-owner" node of each side too.
  REQUIRE(c.registry("s").register_name("one", pa.pid(), "a1"));
  REQUIRE(a.registry("s").register_name("two", pc.pid(), "c2"));
  REQUIRE(eventually([&] { return a.registry("s").count() == 2 && d.registry("s").count() == 0; }));
  REQUIRE(d.registry("s").register_name("one", pb.pid(), "b1"));  // newer: wins
  REQUIRE(b.registry("s").register_name("two", pd.pid(), "d2"));  // newer: wins
  REQUIRE(eventually([&] { return b.registry("s").count() == 2 && d.registry("s").count() == 2; }));

  REQUIRE(heal(a, b));
  REQUIRE(heal(a, d));
  REQUIRE(heal(c, b));
  REQUIRE(heal(c, d));
  REQUIRE(wait_scope_mesh(nodes.running_nodes(), "s"));
  names = {"one", "two"};
  REQUIRE(eventually([&] { return converged(nodes.running_nodes(), "s", names) && !pa.alive() && !pc.alive(); }));
  for (int i = 0; i < 4; ++i) {
    auto r = nodes[i].registry("s");
    CHECK(r.lookup("one") == Entry{pb.pid(), "b1"});
    CHECK(r.lookup("two") == Entry{pd.pid(), "d2"});
    CHECK(r.count() == 2);
  }
  CHECK(pa.exit_reason() == Term::array({"syn_resolve_kill", "one", "a1"}));
  CHECK(pc.exit_reason() == Term::array({"syn_resolve_kill", "two", "c2"}));
  CHECK(pb.alive());
  CHECK(pd.alive());

  // Owners: exactly these callbacks. a owns the loser of "one" and saw "two" go from c's to d's.
  const Reason normal = Reason::normal(), conflict = Reason::conflict();
  expect_events_one_of(
      *rec[0],
      {{ev_reg("s", "one", pa.pid(), "a1", normal), ev_reg("s", "two", pc.pid(), "c2", normal),
        ev_unreg("s", "one", pa.pid(), "a1", conflict), ev_reg("s", "one", pb.pid(), "b1", conflict),
        ev_unreg("s", "two", pc.pid(), "c2", conflict), ev_reg("s", "two", pd.pid(), "d2", Reason::node_up("cf44"))},
       {ev_reg("s", "one", pa.pid(), "a1", normal), ev_reg("s", "two", pc.pid(), "c2", normal),
        ev_unreg("s", "one", pa.pid(), "a1", conflict), ev_reg("s", "one", pb.pid(), "b1", conflict),
        ev_unreg("s", "two", pc.pid(), "c2", Reason::node_up("cf44")),
        ev_reg("s", "two", pd.pid(), "d2", Reason::node_up("cf44"))}},
      "a");
  expect_events_one_of(
      *rec[2],
      {{ev_reg("s", "one", pa.pid(), "a1", normal), ev_reg("s", "two", pc.pid(), "c2", normal),
        ev_unreg("s", "two", pc.pid(), "c2", conflict), ev_reg("s", "two", pd.pid(), "d2", conflict),
        ev_unreg("s", "one", pa.pid(), "a1", conflict), ev_reg("s", "one", pb.pid(), "b1", Reason::node_up("cf42"))},
       {ev_reg("s", "one", pa.pid(), "a1", normal), ev_reg("s", "two", pc.pid(), "c2", normal),
        ev_unreg("s", "two", pc.pid(), "c2", conflict), ev_reg("s", "two", pd.pid(), "d2", conflict),
        ev_unreg("s", "one", pa.pid(), "a1", Reason::node_up("cf42")),
        ev_reg("s", "one", pb.pid(), "b1", Reason::node_up("cf42"))}},
      "c", 50ms);
  // The winners' owners and their side: nothing but their own registrations.
  for (int i : {1, 3}) {
    expect_events(*rec[i], {ev_reg("s", "one", pb.pid(), "b1", normal), ev_reg("s", "two", pd.pid(), "d2", normal)},
                  nodes[i].name(), 50ms);
  }
}

TEST_CASE("registry conflict, custom resolver keeping one: nobody is killed", "[registry][conflict]") {
  auto log = std::make_shared<ResolverLog>();
  // Keeps the candidate with the higher "prio" in its meta, whatever the times.
  PartialSplit t("cfk", [&](int i, NodeOptions& o) {
    o.conflict_resolver = [log, node = o.name](std::string_view scope, const Term& name,
                                               const ConflictCandidate& incoming,
                                               const ConflictCandidate& local) -> std::optional<Pid> {
      log->add({node, std::string(scope), name, incoming, local});
      return incoming.meta["prio"].get<int>() > local.meta["prio"].get<int>() ? incoming.pid : local.pid;
    };
    (void)i;
  });
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  t.register_both("x", pa, Term{{"prio", 9}}, pb, Term{{"prio", 1}});  // the older one has priority
  t.heal_all();
  REQUIRE(eventually([&] { return converged({&a, &b, &c}, "s", {"x"}) && b.registry("s").whereis("x") == pa.pid(); }));
  for (Node* n : {&a, &b, &c}) {
    CHECK(n->registry("s").lookup("x") == Entry{pa.pid(), Term{{"prio", 9}}});
    CHECK(n->registry("s").count() == 1);
  }
  CHECK(stays([&] { return pa.alive() && pb.alive(); }, 100ms));

  // Each owner asked its resolver once, with the other side as incoming.
  auto calls = log->all();
  REQUIRE(calls.size() == 2);
  std::sort(calls.begin(), calls.end(), [](auto& x, auto& y) { return x.node < y.node; });
  CHECK(calls[0].node == a.name());
  CHECK(calls[0].scope == "s");
  CHECK(calls[0].name == "x");
  CHECK(calls[0].local.pid == pa.pid());
  CHECK(calls[0].incoming.pid == pb.pid());
  CHECK(calls[0].incoming.meta == Term{{"prio", 1}});
  CHECK(calls[0].incoming.time > calls[0].local.time);
  CHECK(calls[1].node == b.name());
  CHECK(calls[1].local.pid == pb.pid());
  CHECK(calls[1].incoming.pid == pa.pid());
  CHECK(calls[1].incoming.time == calls[0].local.time);
  CHECK(calls[1].local.time == calls[0].incoming.time);

  const Reason normal = Reason::normal(), conflict = Reason::conflict();
  Term ma = Term{{"prio", 9}}, mb = Term{{"prio", 1}};
  expect_events(*t.rec[0], {ev_reg("s", "x", pa.pid(), ma, normal)}, "a (keeps its own)");
  expect_events(*t.rec[1],
                {ev_reg("s", "x", pb.pid(), mb, normal), ev_unreg("s", "x", pb.pid(), mb, conflict),
                 ev_reg("s", "x", pa.pid(), ma, conflict)},
                "b (keeps the remote)", 50ms);
  expect_events(*t.rec[2],
                {ev_reg("s", "x", pa.pid(), ma, normal), ev_unreg("s", "x", pa.pid(), ma, normal),
                 ev_reg("s", "x", pb.pid(), mb, normal), ev_unreg("s", "x", pb.pid(), mb, conflict),
                 ev_reg("s", "x", pa.pid(), ma, conflict)},
                "c", 50ms);
}

TEST_CASE("registry conflict, custom resolver keeping neither, or throwing: the name is freed everywhere",
          "[registry][conflict]") {
  auto calls = std::make_shared<std::atomic<int>>(0);
  bool throwing = GENERATE(false, true);
  PartialSplit t(throwing ? "cft" : "cfn", [&](int, NodeOptions& o) {
    o.conflict_resolver = [calls, throwing](std::string_view, const Term&, const ConflictCandidate& incoming,
                                            const ConflictCandidate&) -> std::optional<Pid> {
      ++*calls;
      if (throwing) throw std::runtime_error("cannot decide");
      if (incoming.meta == "keep-none") return std::nullopt;
      return Pid();  // neither candidate: keep neither too
    };
  });
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  auto pa2 = a.spawn();
  REQUIRE(a.registry("s").register_name("unrelated", pa2.pid()));
  t.register_both("x", pa, "keep-none", pb, "other");
  t.heal_all();
  REQUIRE(eventually([&] {
    return converged({&a, &b, &c}, "s", {"x", "unrelated"}) && !a.registry("s").whereis("x") &&
           !b.registry("s").whereis("x") && !c.registry("s").whereis("x");
  }));
  for (Node* n : {&a, &b, &c}) CHECK(n->registry("s").count() == 1);
  CHECK(stays([&] { return pa.alive() && pb.alive(); }, 100ms));
  CHECK(*calls == 2);

  const Reason normal = Reason::normal(), conflict = Reason::conflict();
  auto unrelated = ev_reg("s", "unrelated", pa2.pid(), nullptr, normal);
  expect_events(
      *t.rec[0],
      {unrelated, ev_reg("s", "x", pa.pid(), "keep-none", normal), ev_unreg("s", "x", pa.pid(), "keep-none", conflict)},
      "a");
  expect_events(*t.rec[1],
                {ev_reg("s", "unrelated", pa2.pid(), nullptr, Reason::node_up(a.name())),
                 ev_reg("s", "x", pb.pid(), "other", normal), ev_unreg("s", "x", pb.pid(), "other", conflict)},
                "b", 50ms);
  // c shows b's (newer) with a's hidden behind it. If b's removal reaches c before a's, a's
  // shows again until its own removal arrives.
  std::vector<std::string> on_c = {
      unrelated, ev_reg("s", "x", pa.pid(), "keep-none", normal), ev_unreg("s", "x", pa.pid(), "keep-none", normal),
      ev_reg("s", "x", pb.pid(), "other", normal), ev_unreg("s", "x", pb.pid(), "other", conflict)};
  auto on_c_flicker = on_c;
  on_c_flicker.push_back(ev_reg("s", "x", pa.pid(), "keep-none", conflict));
  on_c_flicker.push_back(ev_unreg("s", "x", pa.pid(), "keep-none", conflict));
  expect_events_one_of(*t.rec[2], {on_c, on_c_flicker}, "c", 50ms);

  // The name can be taken again afterwards, and it replicates everywhere.
  REQUIRE(c.registry("s").register_name("x", pb.pid(), "fresh"));
  for (Node* n : {&a, &b, &c}) REQUIRE(eventually([&] { return n->registry("s").whereis("x") == pb.pid(); }));
}

// A partial split: c sees both a and b, which both hold "x" for their own process. c shows the
// newer one (b's) and must not forget a's: when b's registration goes away (b's node leaves,
// b's process dies, b unregisters), a's is what the rest of the connected subcluster holds.

TEST_CASE(
    "registry partial split: the node seeing both sides falls back to the older registration when the newer node "
    "leaves",
    "[registry][conflict][partial]") {
  PartialSplit t("pl");
  Node &a = *t.a, &c = *t.c;
  auto pa = a.spawn();
  auto pb = t.b->spawn();
  t.register_both("x", pa, "ma", pb, "mb");
  t.nodes.stop(1);  // b leaves; {a, c} is a connected subcluster
  REQUIRE(eventually([&] { return subcluster_is(c, "s", {"pl1"}); }));
  bool agreed = eventually([&] { return converged({&a, &c}, "s", {"x"}); }, 3s);
  INFO(views({&a, &c}, "s", {"x"}));
  CHECK(agreed);
  CHECK(c.registry("s").lookup("x") == Entry{pa.pid(), "ma"});
  CHECK(c.registry("s").count() == 1);
  CHECK(pa.alive());
  const Reason normal = Reason::normal();
  expect_events(*t.rec[2],
                {ev_reg("s", "x", pa.pid(), "ma", normal), ev_unreg("s", "x", pa.pid(), "ma", normal),
                 ev_reg("s", "x", pb.pid(), "mb", normal), ev_unreg("s", "x", pb.pid(), "mb", Reason::node_down("pl2")),
                 ev_reg("s", "x", pa.pid(), "ma", Reason::conflict())},
                "c");
  expect_events(*t.rec[0], {ev_reg("s", "x", pa.pid(), "ma", normal)}, "a", 50ms);
}

TEST_CASE("registry partial split: the newer holder dies before the heal, the older one stays everywhere",
          "[registry][conflict][partial]") {
  PartialSplit t("pd");
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  t.register_both("x", pa, "ma", pb, "mb");
  pb.exit("died");
  REQUIRE(eventually([&] { return !b.registry("s").whereis("x"); }));
  // Still split: c is linked to a, which holds x.
  bool agreed = eventually([&] { return c.registry("s").whereis("x") == pa.pid(); }, 3s);
  CHECK(agreed);
  t.heal_all();
  agreed = eventually(
      [&] {
        return converged({&a, &b, &c}, "s", {"x"}) && b.registry("s").whereis("x") == pa.pid();
      },
      3s);
  INFO(views({&a, &b, &c}, "s", {"x"}));
  CHECK(agreed);
  for (Node* n : {&a, &b, &c}) CHECK(n->registry("s").lookup("x") == Entry{pa.pid(), "ma"});
  CHECK(pa.alive());
  const Reason normal = Reason::normal();
  expect_events(
      *t.rec[2],
      {ev_reg("s", "x", pa.pid(), "ma", normal), ev_unreg("s", "x", pa.pid(), "ma", normal),
       ev_reg("s", "x", pb.pid(), "mb", normal), ev_unreg("s", "x", pb.pid(), "mb", Reason::process_exit("died")),
       ev_reg("s", "x", pa.pid(), "ma", Reason::conflict())},
      "c");
  expect_events(
      *t.rec[1],
      {ev_reg("s", "x", pb.pid(), "mb", normal), ev_unreg("s", "x", pb.pid(), "mb", Reason::process_exit("died")),
       ev_reg("s", "x", pa.pid(), "ma", Reason::node_up("pd1"))},
      "b", 50ms);
}

TEST_CASE("registry partial split: the newer holder unregisters, the other side's holder reappears after the heal",
          "[registry][conflict][partial]") {
  PartialSplit t("pu");
  Node &a = *t.a, &b = *t.b, &c = *t.c;
  auto pa = a.spawn();
  auto pb = b.spawn();
  t.register_both("x", pa, "ma", pb, "mb");
  // a's becomes the newer one on c, then a drops it.
  REQUIRE(a.registry("s").update("x", [](const Pid&, const Term&) { return Term("ma2"); }));
  REQUIRE(eventually([&] { return c.registry("s").whereis("x") == pa.pid(); }));
  REQUIRE(a.registry("s").unregister_name("x"));
  REQUIRE(eventually([&] { return !a.registry("s").whereis("x"); }));
  bool agreed = eventually([&] { return c.registry("s").whereis("x") == pb.pid(); }, 3s);
  CHECK(agreed);
  t.heal_all();
  agreed = eventually(
      [&] {
        return converged({&a, &b, &c}, "s", {"x"}) && a.registry("s").whereis("x") == pb.pid();
      },
      3s);
  INFO(views({&a, &b, &c}, "s", {"x"}));
  CHECK(agreed);
  for (Node* n : {&a, &b, &c}) CHECK(n->registry("s").lookup("x") == Entry{pb.pid(), "mb"});
}
