#include "support/cluster.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using syn::test::eventually;

TEST_CASE("a 3-node mesh forms from one seed", "[cluster][mesh]") {
  syn::test::Cluster cluster(3);
  REQUIRE(cluster.wait_full_mesh());
}

TEST_CASE("messages cross between processes on different nodes", "[cluster][messages]") {
  syn::test::Cluster cluster(2);
  REQUIRE(cluster.wait_full_mesh());
  auto a = cluster[0].spawn();
  auto b = cluster[1].spawn();
  cluster[0].send(b.pid(), Term{{"hello", 1}});
  auto m = b.receive(std::chrono::seconds(5));
  REQUIRE(m);
  CHECK(m->body == Term{{"hello", 1}});
}
