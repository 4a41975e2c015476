// Replication of groups (SPEC 1, 2, 4, 5): late joiners get everything, process death removes
// every membership of the process everywhere (process_exit with the exit reason), a node that
// leaves or is cut off takes its members with it (remote_scope_node_down), the snapshot on
// (re)connection adds what is new and removes what is stale (remote_scope_node_up). Exact
// multisets of callbacks on every node.
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;
using syn::test::stays;

TEST_CASE("groups: late joiners get everything", "[groups][replication]") {
  std::shared_ptr<Recorder> rec[4] = {std::make_shared<Recorder>(), std::make_shared<Recorder>(),
                                      std::make_shared<Recorder>(), std::make_shared<Recorder>()};
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.add("glate" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  REQUIRE(wait_scope_mesh({&nodes[0], &nodes[1], &nodes[2]}, "s"));
  std::vector<Process> procs;
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 2; ++k) procs.push_back(nodes[i].spawn());
  }
  // Six processes, in groups g0..g2 with assorted metas; one also joins via a remote caller.
  std::vector<Term> groups = {"g0", "g1", "g2", Term::array({"nested", 1})};
  for (std::size_t p = 0; p < procs.size(); ++p) {
    auto g = nodes[p / 2].groups("s");
    REQUIRE(g.join(groups[p % 3], procs[p].pid(), Term{{"p", p}}));
    REQUIRE(g.join(groups[3], procs[p].pid()));
  }
  // A meta update by a remote caller: the first three see a join then an update, late
  // joiners only the current meta.
  REQUIRE(nodes[0].groups("s").join("g2", procs[5].pid(), "remote"));
  std::vector<Node*> first = {&nodes[0], &nodes[1], &nodes[2]};
  REQUIRE(eventually([&] {
    return nodes[0].groups("s").member_count(groups[3]) == 6 && nodes[1].groups("s").member_count(groups[3]) == 6 &&
           nodes[2].groups("s").member_count(groups[3]) == 6;
  }));
  REQUIRE(eventually([&] { return converged(first, "s", groups); }));

  // What a node must have seen: each membership once.
  auto expected_for = [&](bool late, const std::string& self) {
    std::vector<std::string> out;
    for (std::size_t p = 0; p < procs.size(); ++p) {
      const std::string& owner = procs[p].pid().node();
      Reason r = !late || owner == self ? Reason::normal() : Reason::node_up(owner);
      Term meta = Term{{"p", p}};
      if (p == 5 && late) meta = "remote";
      out.push_back(ev_join("s", groups[p % 3], procs[p].pid(), meta, r));
      out.push_back(ev_join("s", groups[3], procs[p].pid(), nullptr, r));
    }
    if (!late) out.push_back(ev_upd("s", "g2", procs[5].pid(), Term{{"p", 5}}, "remote", Reason::normal()));
    return out;
  };

  // The first three saw each change once, as API calls (normal).
  for (int i = 0; i < 3; ++i) {
    expect_events(*rec[i], expected_for(false, nodes[i].name()), nodes[i].name(), i == 0 ? 100ms : 10ms);
    rec[i]->clear();
  }

  SECTION("a new node") {
    Node& d = nodes.add("glate4", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[3]; });
    REQUIRE(wait_scope_mesh({&nodes[0], &nodes[1], &nodes[2], &d}, "s"));
    std::vector<Node*> all = {&nodes[0], &nodes[1], &nodes[2], &d};
    REQUIRE(eventually([&] { return converged(all, "s", groups); }, 10s));
    INFO(views(all, "s", groups));
    CHECK(d.groups("s").members("g1") == nodes[0].groups("s").members("g1"));
    CHECK(d.groups("s").member("g2", procs[5].pid()) == Member{procs[5].pid(), "remote"});
    // On d: each membership once, as a snapshot of its node.
    expect_events(*rec[3], expected_for(true, "glate4"), "glate4");
  }

  SECTION("a connected node adding the scope late") {
    Node& d = nodes.add("glate4", {}, true, [&](NodeOptions& o) { o.event_handler = rec[3]; });
    REQUIRE(eventually([&] { return d.nodes().size() == 3; }));
    auto pd = d.spawn();
    CHECK_THROWS_AS(d.groups("s"), Error);
    d.add_node_to_scopes({"s"});
    d.add_node_to_scopes({"s"});  // idempotent
    REQUIRE(wait_scope_mesh({&nodes[0], &nodes[1], &nodes[2], &d}, "s"));
    std::vector<Node*> all = {&nodes[0], &nodes[1], &nodes[2], &d};
    REQUIRE(eventually([&] { return converged(all, "s", groups); }, 10s));
    expect_events(*rec[3], expected_for(true, "glate4"), "glate4");
    // And d's own members reach the others.
    REQUIRE(d.groups("s").join("g0", pd.pid(), "d"));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(eventually([&] { return nodes[i].groups("s").member("g0", pd.pid()) == Member{pd.pid(), "d"}; }));
      expect_events(*rec[i], {ev_join("s", "g0", pd.pid(), "d", Reason::normal())}, nodes[i].name(), 10ms);
    }
  }
  // Nothing changed for the first three because of the late joiner.
  for (int i = 0; i < 3; ++i) {
    for (auto& e : rec[i]->events()) CHECK(e.find("glate4") != std::string::npos);
  }
}

TEST_CASE("groups: process death removes every membership of the process everywhere", "[groups][replication]") {
  std::shared_ptr<Recorder> rec[3] = {std::make_shared<Recorder>(), std::make_shared<Recorder>(),
                                      std::make_shared<Recorder>()};
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.add("gexit" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  Node &a = nodes[0], &b = nodes[1], &c = nodes[2];
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  auto pa = a.spawn();
  auto pb = b.spawn();
  auto keep = c.spawn();
  std::optional<Process> pc{c.spawn()};
  Pid pa_pid = pa.pid(), pb_pid = pb.pid(), pc_pid = pc->pid();
  // pa in three groups (joined by three different callers), pb in two, keep stays.
  REQUIRE(a.groups("s").join("g1", pa_pid, "a1"));
  REQUIRE(b.groups("s").join("g2", pa_pid, "a2"));
  REQUIRE(c.groups("s").join("g3", pa_pid));
  REQUIRE(a.groups("s").join("g1", pb_pid, "b1"));
  REQUIRE(b.groups("s").join("g3", pb_pid, "b3"));
  REQUIRE(c.groups("s").join("g1", keep.pid(), "k"));
  REQUIRE(c.groups("s").join("g2", pc_pid, "c2"));
  std::vector<Term> groups = {"g1", "g2", "g3"};
  REQUIRE(eventually([&] {
    return a.groups("s").member_count("g1") == 3 && b.groups("s").member_count("g1") == 3 &&
           c.groups("s").member_count("g1") == 3 && converged({&a, &b, &c}, "s", groups) &&
           a.groups("s").group_count() == 3 && b.groups("s").member_count("g3") == 2 &&
           a.groups("s").member_count("g2") == 2;
  }));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return rec[i]->size() == 7; }));
  for (auto& r : rec) r->clear();

  // Three deaths: exit with a structured reason, killed from another node, handle destroyed.
  const Term why = Term{{"crash", Term::array({1, "x"})}};
  pa.exit(why);
  CHECK_FALSE(a.groups("s").is_member("g1", pa_pid));  // the dead are hidden at once locally
  a.exit(pb_pid, "killed");
  pc.reset();
  for (Node* n : {&a, &b, &c}) {
    REQUIRE(eventually([&] {
      auto g = n->groups("s");
      return g.members("g1") == std::vector<Member>{{keep.pid(), "k"}} && g.member_count("g2") == 0 &&
             g.member_count("g3") == 0 && g.group_count() == 1;
    }));
  }
  CHECK(converged({&a, &b, &c}, "s", groups));
  std::vector<std::string> expected = {ev_left("s", "g1", pa_pid, "a1", Reason::process_exit(why)),
                                       ev_left("s", "g2", pa_pid, "a2", Reason::process_exit(why)),
                                       ev_left("s", "g3", pa_pid, nullptr, Reason::process_exit(why)),
                                       ev_left("s", "g1", pb_pid, "b1", Reason::process_exit("killed")),
                                       ev_left("s", "g3", pb_pid, "b3", Reason::process_exit("killed")),
                                       ev_left("s", "g2", pc_pid, "c2", Reason::process_exit("normal"))};
  for (int i = 0; i < 3; ++i) expect_events(*rec[i], expected, nodes[i].name(), i == 0 ? 200ms : 20ms);
  // The dead cannot join again; the groups they were in stay usable.
  CHECK(b.groups("s").join("g1", pa_pid).error() == Errc::not_alive);
  CHECK(a.groups("s").leave("g1", pa_pid).error() == Errc::not_in_group);
}

TEST_CASE("groups: a node that leaves takes its members with it", "[groups][replication]") {
  std::shared_ptr<Recorder> rec[3] = {std::make_shared<Recorder>(), std::make_shared<Recorder>(),
                                      std::make_shared<Recorder>()};
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.add("gleave" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  Node &a = nodes[0], &c = nodes[2];
  REQUIRE(wait_scope_mesh({&a, &nodes[1], &c}, "s"));
  auto pa = a.spawn();
  auto pb1 = nodes[1].spawn();
  auto pb2 = nodes[1].spawn();
  Pid pb1_pid = pb1.pid(), pb2_pid = pb2.pid();
  REQUIRE(a.groups("s").join("g", pa.pid(), "a"));
  REQUIRE(a.groups("s").join("g", pb1_pid, "b1"));
  REQUIRE(c.groups("s").join("h", pb1_pid, "h1"));
  REQUIRE(nodes[1].groups("s").join("h", pb2_pid));
  for (Node* n : {&a, &c}) REQUIRE(eventually([&] { return n->groups("s").member_count("h") == 2; }));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return rec[i]->size() == 4; }));
  rec[0]->clear();
  rec[2]->clear();

  nodes.stop(1);  // graceful: peers purge at once
  Reason down = Reason::node_down("gleave2");
  for (int i : {0, 2}) {
    auto g = nodes[i].groups("s");
    REQUIRE(eventually([&] { return g.member_count("h") == 0 && g.member_count("g") == 1; }));
    CHECK(g.members("g") == std::vector<Member>{{pa.pid(), "a"}});
    CHECK(g.group_count() == 1);
    CHECK(g.group_count("gleave2") == 0);
    CHECK(g.member_count("g", "gleave2") == 0);
    CHECK(g.group_names("gleave2").empty());
    expect_events(*rec[i],
                  {ev_left("s", "g", pb1_pid, "b1", down), ev_left("s", "h", pb1_pid, "h1", down),
                   ev_left("s", "h", pb2_pid, nullptr, down)},
                  nodes[i].name(), i == 0 ? 200ms : 20ms);
  }
  CHECK(subcluster_is(a, "s", {"gleave3"}));
}

TEST_CASE("groups: a cut purges the other side's members and the heal's snapshots bring them back",
          "[groups][replication][split]") {
  std::shared_ptr<Recorder> rec[3] = {std::make_shared<Recorder>(), std::make_shared<Recorder>(),
                                      std::make_shared<Recorder>()};
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    nodes.add("gcut" + std::to_string(i + 1), {"s"}, false, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  Node &a = nodes[0], &b = nodes[1], &c = nodes[2];
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  auto pa = a.spawn(), pa2 = a.spawn();
  auto pb = b.spawn(), pb2 = b.spawn();
  auto pc = c.spawn();
  REQUIRE(a.groups("s").join("g", pa.pid(), "a"));
  REQUIRE(a.groups("s").join("g", pb.pid(), "b"));
  REQUIRE(b.groups("s").join("x", pa2.pid(), "a2"));  // pa2 will leave during the split
  REQUIRE(c.groups("s").join("g", pc.pid(), "c"));
  std::vector<Term> groups = {"g", "x", "y"};
  REQUIRE(eventually([&] { return converged({&a, &b, &c}, "s", groups) && c.groups("s").member_count("g") == 3; }));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return rec[i]->size() == 4; }));
  for (auto& r : rec) r->clear();

  REQUIRE(cut(a, b));
  Reason a_down = Reason::node_down("gcut1"), b_down = Reason::node_down("gcut2");
  expect_events(*rec[0], {ev_left("s", "g", pb.pid(), "b", b_down)}, "gcut1");
  expect_events(*rec[1], {ev_left("s", "g", pa.pid(), "a", a_down), ev_left("s", "x", pa2.pid(), "a2", a_down)},
                "gcut2", 20ms);
  CHECK(rec[2]->size() == 0);
  for (auto& r : rec) r->clear();

  // During the split: A changes pa's meta and pa2 leaves x; B's pb2 joins y; C changes pc's meta.
  REQUIRE(a.groups("s").join("g", pa.pid(), "a-new"));
  REQUIRE(a.groups("s").leave("x", pa2.pid()));
  REQUIRE(b.groups("s").join("y", pb2.pid(), "b2"));
  REQUIRE(c.groups("s").join("g", pc.pid(), "c-new"));
  REQUIRE(eventually([&] {
    return c.groups("s").member_count("y") == 1 && c.groups("s").member_count("x") == 0 &&
           c.groups("s").member("g", pa.pid())->meta == "a-new";
  }));
  REQUIRE(eventually([&] {
    return a.groups("s").member("g", pc.pid())->meta == "c-new" && b.groups("s").member("g", pc.pid())->meta == "c-new";
  }));

  REQUIRE(heal(a, b, "s"));
  REQUIRE(eventually([&] {
    return converged({&a, &b, &c}, "s", groups) && a.groups("s").member_count("y") == 1 &&
           b.groups("s").member_count("g") == 3;
  }));
  INFO(views({&a, &b, &c}, "s", groups));
  CHECK(a.groups("s").members("g") == std::vector<Member>{{pa.pid(), "a-new"}, {pb.pid(), "b"}, {pc.pid(), "c-new"}});
  CHECK(a.groups("s").members("x").empty());
  Reason a_up = Reason::node_up("gcut1"), b_up = Reason::node_up("gcut2");
  Reason normal = Reason::normal();
  expect_events(*rec[0],
                {ev_upd("s", "g", pa.pid(), "a", "a-new", normal), ev_left("s", "x", pa2.pid(), "a2", normal),
                 ev_upd("s", "g", pc.pid(), "c", "c-new", normal), ev_join("s", "g", pb.pid(), "b", b_up),
                 ev_join("s", "y", pb2.pid(), "b2", b_up)},
                "gcut1");
  expect_events(*rec[1],
                {ev_join("s", "y", pb2.pid(), "b2", normal), ev_upd("s", "g", pc.pid(), "c", "c-new", normal),
                 ev_join("s", "g", pa.pid(), "a-new", a_up)},
                "gcut2", 20ms);
  expect_events(*rec[2],
                {ev_upd("s", "g", pa.pid(), "a", "a-new", normal), ev_left("s", "x", pa2.pid(), "a2", normal),
                 ev_join("s", "y", pb2.pid(), "b2", normal), ev_upd("s", "g", pc.pid(), "c", "c-new", normal)},
                "gcut3", 20ms);
}

TEST_CASE("groups: a snapshot removes what its sender no longer has", "[groups][replication]") {
  // White-box: c holds a's membership learnt from a's reply to c's own call, then a drops it
  // before c is in a's subcluster (so a's removal is not sent to c). a's snapshot must remove
  // it, and bring what c lacks.
  auto rec_c = std::make_shared<Recorder>();
  Nodes nodes;
  Node& c = nodes.add("gst_c", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_c; });
  Node& a = nodes.add("gst_a", {});
  REQUIRE(eventually([&] { return a.nodes().size() == 1 && c.nodes().size() == 1; }));
  auto pa = a.spawn();
  auto keep = a.spawn();
  std::future<Result<void>> f, f2;
  {
    EngineBlock hold(a);
    a.add_node_to_scopes({"s"});  // its discovery waits behind the block
    REQUIRE(a.groups("s").join("kept", keep.pid(), "k"));
    f = c.groups("s").join_async("x", pa.pid(), "m");   // queued at a
    f2 = c.groups("s").join_async("y", pa.pid(), "n");  // queued at a
    c.exit(pa.pid(), "gone");                           // queued at a after them
  }
  REQUIRE(f.get());
  REQUIRE(f2.get());
  REQUIRE(eventually([&] { return subcluster_is(c, "s", {"gst_a"}) && subcluster_is(a, "s", {"gst_c"}); }));
  CHECK(a.groups("s").group_count() == 1);
  REQUIRE(eventually([&] { return c.groups("s").group_count() == 1; }));
  CHECK_FALSE(c.groups("s").is_member("x", pa.pid()));
  CHECK(c.groups("s").members("kept") == std::vector<Member>{{keep.pid(), "k"}});
  std::vector<std::string> expected = {ev_join("s", "x", pa.pid(), "m", Reason::normal()),
                                       ev_join("s", "y", pa.pid(), "n", Reason::normal()),
                                       ev_left("s", "x", pa.pid(), "m", Reason::node_up("gst_a")),
                                       ev_left("s", "y", pa.pid(), "n", Reason::node_up("gst_a")),
                                       ev_join("s", "kept", keep.pid(), "k", Reason::node_up("gst_a"))};
  expect_events(*rec_c, expected, "gst_c");
}

TEST_CASE("groups: members of a node restarted under the same name", "[groups][replication]") {
  auto rec_a = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("grst1", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  nodes.add("grst2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &nodes[1]}, "s"));
  auto old = nodes[1].spawn();
  Pid old_pid = old.pid();
  REQUIRE(a.groups("s").join("g", old_pid, "old"));
  nodes.stop(1);
  REQUIRE(eventually([&] { return a.groups("s").member_count("g") == 0; }));
  Node& b2 = nodes.add("grst2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &b2}, "s"));
  auto fresh = b2.spawn();
  CHECK(a.groups("s").join("g", old_pid).error() == Errc::not_alive);
  REQUIRE(a.groups("s").join("g", fresh.pid(), "new"));
  CHECK(a.groups("s").members("g") == std::vector<Member>{{fresh.pid(), "new"}});
  REQUIRE(eventually([&] { return b2.groups("s").members("g") == std::vector<Member>{{fresh.pid(), "new"}}; }));
  expect_events(*rec_a,
                {ev_join("s", "g", old_pid, "old", Reason::normal()),
                 ev_left("s", "g", old_pid, "old", Reason::node_down("grst2")),
                 ev_join("s", "g", fresh.pid(), "new", Reason::normal())},
                "grst1");
}
