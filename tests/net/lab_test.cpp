// The network lab itself: hosts get their addresses and nothing else (no route out), cuts are
// the drop rules they should be and heals remove them, the root namespace is left as it was,
// and every namespace is gone once the lab is.
#include "net/command.hpp"
#include "net/net_checks.hpp"
#include "net/net_lab.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace syn::test::net;

namespace {

std::string ip() { return *find_program("ip"); }
std::string nft() { return *find_program("nft"); }

/// Our namespaces (the lab's prefix) that exist now.
int namespaces_with_prefix(const std::string& prefix) {
  int count = 0;
  std::string listing = run_checked({ip(), "netns", "list"});
  for (std::size_t at = listing.find(prefix); at != std::string::npos; at = listing.find(prefix, at + 1)) ++count;
  return count;
}

bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("net lab: hosts on a bridge with their own addresses and no route out, all gone with the lab", "[net][lab]") {
  SYN_NET_REQUIRE_LAB();
  // The root namespace's interfaces and firewall, to compare afterwards: the lab must never
  // touch them.
  std::string root_links = run_checked({ip(), "-o", "link", "show"});
  std::string root_rules = run_checked({nft(), "list", "ruleset"});
  std::string prefix;
  {
    NetLab lab(3);
    prefix = lab.prefix();
    CHECK(namespaces_with_prefix(prefix + "-") == 4);  // three hosts and the bridge
    for (const auto& host : lab.hosts()) {
      INFO(host.name << " in " << host.netns);
      auto addresses = lab.run_in(host.index, {ip(), "-o", "addr", "show"});
      CHECK(contains(addresses, "inet " + host.ipv4 + "/24"));
      CHECK(contains(addresses, "inet6 " + host.ipv6 + "/64"));
      CHECK(contains(host.ipv4, "198.18."));
      CHECK(host.ipv6.rfind("fd", 0) == 0);
      CHECK(contains(lab.run_in(host.index, {ip(), "link", "show", "lo"}), "UP"));
      // No default route in either family: nothing can leave the lab. A route lookup sends no
      // packet; the documentation addresses (RFC 5737, RFC 3849) stand for anywhere outside.
      CHECK(lab.run_in(host.index, {ip(), "-4", "route", "show", "default"}).empty());
      CHECK(lab.run_in(host.index, {ip(), "-6", "route", "show", "default"}).empty());
      auto route_out = [&](const std::string& address) {
        auto words = lab.exec_prefix(host.index);
        words.insert(words.end(), {ip(), "route", "get", address});
        return run_command(words);
      };
      CHECK(route_out("192.0.2.1").status != 0);
      CHECK(route_out("2001:db8::1").status != 0);
      // The other hosts are on the link.
      CHECK(route_out(lab.host((host.index + 1) % lab.size()).ipv4).status == 0);
    }
    CHECK(run_checked({ip(), "-o", "link", "show"}) == root_links);
    CHECK(run_checked({nft(), "list", "ruleset"}) == root_rules);
  }
  CHECK(namespaces_with_prefix(prefix + "-") == 0);
}

TEST_CASE("net lab: cuts are drop rules in the receiving host, and heals remove them", "[net][lab]") {
  SYN_NET_REQUIRE_LAB();
  NetLab lab(3);
  const auto& h1 = lab.host(0);
  const auto& h2 = lab.host(1);
  auto drops_from = [&](int at, const Host& from) {
    auto rules = lab.rules(at);
    return contains(rules, "ip saddr " + from.ipv4 + " drop") && contains(rules, "ip6 saddr " + from.ipv6 + " drop");
  };
  auto drops_anything = [&](int at) { return contains(lab.rules(at), "drop"); };

  // One-way: h2 stops hearing h1, h1 still hears h2, h3 hears both.
  lab.cut_one_way(0, 1);
  CHECK(drops_from(1, h1));
  CHECK_FALSE(drops_anything(0));
  CHECK_FALSE(drops_anything(2));

  // The other direction as well: a symmetric cut, still nothing for h3 (a partial cut).
  lab.cut(0, 1);
  CHECK(drops_from(1, h1));
  CHECK(drops_from(0, h2));
  CHECK_FALSE(drops_anything(2));
  CHECK(lab.cuts().size() == 2);

  lab.heal(1, 0);
  for (int h = 0; h < 3; ++h) CHECK_FALSE(drops_anything(h));
  CHECK(lab.cuts().empty());

  lab.cut(0, 2);
  lab.cut_one_way(1, 2);
  lab.heal_all();
  for (int h = 0; h < 3; ++h) CHECK_FALSE(drops_anything(h));
  CHECK_THROWS(lab.cut(0, 3));  // no such host
}
