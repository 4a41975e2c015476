// Scenarios 1 and 5 of issue 10: five hosts, each node on its own address (three binding a
// wildcard: two advertising their address, one saying nothing more), seeded in a ring across hosts. The full mesh
// forms, and the registry, groups, publish and multi_call work across hosts: every node ends up seeing the same names
// and members. The same cluster runs over IPv4 and over IPv6 (ULA addresses).
#include "net/net_checks.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using syn::Term;
using syn::test::eventually;
using namespace syn::test::net;

namespace {

const std::string kScope = "net";
constexpr int kHosts = 5;

/// What every node should look a name up to.
struct Expected {
  std::string pid;
  Term meta;
};

/// "h2 looks [own,h1] up to ... instead of ..." for every disagreement; "" when none.
std::string registry_mismatches(NetCluster& cluster, const std::map<Term, Expected>& expected) {
  std::string out;
  for (int h = 0; h < cluster.size(); ++h) {
    for (const auto& [name, want] : expected) {
      auto entry = cluster.node(h).ok("lookup", {{"scope", kScope}, {"name", name}})["entry"];
      Term wanted = {{"pid", want.pid}, {"meta", want.meta}};
      if (entry != wanted) out += "\n  " + cluster.name(h) + " looks " + name.dump() + " up to " + entry.dump();
    }
  }
  return out;
}

/// The same for the members of a group.
std::string member_mismatches(NetCluster& cluster, const Term& group, const std::map<std::string, Term>& expected) {
  std::string out;
  for (int h = 0; h < cluster.size(); ++h) {
    auto seen = members_of(cluster.node(h), kScope, group);
    if (seen != expected) out += "\n  " + cluster.name(h) + " sees " + std::to_string(seen.size()) + " members";
  }
  return out;
}

void check_registry(NetCluster& cluster) {
  std::map<Term, Expected> expected;
  for (int h = 0; h < kHosts; ++h) {
    // A process registering itself on its own node...
    Term own = {"own", cluster.name(h)};
    Term meta = {{"host", cluster.name(h)}, {"family", cluster.address(h)}};
    expected[own] = {register_new(cluster, h, kScope, own, meta), meta};
    // ...and one of the next host's node registered from this one: a call across hosts.
    int next = (h + 1) % kHosts;
    auto pid = cluster.node(next).spawn();
    Term remote = {"remote", cluster.name(h)};
    cluster.node(h).ok("register", {{"scope", kScope}, {"name", remote}, {"pid", pid}, {"meta", cluster.name(h)}});
    expected[remote] = {pid, cluster.name(h)};
  }
  std::string mismatches;
  bool same = eventually([&] { return (mismatches = registry_mismatches(cluster, expected)).empty(); }, 10s, 50ms);
  if (!same) FAIL_CHECK("nodes still disagree after 10 s:" << mismatches);
  for (int h = 0; h < kHosts; ++h) {
    CHECK(cluster.node(h).ok("count", {{"scope", kScope}})["count"] == expected.size());
  }
}

/// Joins one served process of every node to "lobby" (from another host's node) and returns
/// the members as pid -> (owner host, meta).
std::map<std::string, std::pair<int, Term>> check_groups(NetCluster& cluster) {
  std::map<std::string, std::pair<int, Term>> joined;
  std::map<std::string, Term> expected;
  for (int h = 0; h < kHosts; ++h) {
    auto pid = cluster.node(h).spawn();
    cluster.node(h).ok("serve", {{"pid", pid}});  // records messages and answers multi_calls
    Term meta = {{"host", cluster.name(h)}};
    int from = (h + 2) % kHosts;  // the join is carried out by the member's own node
    cluster.node(from).ok("join", {{"scope", kScope}, {"group", "lobby"}, {"pid", pid}, {"meta", meta}});
    joined[pid] = {h, meta};
    expected[pid] = meta;
  }
  std::string mismatches;
  bool same =
      eventually([&] { return (mismatches = member_mismatches(cluster, "lobby", expected)).empty(); }, 10s, 50ms);
  if (!same) FAIL_CHECK("nodes still disagree after 10 s:" << mismatches);
  return joined;
}

void check_publish(NetCluster& cluster, const std::map<std::string, std::pair<int, Term>>& members) {
  std::vector<Term> sent;
  for (int h = 0; h < kHosts; ++h) {
    Term message = {{"from", cluster.name(h)}, {"seq", h}};
    auto count = cluster.node(h).ok("publish", {{"scope", kScope}, {"group", "lobby"}, {"message", message}})["count"];
    CHECK(count == kHosts);
    sent.push_back(message);
  }
  // Every member, on every host, gets every message exactly once.
  for (const auto& [pid, member] : members) {
    auto& owner = cluster.node(member.first);
    Term got;
    bool all = eventually(
        [&] {
          got = owner.ok("served", {{"pid", pid}})["messages"];
          return got.size() >= sent.size();
        },
        10s, 50ms);
    INFO("member " << pid << " on " << cluster.name(member.first) << " got " << got.dump());
    CHECK(all);
    std::multiset<std::string> received, wanted;
    for (const auto& m : got) received.insert(m.dump());
    for (const auto& m : sent) wanted.insert(m.dump());
    CHECK(received == wanted);
  }
}

void check_multi_call(NetCluster& cluster, const std::map<std::string, std::pair<int, Term>>& members) {
  for (int h = 0; h < kHosts; ++h) {
    Term question = {{"asked_by", cluster.name(h)}};
    auto result = cluster.node(h).ok(
        "multi_call", {{"scope", kScope}, {"group", "lobby"}, {"message", question}, {"timeout_ms", 5000}}, 10s);
    INFO("multi_call from " << cluster.name(h) << ": " << result.dump());
    CHECK(result["bad_replies"].empty());
    std::set<std::string> answered;
    for (const auto& reply : result["replies"]) {
      auto pid = reply["pid"].get<std::string>();
      answered.insert(pid);
      // A served process answers {pid, meta, body}: its own pid and the question it got.
      CHECK(reply["reply"]["pid"] == pid);
      CHECK(reply["reply"]["body"] == question);
      REQUIRE(members.count(pid) == 1);
      CHECK(reply["meta"] == members.at(pid).second);
    }
    CHECK(answered.size() == members.size());
  }
}

void five_hosts(Family family) {
  NetCluster cluster(kHosts, family, {kScope});
  // h1 and h2 bind their own address, h3 to h5 a wildcard: h3 without `advertise` (it finds its
  // host's one address: the host's name would resolve to loopback, and every namespace shares
  // it), h4 and h5 advertising their address (h4 without a port, h5 with one). Each node is
  // seeded with the next host's (a ring), so every node dials across the bridge and no node is
  // the hub; nodes whose seed is not up yet keep dialling it. The mesh needs each node's
  // endpoint as its peers pass it on.
  const Bind binds[kHosts] = {Bind::own_address, Bind::own_address, Bind::wildcard_unadvertised, Bind::wildcard,
                              Bind::wildcard_with_port};
  for (int h = 0; h < kHosts; ++h) cluster.start(h, binds[h], {(h + 1) % kHosts});
  REQUIRE_NET_MESH(cluster);
  for (int h = 0; h < kHosts; ++h) {
    // What the node says it is reached at: for a wildcard, the advertised or found address.
    CHECK(cluster.node(h).endpoint() == cluster.endpoint(h));
  }
  check_registry(cluster);
  auto members = check_groups(cluster);
  check_publish(cluster, members);
  check_multi_call(cluster, members);
  // All of it went over the bridge, and nothing broke a link on the way.
  CHECK(cluster.full_mesh());
}

}  // namespace

TEST_CASE("net: five hosts over IPv4 form a mesh where registry, groups, publish and multi_call work across hosts",
          "[net][mesh][ipv4]") {
  SYN_NET_REQUIRE_LAB();
  five_hosts(Family::ipv4);
}

TEST_CASE("net: five hosts over IPv6 form a mesh where registry, groups, publish and multi_call work across hosts",
          "[net][mesh][ipv6]") {
  SYN_NET_REQUIRE_LAB();
  five_hosts(Family::ipv6);
}
