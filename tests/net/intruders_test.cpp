// Intruders on the network (part of scenario 4 of issue 10): a host whose node holds another
// cluster key, and a host whose node has none (plaintext, allow_insecure), both dialling every
// node of a keyed cluster. They are refused: nobody sees them in nodes(), they learn no name,
// their names reach nobody, every node counts the refusals, and their redials do not flood
// the log.
#include "net/net_checks.hpp"

#include <syn/security.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>
#include <string>

using namespace std::chrono_literals;
using syn::Term;
using syn::test::eventually;
using syn::test::stays;
using namespace syn::test::net;

namespace {

const std::string kScope = "net";

/// Lines of `text` that contain `needle`.
std::size_t lines_with(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

}  // namespace

TEST_CASE("net: intruders with another key or none dial every node and are refused", "[net][security]") {
  SYN_NET_REQUIRE_LAB();
  if (net_security() != NetSecurity::cluster_key) {
    SYN_NET_SKIP("the cluster runs without a key (SYN_NET_SECURITY=insecure): nothing to refuse");
    return;
  }
  NetCluster cluster(5, Family::ipv4, {kScope});
  const int a = 0, b = 1, c = 2, other_key = 3, no_key = 4;
  cluster.start(a, Bind::own_address, {});
  cluster.start(b, Bind::own_address, {a});
  cluster.start(c, Bind::own_address, {a});
  REQUIRE(eventually(
      [&] {
        return cluster.sees_exactly(a, {b, c}) && cluster.sees_exactly(b, {a, c}) && cluster.sees_exactly(c, {a, b});
      },
      15s));
  auto member = register_new(cluster, a, kScope, "member");

  // The intruders are seeded with every node of the cluster, so each node is dialled by both.
  KeyFile wrong_key(syn::generate_cluster_key());
  Term with_other_key = {{"cluster_key_file", wrong_key.path()}};
  Term without_key = {{"allow_insecure", true}};
  cluster.start(other_key, Bind::own_address, {a, b, c}, with_other_key);
  cluster.start(no_key, Bind::own_address, {a, b, c}, without_key);
  auto intruding = register_new(cluster, other_key, kScope, "intruder");
  register_new(cluster, no_key, kScope, "intruder");

  // Every node refuses both, and goes on refusing them while they redial.
  bool refused = eventually(
      [&] {
        for (int h : {a, b, c}) {
          if (cluster.node(h).ok("stats")["refused_peers"].get<long long>() < 2) return false;
        }
        return true;
      },
      10s, 50ms);
  if (!refused) FAIL("not every node counts the intruders' refusals: " << cluster.views());
  auto unchanged = [&] {
    return cluster.sees_exactly(a, {b, c}) && cluster.sees_exactly(b, {a, c}) && cluster.sees_exactly(c, {a, b}) &&
           cluster.sees_exactly(other_key, {}) && cluster.sees_exactly(no_key, {});
  };
  bool held = stays(unchanged, 3s, 100ms);
  if (!held) FAIL("an intruder got in: " << cluster.views());

  for (int h : {a, b, c}) {
    INFO("on " << cluster.name(h));
    CHECK(lookup_pid(cluster.node(h), kScope, "member") == member);
    CHECK(lookup_pid(cluster.node(h), kScope, "intruder").empty());
    CHECK(cluster.node(h).ok("count", {{"scope", kScope}})["count"] == 1);
  }
  for (int h : {other_key, no_key}) {
    INFO("on intruder " << cluster.name(h));
    CHECK(lookup_pid(cluster.node(h), kScope, "member").empty());
  }
  CHECK(lookup_pid(cluster.node(other_key), kScope, "intruder") == intruding);

  // A few lines per node at most (one per listening endpoint, kind of refusal and intruder),
  // however many times they redialled.
  for (int h : {a, b, c}) {
    auto log = cluster.node(h).stderr_text();
    auto refusals = cluster.node(h).ok("stats")["refused_peers"].get<long long>();
    auto lines = lines_with(log, "cluster key");
    std::printf("intruders: %s refused %lld times and logged %zu lines about it\n", cluster.name(h).c_str(), refusals,
                lines);
    INFO(cluster.name(h) << "'s log:\n" << log);
    CHECK(lines >= 1);
    CHECK(lines <= 4);
  }
}
