// Replication of the registry (SPEC 1, 2): late joiners get everything, snapshots are
// authoritative (stale entries go), nodes that leave or are cut off take their names with them.
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;
using syn::test::stays;

TEST_CASE("registry: a node that joins late gets every registration", "[registry][replication]") {
  Nodes nodes;
  Node& a = nodes.add("lj1", {"s"});
  Node& b = nodes.add("lj2", {"s"});
  Node& c = nodes.add("lj3", {"s"});
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  std::vector<Process> procs;
  std::vector<Term> names;
  Node* members[] = {&a, &b, &c};
  for (int i = 0; i < 60; ++i) {
    Node& owner = *members[i % 3];
    procs.push_back(owner.spawn());
    names.push_back(Term{{"name", i}});
    // Registered from a node that is not always the owner.
    REQUIRE(members[(i / 3) % 3]->registry("s").register_name(names.back(), procs.back().pid(), i));
  }
  // Some churn before the join: unregistered and dead ones must not reach the late node.
  REQUIRE(a.registry("s").unregister_name(names[0]));
  procs[1].exit("bye");
  names.push_back("never");
  REQUIRE(eventually(
      [&] { return a.registry("s").count() == 58 && b.registry("s").count() == 58 && c.registry("s").count() == 58; }));

  auto rec = std::make_shared<Recorder>();
  Node& d = nodes.add("lj4", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec; });
  REQUIRE(wait_scope_mesh({&a, &b, &c, &d}, "s"));
  auto rd = d.registry("s");
  REQUIRE(eventually([&] { return rd.count() == 58; }));
  for (int i = 2; i < 60; ++i) CHECK(rd.lookup(names[i]) == Entry{procs[i].pid(), i});
  CHECK_FALSE(rd.lookup(names[0]));
  CHECK_FALSE(rd.lookup(names[1]));
  CHECK(rd.count("lj1") == 19);  // 0, 3, ... 57 minus names[0]
  CHECK(rd.count("lj2") == 19);  // 1, 4, ... 58 minus names[1]
  CHECK(rd.count("lj3") == 20);
  CHECK(rd.local_count() == 0);
  REQUIRE(eventually([&] { return converged(nodes.running_nodes(), "s", names); }, 5s));

  // Every entry arrived through a snapshot, with the name of the node that sent it.
  std::vector<std::string> expected;
  for (int i = 2; i < 60; ++i) {
    expected.push_back(ev_reg("s", names[i], procs[i].pid(), i, Reason::node_up(procs[i].pid().node())));
  }
  expect_events(*rec, expected, "lj4");

  // And the late node's own registrations reach the others.
  auto pd = d.spawn();
  REQUIRE(rd.register_name("from-d", pd.pid()));
  for (Node* n : {&a, &b, &c}) REQUIRE(eventually([&] { return n->registry("s").whereis("from-d") == pd.pid(); }));
}

TEST_CASE("registry: a node leaving or cut off takes its names away with remote_scope_node_down",
          "[registry][replication]") {
  std::shared_ptr<Recorder> rec[3];
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("nd" + std::to_string(i + 1), {"s"}, false, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  Node &a = nodes[0], &b = nodes[1], &c = nodes[2];
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  auto pa = a.spawn(), pb = b.spawn(), pc = c.spawn();
  REQUIRE(a.registry("s").register_name("a", pa.pid(), "ma"));
  REQUIRE(b.registry("s").register_name("b", pb.pid(), "mb"));
  REQUIRE(b.registry("s").register_name("b2", pb.pid()));
  REQUIRE(c.registry("s").register_name("c", pc.pid(), "mc"));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return nodes[i].registry("s").count() == 4; }));
  const Reason normal = Reason::normal();
  std::vector<std::string> base = {ev_reg("s", "a", pa.pid(), "ma", normal), ev_reg("s", "b", pb.pid(), "mb", normal),
                                   ev_reg("s", "b2", pb.pid(), nullptr, normal),
                                   ev_reg("s", "c", pc.pid(), "mc", normal)};
  for (int i = 0; i < 3; ++i) expect_events(*rec[i], base, nodes[i].name(), 50ms);
  for (auto& r : rec) r->clear();

  // Cut a-b; c still sees both.
  cut(a, b);
  REQUIRE(eventually([&] { return a.registry("s").count() == 2 && b.registry("s").count() == 3; }));
  CHECK_FALSE(a.registry("s").whereis("b"));
  CHECK_FALSE(a.registry("s").whereis("b2"));
  CHECK(a.registry("s").whereis("c") == pc.pid());
  CHECK_FALSE(b.registry("s").whereis("a"));
  CHECK(a.registry("s").count("nd2") == 0);
  CHECK(c.registry("s").count() == 4);
  CHECK(subcluster_is(a, "s", {"nd3"}));
  CHECK(subcluster_is(c, "s", {"nd1", "nd2"}));
  Reason down_a = Reason::node_down("nd1"), down_b = Reason::node_down("nd2");
  expect_events(*rec[0], {ev_unreg("s", "b", pb.pid(), "mb", down_b), ev_unreg("s", "b2", pb.pid(), nullptr, down_b)},
                "nd1");
  expect_events(*rec[1], {ev_unreg("s", "a", pa.pid(), "ma", down_a)}, "nd2", 50ms);
  expect_events(*rec[2], {}, "nd3", 50ms);

  // While cut: changes on one side reach c but not the other side.
  REQUIRE(b.registry("s").unregister_name("b2"));
  auto pb2 = b.spawn();
  REQUIRE(b.registry("s").register_name("b3", pb2.pid()));
  REQUIRE(eventually([&] { return c.registry("s").whereis("b3") == pb2.pid() && !c.registry("s").whereis("b2"); }));
  CHECK(stays([&] { return !a.registry("s").whereis("b3"); }, 100ms));

  // Heal: a gets b's current data (and not b2), with remote_scope_node_up.
  for (auto& r : rec) r->clear();
  REQUIRE(heal(a, b));
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  std::vector<Term> names = {"a", "b", "b2", "b3", "c"};
  REQUIRE(eventually([&] { return converged({&a, &b, &c}, "s", names) && a.registry("s").count() == 4; }));
  CHECK_FALSE(a.registry("s").whereis("b2"));
  Reason up_a = Reason::node_up("nd1"), up_b = Reason::node_up("nd2");
  expect_events(*rec[0], {ev_reg("s", "b", pb.pid(), "mb", up_b), ev_reg("s", "b3", pb2.pid(), nullptr, up_b)}, "nd1");
  expect_events(*rec[1], {ev_reg("s", "a", pa.pid(), "ma", up_a)}, "nd2", 50ms);
  expect_events(*rec[2], {}, "nd3", 50ms);

  // b leaves the cluster: its names go at once everywhere, with remote_scope_node_down.
  for (auto& r : rec) r->clear();
  Pid b_pid = pb.pid(), b3_pid = pb2.pid();
  nodes.stop(1);
  for (int i : {0, 2}) {
    REQUIRE(eventually([&] { return nodes[i].registry("s").count() == 2; }));
    CHECK(nodes[i].registry("s").count("nd2") == 0);
    expect_events(*rec[i], {ev_unreg("s", "b", b_pid, "mb", down_b), ev_unreg("s", "b3", b3_pid, nullptr, down_b)},
                  nodes[i].name(), i == 0 ? 300ms : 50ms);
  }
  CHECK(subcluster_is(a, "s", {"nd3"}));
  CHECK(converged({&a, &c}, "s", names));
}

TEST_CASE("registry: a snapshot removes what its sender no longer has", "[registry][replication]") {
  // White-box: c holds a's entry learnt from a's reply to c's own call, then a drops it before
  // c is in a's subcluster (so a's removal is not sent to c). a's snapshot must remove it.
  auto rec_c = std::make_shared<Recorder>();
  Nodes nodes;
  Node& c = nodes.add("st_c", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_c; });
  Node& a = nodes.add("st_a", {});
  REQUIRE(eventually([&] { return a.nodes().size() == 1 && c.nodes().size() == 1; }));
  auto pa = a.spawn();
  auto keep = a.spawn();
  std::future<Result<void>> f;
  {
    EngineBlock hold(a);
    a.add_node_to_scopes({"s"});  // its discovery waits behind the block
    REQUIRE(a.registry("s").register_name("kept", keep.pid(), "k"));
    f = c.registry("s").register_name_async("x", pa.pid(), "m");  // queued at a
    c.exit(pa.pid(), "gone");                                     // queued at a after it
    sync_engine(c);  // both are on their way to a before a's discovery can reach c
  }
  REQUIRE(f.get());
  REQUIRE(eventually([&] { return subcluster_is(c, "s", {"st_a"}) && subcluster_is(a, "s", {"st_c"}); }));
  CHECK_FALSE(a.registry("s").whereis("x"));
  REQUIRE(eventually([&] { return c.registry("s").whereis("kept") == keep.pid(); }));
  CHECK(eventually([&] { return !c.registry("s").whereis("x"); }, 2s));
  CHECK(c.registry("s").count() == 1);
  CHECK(c.registry("s").lookup("kept") == Entry{keep.pid(), "k"});
  std::vector<std::string> expected = {ev_reg("s", "x", pa.pid(), "m", Reason::normal()),
                                       ev_unreg("s", "x", pa.pid(), "m", Reason::node_up("st_a")),
                                       ev_reg("s", "kept", keep.pid(), "k", Reason::node_up("st_a"))};
  expect_events(*rec_c, expected, "st_c");
}
