// The groups reads on every node (SPEC 1, 2, 4): members and member_pids (same order
// everywhere), member, is_member, local_members, is_local_member, the counts with and without
// a node, group_names, before a net split, on each side of a partial split (A-B cut while C
// sees both; views are not transitive), and after the heal.
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;
using syn::test::stays;

namespace {

std::vector<std::string> names(std::vector<Term> v) { return names_text(std::move(v)); }
std::vector<std::string> names(std::initializer_list<const char*> v) {
  std::vector<Term> terms;
  for (auto* s : v) terms.emplace_back(s);
  return names_text(std::move(terms));
}

/// Checks every read of `node` against what it should see: `expected` maps each group to its
/// members in order (groups absent from it must be empty).
void check_view(Node& node, const std::map<std::string, std::vector<Member>>& expected,
                const std::vector<std::string>& all_groups, const std::vector<std::string>& node_names) {
  INFO("view of " << node.name());
  auto g = node.groups("s");
  std::size_t groups = 0;
  std::map<std::string, std::vector<std::string>> names_by_node;
  std::vector<std::string> local_names;
  for (const auto& name : all_groups) {
    INFO("group " << name);
    auto it = expected.find(name);
    std::vector<Member> want = it == expected.end() ? std::vector<Member>{} : it->second;
    CHECK(g.members(name) == want);
    std::vector<Pid> want_pids;
    for (const auto& m : want) want_pids.push_back(m.pid);
    CHECK(g.member_pids(name) == want_pids);  // the same members, in the same order, without metas
    CHECK(g.member_count(name) == want.size());
    std::vector<Member> local;
    for (const auto& m : want) {
      CHECK(g.member(name, m.pid) == m);
      CHECK(g.is_member(name, m.pid));
      bool is_local = m.pid.node() == node.name();
      CHECK(g.is_local_member(name, m.pid) == is_local);
      if (is_local) local.push_back(m);
    }
    CHECK(g.local_members(name) == local);
    CHECK(g.local_member_count(name) == local.size());
    for (const auto& nn : node_names) {
      std::size_t on_node =
          std::count_if(want.begin(), want.end(), [&](const Member& m) { return m.pid.node() == nn; });
      CHECK(g.member_count(name, nn) == on_node);
      if (on_node) names_by_node[nn].push_back(Term(name).dump());
    }
    if (!local.empty()) local_names.push_back(Term(name).dump());
    if (!want.empty()) ++groups;
  }
  CHECK(g.group_count() == groups);
  CHECK(g.group_names().size() == groups);
  for (const auto& nn : node_names) {
    INFO("for node " << nn);
    auto want = names_by_node[nn];
    std::sort(want.begin(), want.end());
    CHECK(g.group_count(nn) == want.size());
    CHECK(names(g.group_names(nn)) == want);
  }
  std::sort(local_names.begin(), local_names.end());
  CHECK(names(g.local_group_names()) == local_names);
  CHECK(g.local_group_count() == local_names.size());
  // An unknown group reads as empty.
  CHECK(g.members("unknown").empty());
  CHECK(g.member_pids("unknown").empty());
  CHECK(g.member_count("unknown") == 0);
  CHECK(g.member_count("unknown", node.name()) == 0);
  CHECK_FALSE(g.member("unknown", Pid(node.name(), node.creation(), 1)));
}

bool view_is(Node& node, const std::map<std::string, std::vector<Member>>& expected,
             const std::vector<std::string>& all_groups) {
  auto g = node.groups("s");
  for (const auto& name : all_groups) {
    auto it = expected.find(name);
    std::vector<Member> want = it == expected.end() ? std::vector<Member>{} : it->second;
    if (g.members(name) != want) return false;
  }
  return true;
}

}  // namespace

TEST_CASE("groups: reads on every node before, during and after a partial net split", "[groups][reads][split]") {
  auto rec_c = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("grd1", {"s"}, false);
  Node& b = nodes.add("grd2", {"s"}, false);
  Node& c = nodes.add("grd3", {"s"}, false, [&](NodeOptions& o) { o.event_handler = rec_c; });
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  const std::vector<std::string> node_names = {"grd1", "grd2", "grd3"};
  const std::vector<std::string> all = {"g1", "g2", "g3", "g4", "g5"};
  auto ga = a.groups("s"), gb = b.groups("s"), gc = c.groups("s");

  auto a1 = a.spawn(), a2 = a.spawn();
  auto b1 = b.spawn();
  auto c1 = c.spawn();
  // Joined from assorted callers: members list in pid order whatever the order of the joins.
  REQUIRE(gc.join("g1", c1.pid(), "c1"));
  REQUIRE(gc.join("g1", b1.pid(), "b1"));
  REQUIRE(gb.join("g1", a1.pid(), "a1"));
  REQUIRE(ga.join("g2", b1.pid(), Term{{"b", 1}}));
  REQUIRE(ga.join("g2", a2.pid(), Term::array({1, 2})));
  REQUIRE(gc.join("g3", c1.pid()));

  std::map<std::string, std::vector<Member>> full = {
      {"g1", {{a1.pid(), "a1"}, {b1.pid(), "b1"}, {c1.pid(), "c1"}}},
      {"g2", {{a2.pid(), Term::array({1, 2})}, {b1.pid(), Term{{"b", 1}}}}},
      {"g3", {{c1.pid(), nullptr}}}};
  // Pids order by node name, so a's members come first.
  CHECK(a1.pid() < b1.pid());
  CHECK(b1.pid() < c1.pid());

  for (Node* n : {&a, &b, &c}) REQUIRE(eventually([&] { return view_is(*n, full, all); }));
  for (Node* n : {&a, &b, &c}) check_view(*n, full, all, node_names);
  CHECK(names(ga.group_names()) == names({"g1", "g2", "g3"}));
  CHECK(names(ga.local_group_names()) == names({"g1", "g2"}));
  CHECK(names(gc.group_names("grd3")) == names({"g1", "g3"}));
  CHECK(gb.group_count("grd2") == 2);
  CHECK(gb.group_count("nobody") == 0);
  CHECK(gb.member_count("g1", "nobody") == 0);
  CHECK(gb.group_names("nobody").empty());
  CHECK(ga.is_local_member("g1", a1.pid()));
  CHECK_FALSE(gb.is_local_member("g1", a1.pid()));
  CHECK_FALSE(ga.is_local_member("g3", a1.pid()));          // local, not a member
  CHECK_FALSE(ga.is_local_member("g1", c1.pid()));          // a member, not local
  REQUIRE(eventually([&] { return rec_c->size() == 6; }));  // the six joins
  rec_c->clear();

  // ---- partial split: A-B cut, C still sees both -----------------------------------------
  REQUIRE(cut(a, b));
  CHECK(linked(a, c));
  CHECK(linked(b, c));
  std::map<std::string, std::vector<Member>> a_side = {{"g1", {{a1.pid(), "a1"}, {c1.pid(), "c1"}}},
                                                       {"g2", {{a2.pid(), Term::array({1, 2})}}},
                                                       {"g3", {{c1.pid(), nullptr}}}};
  std::map<std::string, std::vector<Member>> b_side = {{"g1", {{b1.pid(), "b1"}, {c1.pid(), "c1"}}},
                                                       {"g2", {{b1.pid(), Term{{"b", 1}}}}},
                                                       {"g3", {{c1.pid(), nullptr}}}};
  REQUIRE(eventually([&] { return view_is(a, a_side, all) && view_is(b, b_side, all); }));
  check_view(a, a_side, all, node_names);
  check_view(b, b_side, all, node_names);
  check_view(c, full, all, node_names);
  // C lost nothing: no callback at all there.
  CHECK(stays([&] { return rec_c->size() == 0; }, 100ms));

  // Writes on each side: each side sees its own; C sees everything.
  REQUIRE(ga.join("g4", a1.pid(), "a-side"));                  // local on A
  REQUIRE(gb.leave("g2", b1.pid()));                           // local on B
  REQUIRE(gb.join("g1", b1.pid(), "b1x"));                     // meta update on B
  REQUIRE(gc.join("g5", a2.pid(), "from-c"));                  // C for A's process
  REQUIRE(gc.join("g4", b1.pid(), "b-side"));                  // C for B's process
  CHECK(ga.join("g5", b1.pid()).error() == Errc::node_down);   // A cannot reach B
  CHECK(gb.leave("g1", a1.pid()).error() == Errc::node_down);  // B cannot reach A
  CHECK(gb.update_member("g2", a2.pid(), [](const Term& m) { return m; }).error() == Errc::node_down);
  a_side["g4"] = {{a1.pid(), "a-side"}};
  a_side["g5"] = {{a2.pid(), "from-c"}};
  b_side["g1"] = {{b1.pid(), "b1x"}, {c1.pid(), "c1"}};
  b_side.erase("g2");
  b_side["g4"] = {{b1.pid(), "b-side"}};
  full["g1"] = {{a1.pid(), "a1"}, {b1.pid(), "b1x"}, {c1.pid(), "c1"}};
  full["g2"] = {{a2.pid(), Term::array({1, 2})}};
  full["g4"] = {{a1.pid(), "a-side"}, {b1.pid(), "b-side"}};
  full["g5"] = {{a2.pid(), "from-c"}};
  REQUIRE(eventually([&] { return view_is(a, a_side, all) && view_is(b, b_side, all) && view_is(c, full, all); }));
  CHECK(stays([&] { return view_is(a, a_side, all) && view_is(b, b_side, all); }, 200ms));
  check_view(a, a_side, all, node_names);
  check_view(b, b_side, all, node_names);
  check_view(c, full, all, node_names);

  // ---- heal ----------------------------------------------------------------------------------
  REQUIRE(heal(a, b, "s"));
  for (Node* n : {&a, &b, &c}) REQUIRE(eventually([&] { return view_is(*n, full, all); }));
  for (Node* n : {&a, &b, &c}) check_view(*n, full, all, node_names);
  std::vector<Term> groups(all.begin(), all.end());
  CHECK(converged({&a, &b, &c}, "s", groups));
  // C went through no change because of the heal: only the callbacks of the writes above.
  expect_events(*rec_c,
                {ev_join("s", "g4", a1.pid(), "a-side", Reason::normal()),
                 ev_left("s", "g2", b1.pid(), Term{{"b", 1}}, Reason::normal()),
                 ev_upd("s", "g1", b1.pid(), "b1", "b1x", Reason::normal()),
                 ev_join("s", "g5", a2.pid(), "from-c", Reason::normal()),
                 ev_join("s", "g4", b1.pid(), "b-side", Reason::normal())},
                "grd3");
}

TEST_CASE("groups: a node only sees the data of the nodes it is linked to", "[groups][reads][split]") {
  // A chain A - C - B (A and B never linked): views are not transitive.
  Nodes nodes;
  Node& a = nodes.add("gch1", {"s"}, false);
  Node& c = nodes.add("gch3", {"s"}, false);
  auto ob = syn::test::test_options("gch2", {"s"});
  ob.auto_connect = false;
  ob.seeds = {c.endpoint()};
  Node b(ob);
  REQUIRE(eventually([&] {
    return subcluster_is(a, "s", {"gch3"}) && subcluster_is(b, "s", {"gch3"}) &&
           subcluster_is(c, "s", {"gch1", "gch2"});
  }));
  auto pa = a.spawn();
  auto pb = b.spawn();
  REQUIRE(a.groups("s").join("g", pa.pid(), "a"));
  REQUIRE(b.groups("s").join("g", pb.pid(), "b"));
  REQUIRE(eventually([&] { return c.groups("s").member_count("g") == 2; }));
  CHECK(stays(
      [&] {
        return a.groups("s").members("g") == std::vector<Member>{{pa.pid(), "a"}} &&
               b.groups("s").members("g") == std::vector<Member>{{pb.pid(), "b"}};
      },
      200ms));
  CHECK(c.groups("s").members("g") == std::vector<Member>{{pa.pid(), "a"}, {pb.pid(), "b"}});
  // publish on C reaches both; on A only its own member.
  CHECK(c.groups("s").publish("g", "hello") == 2);
  CHECK(a.groups("s").publish("g", "hello") == 1);
}
