// Faults of node processes on separate hosts: a node frozen with SIGSTOP (a hung host) is seen
// down by the others and comes back with its names after SIGCONT; a node killed with SIGKILL
// (a crashed host) is seen down and its names are purged everywhere for good.
#include "net/net_checks.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::stays;
using namespace syn::test::net;

namespace {

const std::string kScope = "net";
/// As in cuts_test.cpp: twice the bar of 2 x peer_timeout.
constexpr auto kDownDeadline = 4 * kPeerTimeout;

}  // namespace

TEST_CASE("net: a frozen node is seen down and comes back after SIGCONT, a killed node's names are purged",
          "[net][faults]") {
  SYN_NET_REQUIRE_LAB();
  NetCluster cluster(3, Family::ipv4, {kScope});
  const int a = 0, b = 1, c = 2;
  cluster.start(a, Bind::own_address, {c});
  cluster.start(b, Bind::wildcard, {a});
  cluster.start(c, Bind::own_address, {b});
  REQUIRE_NET_MESH(cluster);
  auto on_b = register_new(cluster, b, kScope, "on-b");
  auto on_c = register_new(cluster, c, kScope, "on-c");
  REQUIRE(eventually(
      [&] {
        return lookup_pid(cluster.node(a), kScope, "on-b") == on_b &&
               lookup_pid(cluster.node(a), kScope, "on-c") == on_c;
      },
      10s));

  // SIGSTOP: c's process freezes with its sockets open; only silence tells the others.
  cluster.freeze(c);
  bool c_down =
      eventually([&] { return cluster.sees_exactly(a, {b}) && cluster.sees_exactly(b, {a}); }, kDownDeadline, 20ms);
  if (!c_down) FAIL("the frozen node is not seen down: " << cluster.views());
  CHECK(eventually([&] { return lookup_pid(cluster.node(a), kScope, "on-c").empty(); }, 5s));

  // SIGCONT: it finds out it was dropped, the links re-form and its name is back everywhere.
  cluster.thaw(c);
  REQUIRE_NET_MESH(cluster);
  CHECK(eventually(
      [&] {
        return lookup_pid(cluster.node(a), kScope, "on-c") == on_c &&
               lookup_pid(cluster.node(b), kScope, "on-c") == on_c;
      },
      10s));

  // SIGKILL: b is gone for good, and so are its names.
  cluster.crash(b);
  bool b_down =
      eventually([&] { return cluster.sees_exactly(a, {c}) && cluster.sees_exactly(c, {a}); }, kDownDeadline, 20ms);
  if (!b_down) FAIL("the killed node is not seen down: " << cluster.views());
  CHECK(eventually(
      [&] {
        return lookup_pid(cluster.node(a), kScope, "on-b").empty() &&
               lookup_pid(cluster.node(c), kScope, "on-b").empty();
      },
      5s));
  CHECK(stays([&] { return lookup_pid(cluster.node(a), kScope, "on-b").empty(); }, 500ms, 50ms));
}
