// Limits (SPEC 7): a term over max_term_bytes is refused by the call before anything changes
// or is sent, a peer's larger term is dropped and counted, a term just under the limit
// replicates whole, and nothing big makes a link flap: snapshots travel in chunks bounded by
// bytes, so a node joins a scope holding a gigabyte of metas.
#include "support/cluster.hpp"
#include "support/thrown.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;
using syn::test::test_options;
using syn::test::thrown_code;

namespace {

constexpr std::size_t kLimit = 1u << 20;  // the default max_term_bytes
// A string term's encoding is a 5-byte header (str32) and its bytes.
constexpr std::size_t kStr32Header = 5;

Term string_of_encoded_size(std::size_t encoded) { return Term(std::string(encoded - kStr32Header, 'm')); }

NodeOptions keyed(const std::string& name, const std::string& key, std::vector<std::string> seeds = {}) {
  auto o = test_options(name, {"s"});
  o.cluster_key = key;
  o.seeds = std::move(seeds);
  return o;
}

}  // namespace

TEST_CASE("limits: a term at the limit replicates whole, one byte more is refused before anything changes",
          "[cluster][limits]") {
  auto key = generate_cluster_key();
  Node a(keyed("lim-a", key));
  Node b(keyed("lim-b", key, {a.endpoint()}));
  REQUIRE(eventually([&] { return sees_exactly(a, {"lim-b"}) && sees_exactly(b, {"lim-a"}); }));
  auto p = a.spawn();
  auto at_limit = string_of_encoded_size(kLimit);
  auto over_limit = string_of_encoded_size(kLimit + 1);

  REQUIRE(a.registry("s").register_name("big", p, at_limit));
  REQUIRE(eventually([&] { return b.registry("s").lookup("big").has_value(); }));
  CHECK(b.registry("s").lookup("big")->meta == at_limit);

  auto refused = a.registry("s").register_name("bigger", p, over_limit);
  REQUIRE_FALSE(refused);
  CHECK(refused.error() == Errc::bad_argument);
  CHECK_FALSE(a.registry("s").lookup("bigger"));
  CHECK(a.registry("s").register_name_async("bigger", p.pid(), over_limit).get().error() == Errc::bad_argument);
  CHECK(a.registry("s").register_name(over_limit, p).error() == Errc::bad_argument);  // the name too
  // An update whose new meta is too big changes nothing.
  auto updated = a.registry("s").update("big", [&](const Pid&, const Term&) { return over_limit; });
  CHECK(updated.error() == Errc::bad_argument);
  CHECK(a.registry("s").lookup("big")->meta == at_limit);
  // From a node whose pid is elsewhere: refused before the call leaves.
  CHECK(b.registry("s").register_name("remote-bigger", p.pid(), over_limit).error() == Errc::bad_argument);

  CHECK(a.groups("s").join("g", p, over_limit).error() == Errc::bad_argument);
  CHECK(a.groups("s").join(over_limit, p).error() == Errc::bad_argument);
  REQUIRE(a.groups("s").join("g", p, at_limit));
  REQUIRE(eventually([&] { return b.groups("s").member("g", p.pid()).has_value(); }));
  CHECK(b.groups("s").member("g", p.pid())->meta == at_limit);
  CHECK(a.groups("s").update_member("g", p.pid(), [&](const Term&) { return over_limit; }).error() ==
        Errc::bad_argument);

  // Calls that return no Result throw, and send nothing.
  auto q = b.spawn();
  CHECK(thrown_code([&] { a.send(q.pid(), over_limit); }) == Errc::bad_argument);
  CHECK(thrown_code([&] { a.send(p.pid(), over_limit); }) == Errc::bad_argument);  // local too
  CHECK(thrown_code([&] { a.exit(q.pid(), over_limit); }) == Errc::bad_argument);
  // By name too, whether the name is registered or not, and for a name over the limit.
  CHECK(thrown_code([&] { a.registry("s").send("big", over_limit); }) == Errc::bad_argument);
  CHECK(thrown_code([&] { a.registry("s").send("nobody", over_limit); }) == Errc::bad_argument);
  CHECK(thrown_code([&] { a.registry("s").send(over_limit, "small"); }) == Errc::bad_argument);
  CHECK(thrown_code([&] { q.exit(over_limit); }) == Errc::bad_argument);  // the process's own exit
  CHECK(thrown_code([&] { a.groups("s").publish("g", over_limit); }) == Errc::bad_argument);
  CHECK(thrown_code([&] { (void)a.groups("s").multi_call("g", over_limit, 100ms); }) == Errc::bad_argument);
  CHECK(q.alive());
  CHECK_FALSE(q.receive(200ms));
  // The message at the limit goes through whole.
  a.send(q.pid(), at_limit);
  auto got = q.receive(10s);
  REQUIRE(got);
  CHECK(got->body == at_limit);
  CHECK(a.stats().link_resets == 0);
  CHECK(a.stats().connections_lost == 0);
}

TEST_CASE("limits: a peer's term over this node's limit is dropped and counted, and the link stays up",
          "[cluster][limits]") {
  auto key = generate_cluster_key();
  auto loose = keyed("lim-loose", key);
  loose.max_term_bytes = 4 * kLimit;
  Node a(loose);
  Node b(keyed("lim-strict", key, {a.endpoint()}));
  REQUIRE(eventually([&] { return sees_exactly(b, {"lim-loose"}); }));
  auto p = a.spawn();
  auto between = string_of_encoded_size(2 * kLimit);  // fine for a, too big for b
  REQUIRE(a.registry("s").register_name("between", p, between));
  REQUIRE(a.registry("s").register_name("small", p, "ok"));
  REQUIRE(eventually([&] { return b.registry("s").lookup("small").has_value(); }));
  REQUIRE(eventually([&] { return b.stats().oversized_terms >= 1; }));
  CHECK(b.stats().malformed_frames == b.stats().oversized_terms);  // API.md's counter of drops too
  CHECK_FALSE(b.registry("s").lookup("between"));
  auto q = b.spawn();
  a.send(q.pid(), between);
  a.send(q.pid(), "after");
  auto got = q.receive(10s);
  REQUIRE(got);
  CHECK(got->body == "after");  // the big one was dropped, the next one came
  CHECK(b.stats().oversized_terms >= 2);
  CHECK(b.stats().malformed_frames == b.stats().oversized_terms);
  CHECK(stays([&] { return sees_exactly(a, {"lim-strict"}) && sees_exactly(b, {"lim-loose"}); }, 500ms));
  CHECK(a.stats().connections_lost == 0);
  CHECK(b.stats().connections_lost == 0);
  CHECK(a.stats().link_resets == 0);
}

TEST_CASE("limits: a node joins a scope holding a gigabyte of metas, in chunks, without a flap",
          "[cluster][limits][big]") {
  auto key = generate_cluster_key();
  Node a(keyed("giga-a", key));
  auto p = a.spawn();
  const std::size_t names = 1024;
  auto meta = string_of_encoded_size(kLimit - 64);  // ~1 MiB each: ~1 GiB in all
  for (std::size_t i = 0; i < names; ++i) REQUIRE(a.registry("s").register_name("n" + std::to_string(i), p, meta));
  REQUIRE(a.registry("s").count() == names);

  Node b(keyed("giga-b", key, {a.endpoint()}));
  REQUIRE(eventually([&] { return b.registry("s").count() == names; }, 120s, 50ms));
  CHECK(b.registry("s").lookup("n0")->meta == meta);
  CHECK(b.registry("s").lookup("n" + std::to_string(names - 1))->meta == meta);
  // The link never dropped: no timeout, no overflow, no lost connection on either side.
  CHECK(sees_exactly(a, {"giga-b"}));
  CHECK(a.stats().link_resets == 0);
  CHECK(b.stats().link_resets == 0);
  CHECK(a.stats().connections_lost == 0);
  CHECK(b.stats().connections_lost == 0);
}
