#include "support/cluster.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using syn::test::eventually;

TEST_CASE("registry: register locally, look up everywhere", "[registry][smoke]") {
  syn::test::Cluster cluster(3, {"users"});
  REQUIRE(cluster.wait_full_mesh());
  REQUIRE(eventually([&] { return cluster[0].subcluster_nodes(Kind::registry, "users").size() == 2; }));
  auto p = cluster[0].spawn();
  auto reg = cluster[0].registry("users");
  REQUIRE(reg.register_name("alice", p.pid(), Term{{"role", "admin"}}));
  CHECK(reg.lookup("alice")->pid == p.pid());
  for (std::size_t i = 1; i < 3; ++i) {
    auto r = cluster[i].registry("users");
    REQUIRE(eventually([&] { return r.whereis("alice") == p.pid(); }));
    CHECK(r.lookup("alice")->meta == Term{{"role", "admin"}});
  }
  // remote caller registers a pid of node 0
  auto q = cluster[0].spawn();
  auto reg2 = cluster[2].registry("users");
  REQUIRE(reg2.register_name("bob", q.pid()));
  CHECK(reg2.whereis("bob") == q.pid());
  CHECK(reg2.register_name("bob", p.pid()).error() == Errc::taken);
  REQUIRE(eventually([&] { return reg.whereis("bob") == q.pid(); }));
  // unregister from a remote caller
  REQUIRE(cluster[1].registry("users").unregister_name("alice"));
  CHECK_FALSE(cluster[1].registry("users").lookup("alice"));
  REQUIRE(eventually([&] { return !reg.lookup("alice") && !reg2.lookup("alice"); }));
  // process death removes names everywhere
  q.exit("bye");
  CHECK_FALSE(reg.lookup("bob"));
  REQUIRE(eventually([&] { return !reg2.lookup("bob") && reg2.count() == 0; }));
}
