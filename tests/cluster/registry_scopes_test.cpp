// Registry subclusters per scope (SPEC 1, 3): overlapping scopes, where data goes, scope
// errors, and scopes added late.
#include "cluster/registry_helpers.hpp"
#include "support/thrown.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;
using syn::test::stays;

namespace {

Errc scope_error(const std::function<void()>& fn) { return syn::test::thrown_code(fn); }

}  // namespace

TEST_CASE("registry: overlapping scopes form one subcluster per scope", "[registry][scopes]") {
  Nodes nodes;
  Node& a = nodes.add("sc_a", {"s1"});
  Node& b = nodes.add("sc_b", {"s1", "s2"});
  Node& c = nodes.add("sc_c", {"s2"});
  REQUIRE(eventually([&] { return a.nodes().size() == 2 && b.nodes().size() == 2 && c.nodes().size() == 2; }));
  REQUIRE(eventually([&] {
    return subcluster_is(a, "s1", {"sc_b"}) && subcluster_is(b, "s1", {"sc_a"}) && subcluster_is(b, "s2", {"sc_c"}) &&
           subcluster_is(c, "s2", {"sc_b"});
  }));

  // Not in the scope: Error{invalid_scope}, for every call that names a scope.
  CHECK(scope_error([&] { a.registry("s2"); }) == Errc::invalid_scope);
  CHECK(scope_error([&] { c.registry("s1"); }) == Errc::invalid_scope);
  CHECK(scope_error([&] { b.registry("unknown"); }) == Errc::invalid_scope);
  CHECK(scope_error([&] { a.subcluster_nodes(Kind::registry, "s2"); }) == Errc::invalid_scope);
  CHECK(scope_error([&] { c.subcluster_nodes(Kind::registry, "unknown"); }) == Errc::invalid_scope);

  auto pa = a.spawn();
  auto pb = b.spawn();
  auto pc = c.spawn();
  auto a1 = a.registry("s1");
  auto b1 = b.registry("s1");
  auto b2 = b.registry("s2");
  auto c2 = c.registry("s2");

  REQUIRE(a1.register_name("in-s1", pa.pid(), "a"));
  REQUIRE(b1.register_name("b-in-s1", pb.pid()));
  REQUIRE(b2.register_name("b-in-s2", pb.pid()));
  REQUIRE(c2.register_name("in-s2", pc.pid(), "c"));

  REQUIRE(eventually([&] { return b1.whereis("in-s1") == pa.pid() && a1.whereis("b-in-s1") == pb.pid(); }));
  REQUIRE(eventually([&] { return b2.whereis("in-s2") == pc.pid() && c2.whereis("b-in-s2") == pb.pid(); }));

  // Data of a scope stays in it: s1 names are not in s2 and the reverse.
  CHECK(stays(
      [&] {
        return !b2.lookup("in-s1") && !b2.lookup("b-in-s1") && !c2.lookup("in-s1") && !c2.lookup("b-in-s1") &&
               !b1.lookup("in-s2") && !b1.lookup("b-in-s2") && !a1.lookup("in-s2") && !a1.lookup("b-in-s2");
      },
      200ms));
  CHECK(a1.count() == 2);
  CHECK(b1.count() == 2);
  CHECK(b2.count() == 2);
  CHECK(c2.count() == 2);
  CHECK(a1.count("sc_c") == 0);
  CHECK(c2.count("sc_a") == 0);
  CHECK(b1.local_count() == 1);
  CHECK(b2.local_count() == 1);

  // The same name in two scopes is two independent registrations.
  REQUIRE(b2.register_name("in-s1", pb.pid(), "other scope"));
  CHECK(b1.whereis("in-s1") == pa.pid());
  CHECK(b2.whereis("in-s1") == pb.pid());

  // A pid whose node is not in the scope: invalid_remote_scope, from a local or a remote caller.
  auto r = b2.register_name("a-proc", pa.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::invalid_remote_scope);
  r = b1.register_name("c-proc", pc.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::invalid_remote_scope);
  r = a1.register_name("c-proc", pc.pid());
  REQUIRE_FALSE(r);
  CHECK(r.error() == Errc::invalid_remote_scope);
  CHECK_FALSE(b2.lookup("a-proc"));
  CHECK_FALSE(b1.lookup("c-proc"));
  CHECK_FALSE(a1.lookup("c-proc"));

  // A remote caller in the scope registers a pid of another member: fine.
  REQUIRE(a1.register_name("b-by-a", pb.pid(), 1));
  CHECK(a1.whereis("b-by-a") == pb.pid());  // read-your-writes
  CHECK(b1.lookup("b-by-a")->meta == 1);    // the authority applied it before answering
  CHECK(stays([&] { return !b2.lookup("b-by-a") && !c2.lookup("b-by-a"); }, 100ms));
}

TEST_CASE("registry: add_node_to_scopes is idempotent and a late scope syncs both ways", "[registry][scopes]") {
  auto rec_a = std::make_shared<Recorder>();
  auto rec_b = std::make_shared<Recorder>();
  auto rec_c = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("late_a", {"s1"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  Node& b = nodes.add("late_b", {"s1", "s2"}, true, [&](NodeOptions& o) { o.event_handler = rec_b; });
  Node& c = nodes.add("late_c", {"s2"}, true, [&](NodeOptions& o) { o.event_handler = rec_c; });
  // Both ways, so that later changes are replicated (not learnt from a snapshot).
  REQUIRE(eventually([&] {
    return subcluster_is(b, "s2", {"late_c"}) && subcluster_is(b, "s1", {"late_a"}) &&
           subcluster_is(a, "s1", {"late_b"}) && subcluster_is(c, "s2", {"late_b"});
  }));

  auto pa = a.spawn();
  auto pb = b.spawn();
  auto pc = c.spawn();
  REQUIRE(b.registry("s2").register_name("b2", pb.pid(), "mb"));
  REQUIRE(c.registry("s2").register_name("c2", pc.pid(), "mc"));
  REQUIRE(a.registry("s1").register_name("a1", pa.pid()));
  // Every copy: b's own view of s2 holds c's name only once that change reached it.
  REQUIRE(eventually(
      [&] { return c.registry("s2").count() == 2 && b.registry("s2").count() == 2 && b.registry("s1").count() == 1; }));

  // Adding scopes it already has changes nothing.
  b.add_node_to_scopes({"s1", "s2"});
  b.add_node_to_scopes({"s2"});
  CHECK(b.node_scopes() == std::vector<std::string>{"s1", "s2"});
  CHECK(b.registry("s2").count() == 2);
  CHECK(b.registry("s1").count() == 1);
  // An empty name among good ones: bad_argument, and none of them is added (it used to add the
  // good ones before it and never start them: the node was never ready again).
  REQUIRE(b.ready());
  try {
    b.add_node_to_scopes({"s3", ""});
    FAIL("an empty scope name was accepted");
  } catch (const Error& e) { CHECK(e.code() == Errc::bad_argument); }
  CHECK(b.node_scopes() == std::vector<std::string>{"s1", "s2"});
  CHECK(b.ready());

  // a joins s2 late (and s1 again): it gets the data of b and c, they get a's.
  a.add_node_to_scopes({"s1", "s2"});
  CHECK(a.node_scopes() == std::vector<std::string>{"s1", "s2"});
  auto a2 = a.registry("s2");
  REQUIRE(a2.register_name("a2", pa.pid(), "ma"));  // right after adding: before or during the sync
  CHECK(a2.whereis("a2") == pa.pid());
  REQUIRE(eventually([&] { return subcluster_is(a, "s2", {"late_b", "late_c"}); }));
  REQUIRE(eventually([&] {
    return subcluster_is(b, "s2", {"late_a", "late_c"}) && subcluster_is(c, "s2", {"late_a", "late_b"});
  }));
  REQUIRE(eventually([&] { return a2.count() == 3; }));
  CHECK(a2.lookup("b2") == Entry{pb.pid(), "mb"});
  CHECK(a2.lookup("c2") == Entry{pc.pid(), "mc"});
  for (Node* n : {&b, &c}) {
    REQUIRE(eventually([&] { return n->registry("s2").count() == 3; }));
    CHECK(n->registry("s2").lookup("a2") == Entry{pa.pid(), "ma"});
  }
  CHECK(a.registry("s1").count() == 1);
  CHECK(subcluster_is(a, "s1", {"late_b"}));

  // Callbacks: each node got each s2 registration exactly once.
  Reason normal = Reason::normal();
  Reason up_b = Reason::node_up("late_b");
  Reason up_c = Reason::node_up("late_c");
  expect_events(*rec_a,
                {ev_reg("s1", "a1", pa.pid(), nullptr, normal), ev_reg("s2", "a2", pa.pid(), "ma", normal),
                 ev_reg("s2", "b2", pb.pid(), "mb", up_b), ev_reg("s2", "c2", pc.pid(), "mc", up_c)},
                "late_a");
  // b and c learn a2 through the snapshot or through the replicated change, depending on timing.
  auto a2_on = [&](Recorder& rec) {
    auto evs = rec.events();
    return std::count(evs.begin(), evs.end(), ev_reg("s2", "a2", pa.pid(), "ma", normal)) +
           std::count(evs.begin(), evs.end(), ev_reg("s2", "a2", pa.pid(), "ma", Reason::node_up("late_a")));
  };
  CHECK(a2_on(*rec_b) == 1);
  CHECK(a2_on(*rec_c) == 1);
  CHECK(rec_b->size() == 4);  // b2, c2 (from c), a1 (from a), a2
  CHECK(rec_c->size() == 3);  // c2, b2, a2
}
