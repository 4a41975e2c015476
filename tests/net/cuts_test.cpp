// Network cuts made with nftables drop rules between hosts, silent like a pulled cable:
// - one-way (scenario 3 of issue 10): A hears B but B does not hear A. Both sides must see the
//   other down (a node that only stops hearing has to notice as well as the one that is not
//   heard), the link must not flap while the cut lasts, and after the heal the two re-form the
//   link and resync what each registered meanwhile. Over IPv4 and IPv6 (whose neighbour
//   discovery the cut lets through, as ARP is);
// - partial: A and B cannot reach each other while C sees both. A and B drop each other, C
//   keeps both, nothing leaks from A to B through C, and after the heal every node holds the
//   same names.
#include "net/net_checks.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

using namespace std::chrono_literals;
using syn::Term;
using syn::test::eventually;
using syn::test::stays;
using namespace syn::test::net;

namespace {

const std::string kScope = "net";
/// How long a side may take to see a cut: the bar is 2 x peer_timeout; twice that
/// again keeps a loaded 2-core machine from failing it, and the times seen are printed.
constexpr auto kDownDeadline = 4 * kPeerTimeout;
/// How long a cut view must then hold: a link that flaps would show within it.
constexpr auto kHoldPeriod = 2 * kPeerTimeout;

using Clock = std::chrono::steady_clock;

/// A node and the nodes it should see.
struct View {
  int host;
  std::vector<int> others;
};

/// Polls every view until all have held at least once, or `deadline` passes. Prints when each
/// first held (ms after the call) and returns whether all did.
bool wait_views(NetCluster& cluster, const std::vector<View>& views, std::chrono::milliseconds deadline,
                const char* what) {
  auto start = Clock::now();
  std::vector<long long> held(views.size(), -1);
  bool all = eventually(
      [&] {
        bool done = true;
        for (std::size_t i = 0; i < views.size(); ++i) {
          if (held[i] < 0 && cluster.sees_exactly(views[i].host, views[i].others)) {
            held[i] = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
          }
          done = done && held[i] >= 0;
        }
        return done;
      },
      deadline, 20ms);
  for (std::size_t i = 0; i < views.size(); ++i) {
    std::printf("%s: %s %s after %lld ms (peer_timeout %lld ms)\n", what, cluster.name(views[i].host).c_str(),
                held[i] >= 0 ? "saw it" : "did not see it", held[i] >= 0 ? held[i] : (long long)deadline.count(),
                (long long)kPeerTimeout.count());
  }
  return all;
}

/// Every view holds now.
bool views_hold(NetCluster& cluster, const std::vector<View>& views) {
  for (const auto& v : views) {
    if (!cluster.sees_exactly(v.host, v.others)) return false;
  }
  return true;
}

/// A registered name and its pid.
struct Named {
  Term name;
  std::string pid;
};

/// True when `host` looks every one of `names` up to its pid.
bool sees_names(NetCluster& cluster, int host, const std::vector<Named>& names) {
  for (const auto& n : names) {
    if (lookup_pid(cluster.node(host), kScope, n.name) != n.pid) return false;
  }
  return true;
}

/// What `host` looks each of `names` up to, for messages.
std::string lookups(NetCluster& cluster, int host, const std::vector<Named>& names) {
  std::string out = cluster.name(host) + ":";
  for (const auto& n : names) out += " " + n.name.dump() + "->" + lookup_pid(cluster.node(host), kScope, n.name);
  return out;
}

Named register_named(NetCluster& cluster, int host, const std::string& name) {
  return {name, register_new(cluster, host, kScope, name)};
}

/// Scenario 3: b stops hearing a, a still hears b; both must see the other down, stay apart
/// while the cut lasts, and resync what each registered meanwhile once it heals.
void one_way_cut(Family family) {
  NetCluster cluster(2, family, {kScope});
  const int a = 0, b = 1;
  cluster.start(a, Bind::own_address, {});
  cluster.start(b, Bind::own_address, {a});
  REQUIRE_NET_MESH(cluster);
  auto before_a = register_named(cluster, a, "before-a");
  auto before_b = register_named(cluster, b, "before-b");
  REQUIRE(eventually(
      [&] {
        return sees_names(cluster, a, {before_a, before_b}) && sees_names(cluster, b, {before_a, before_b});
      },
      10s));

  // b stops hearing a; a still hears b (until the TCP streams from b stall for want of acks).
  cluster.lab().cut_one_way(a, b);
  std::vector<View> apart = {{a, {}}, {b, {}}};
  const char* what = family == Family::ipv4 ? "one-way cut h1->h2 over IPv4" : "one-way cut h1->h2 over IPv6";
  if (!wait_views(cluster, apart, kDownDeadline, what)) {
    FAIL("the cut is not seen from both sides in " << kDownDeadline.count() << " ms: " << cluster.views());
  }
  // Neither redials its way back through the half that works.
  CHECK(stays([&] { return views_hold(cluster, apart); }, kHoldPeriod, 50ms));
  // A node that is down takes its names with it, on each side.
  CHECK(eventually([&] { return lookup_pid(cluster.node(a), kScope, "before-b").empty(); }, 5s));
  CHECK(eventually([&] { return lookup_pid(cluster.node(b), kScope, "before-a").empty(); }, 5s));
  // Both sides keep taking writes.
  auto during_a = register_named(cluster, a, "during-a");
  auto during_b = register_named(cluster, b, "during-b");

  cluster.lab().heal(a, b);
  REQUIRE_NET_MESH(cluster);
  std::vector<Named> all = {before_a, before_b, during_a, during_b};
  bool synced = eventually([&] { return sees_names(cluster, a, all) && sees_names(cluster, b, all); }, 10s, 50ms);
  if (!synced) FAIL_CHECK("not resynced in 10 s: " << lookups(cluster, a, all) << "; " << lookups(cluster, b, all));
}

}  // namespace

TEST_CASE("net: a one-way cut over IPv4 is seen from both sides, and the two resync after the heal",
          "[net][cut][one-way][ipv4]") {
  SYN_NET_REQUIRE_LAB();
  one_way_cut(Family::ipv4);
}

TEST_CASE("net: a one-way cut over IPv6 is seen from both sides, and the two resync after the heal",
          "[net][cut][one-way][ipv6]") {
  SYN_NET_REQUIRE_LAB();
  one_way_cut(Family::ipv6);
}

TEST_CASE(
    "net: a partial cut (A-B cut, C sees both): A and B drop each other, C keeps both, and the heal "
    "brings back the same names everywhere",
    "[net][cut][partial]") {
  SYN_NET_REQUIRE_LAB();
  NetCluster cluster(3, Family::ipv4, {kScope});
  const int a = 0, b = 1, c = 2;
  cluster.start(a, Bind::own_address, {});
  cluster.start(b, Bind::own_address, {a});
  cluster.start(c, Bind::own_address, {b});
  REQUIRE_NET_MESH(cluster);
  std::vector<Named> before = {register_named(cluster, a, "before-a"), register_named(cluster, b, "before-b"),
                               register_named(cluster, c, "before-c")};
  REQUIRE(eventually(
      [&] {
        return sees_names(cluster, a, before) && sees_names(cluster, b, before) && sees_names(cluster, c, before);
      },
      10s));

  cluster.lab().cut(a, b);
  std::vector<View> partial = {{a, {c}}, {b, {c}}, {c, {a, b}}};
  if (!wait_views(cluster, partial, kDownDeadline, "partial cut h1<->h2")) {
    FAIL("the cut is not seen as it is in " << kDownDeadline.count() << " ms: " << cluster.views());
  }
  // C's links are untouched by the cut beside it, and A and B stay apart even though each
  // hears of the other from C.
  CHECK(stays([&] { return views_hold(cluster, partial); }, kHoldPeriod, 50ms));
  CHECK(eventually([&] { return lookup_pid(cluster.node(a), kScope, "before-b").empty(); }, 5s));
  CHECK(eventually([&] { return lookup_pid(cluster.node(b), kScope, "before-a").empty(); }, 5s));
  CHECK(sees_names(cluster, c, before));

  // A name registered on A reaches C but not B: each node replicates only its own processes,
  // and C does not relay them.
  auto during_a = register_named(cluster, a, "during-a");
  auto during_b = register_named(cluster, b, "during-b");
  REQUIRE(eventually([&] { return sees_names(cluster, c, {during_a, during_b}); }, 10s));
  CHECK(lookup_pid(cluster.node(b), kScope, "during-a").empty());
  CHECK(lookup_pid(cluster.node(a), kScope, "during-b").empty());

  cluster.lab().heal(a, b);
  REQUIRE_NET_MESH(cluster);
  std::vector<Named> all = before;
  all.push_back(during_a);
  all.push_back(during_b);
  bool synced = eventually(
      [&] { return sees_names(cluster, a, all) && sees_names(cluster, b, all) && sees_names(cluster, c, all); }, 10s,
      50ms);
  if (!synced) {
    FAIL_CHECK("not resynced in 10 s: " << lookups(cluster, a, all) << "; " << lookups(cluster, b, all) << "; "
                                        << lookups(cluster, c, all));
  }
  for (int h : {a, b, c}) CHECK(cluster.node(h).ok("count", {{"scope", kScope}})["count"] == all.size());
}
