// Guaranteed multicast over real networks: nodes on hosts made of network namespaces, cut with
// nftables drop rules (silent, like a pulled cable), MULTICAST.md scenarios 9 and 10:
// - a split 2|3 of five hosts: each side goes on as its own group and publishes; at the heal
//   the sides merge into one view (merged = true) and nothing published during the split
//   crosses;
// - partial connectivity: A and C cannot reach each other while both reach B. Exactly one view
//   remains: the later-joined of A and C is evicted, its joins fail with node_down while the
//   cut lasts, and succeed after the heal.
#include "net/net_checks.hpp"
#include "process/multicast_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace std::chrono_literals;
using syn::Term;
using syn::test::eventually;
using namespace syn::test::net;
using namespace syn::test::multicast;

namespace {

const Term kEvents = {{"events", true}};

/// Starts a node on each of `hosts`' hosts, seeded in a ring, prints its callbacks, and waits
/// for the mesh.
void start_all(NetCluster& cluster) {
  for (int h = 0; h < cluster.size(); ++h)
    cluster.start(h, Bind::own_address, {(h + 1) % cluster.size()}, nullptr, kEvents);
}

/// Whether every member's last view holds exactly `expected`.
bool views_are(const std::vector<McMember>& members, const std::vector<std::string>& expected) {
  for (const auto& m : members) {
    if (view_members(m) != expected) return false;
  }
  return true;
}

}  // namespace

TEST_CASE(
    "net: multicast split 2|3 by nftables cuts: both sides publish, the heal merges them into one view and "
    "nothing crosses",
    "[net][multicast][cut]") {
  SYN_NET_REQUIRE_LAB();
  NetCluster cluster(5, Family::ipv4, {kScope});
  start_all(cluster);
  REQUIRE_NET_MESH(cluster);
  std::vector<McMember> m;
  for (int h = 0; h < 5; ++h) m.push_back({&cluster.node(h), cluster.node(h).spawn()});
  for (const auto& member : m) member.agent->ok("multicast_join", member_args(member), 10s);
  REQUIRE(all_in_one_view(m));

  for (int a : {0, 1}) {
    for (int b : {2, 3, 4}) cluster.lab().cut(a, b);
  }
  auto small = pids_of({m[0], m[1]}), big = pids_of({m[2], m[3], m[4]});
  bool split = eventually([&] { return views_are({m[0], m[1]}, small) && views_are({m[2], m[3], m[4]}, big); }, 30s);
  INFO(cluster.views());
  REQUIRE(split);
  m[0].agent->ok("multicast_confirmed_broadcast", member_args(m[0], {{"message", "small-side"}, {"timeout_ms", 10000}}),
                 15s);
  m[2].agent->ok("multicast_confirmed_broadcast", member_args(m[2], {{"message", "big-side"}, {"timeout_ms", 10000}}),
                 15s);

  cluster.lab().heal_all();
  REQUIRE_NET_MESH(cluster);
  auto all = pids_of(m);
  REQUIRE(eventually([&] { return views_are(m, all); }, 90s));
  for (const auto& member : m) {
    bool merged = saw_merge(member, 5);
    CHECK(merged);
    bool small_member = member.pid == m[0].pid || member.pid == m[1].pid;
    for (const auto& r : record(member)["received"]) {
      CHECK(r["message"] != (small_member ? "big-side" : "small-side"));  // SPEC 8.4.2
    }
  }
  m[4].agent->ok("multicast_confirmed_broadcast", member_args(m[4], {{"message", "whole"}, {"timeout_ms", 10000}}),
                 15s);
  for (const auto& member : m) CHECK(record(member)["received"].back()["message"] == "whole");
}

TEST_CASE(
    "net: multicast partial cut (A-C cut, B reaches both): the later-joined of A and C is evicted, its join "
    "fails with node_down until the heal",
    "[net][multicast][cut][partial]") {
  SYN_NET_REQUIRE_LAB();
  NetCluster cluster(3, Family::ipv4, {kScope});
  start_all(cluster);
  REQUIRE_NET_MESH(cluster);
  const int a = 0, b = 1, c = 2;
  // B's member joins first (it coordinates), then A's, then C's: C joined later than A.
  McMember mb{&cluster.node(b), cluster.node(b).spawn()};
  McMember ma{&cluster.node(a), cluster.node(a).spawn()};
  McMember mc{&cluster.node(c), cluster.node(c).spawn()};
  for (const auto& member : {mb, ma, mc}) member.agent->ok("multicast_join", member_args(member), 10s);
  REQUIRE(all_in_one_view({ma, mb, mc}));

  cluster.lab().cut(a, c);
  // C's member is evicted (SPEC 8.3.5), and A and B go on in one view without it.
  REQUIRE(eventually([&] { return record(mc)["left"] == "evicted"; }, 30s));
  REQUIRE(eventually([&] { return views_are({ma, mb}, pids_of({ma, mb})); }, 10s));
  CHECK(saw_leave(*ma.agent, ma.pid, mc.pid, "evicted"));
  ma.agent->ok("multicast_confirmed_broadcast", member_args(ma, {{"message", "during"}, {"timeout_ms", 10000}}), 15s);

  // While the cut lasts, C's node cannot join: a node of the view does not reach it.
  McMember again{&cluster.node(c), cluster.node(c).spawn()};
  auto refused = again.agent->call("multicast_join", member_args(again, {{"join_timeout_ms", 3000}}), 10s);
  INFO("join during the cut: " << refused.dump());
  CHECK(refused["ok"] == false);
  CHECK(refused["code"] == "node_down");

  cluster.lab().heal(a, c);
  REQUIRE_NET_MESH(cluster);
  REQUIRE(eventually([&] { return again.agent->call("multicast_join", member_args(again), 10s)["ok"] == true; }, 30s));
  REQUIRE(all_in_one_view({ma, mb, again}));
  for (const auto& r : record(again)["received"]) CHECK(r["message"] != "during");  // from before its view
}
