// Peers lost together are purged together (issue 14): the transport tells a node of every
// link it found down in one pass in one call, and each scope scans its table once for all of
// them. Here two simulated peers go down in the same pass of a third node: their names and
// members go, each change with its own node as the reason, a registration hidden behind
// another of the two never shows on the way out, and what the other nodes hold stays.
#include "groups/groups_scope.hpp"
#include "registry/registry_scope.hpp"
#include "sim/sim_cluster.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

using namespace syn;
using namespace syn::sim;

namespace {

constexpr Micros kSettle = 10'000'000;

/// A registry or groups change as the callbacks saw it: "unregistered x by b", say.
class Changes final : public EventHandler {
 public:
  void on_process_registered(std::string_view, const Term& name, const Pid&, const Term&,
                             const Reason& reason) override {
    seen.push_back("registered " + name.get<std::string>() + " by " + reason.node);
  }
  void on_process_unregistered(std::string_view, const Term& name, const Pid&, const Term&,
                               const Reason& reason) override {
    seen.push_back("unregistered " + name.get<std::string>() + " by " + reason.node);
  }
  void on_process_left(std::string_view, const Term& group, const Pid& pid, const Term&,
                       const Reason& reason) override {
    seen.push_back("left " + group.get<std::string>() + " " + pid.node() + " by " + reason.node);
  }
  std::size_t count(const std::string& line) const { return std::count(seen.begin(), seen.end(), line); }
  std::vector<std::string> seen;
};

}  // namespace

TEST_CASE("purge: peers down in the same pass go in one call, each change with its own node as the reason",
          "[sim][purge]") {
  World world(4242);
  world.set_tracing(true);
  auto changes = std::make_shared<Changes>();
  NodeOptions a_options;
  a_options.event_handler = changes;
  SimNode& a = world.add_node("a", a_options, {"s"});
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"});
  SimNode& c = world.add_node("c", NodeOptions{}, {"s"});
  SimNode& d = world.add_node("d", NodeOptions{}, {"s"});
  world.settle(kSettle);
  auto registry = [](SimNode& n) { return n.scopes().get<detail::RegistryScope>(Kind::registry, "s"); };
  auto groups = [](SimNode& n) { return n.scopes().get<detail::GroupsScope>(Kind::groups, "s"); };

  for (SimNode* n : {&b, &c, &d}) {
    Pid p = n->spawn();
    for (int i = 0; i < 20; ++i)
      REQUIRE(registry(*n)->register_name(n->name() + ":" + std::to_string(i), p, {}, false));
    REQUIRE(groups(*n)->join(Term("g"), p, {}, false));
  }
  // b and c cannot reach each other; a reaches both: c registers "x", then b does, later. a
  // shows b's and keeps c's hidden behind it (SPEC 6: a node that sees both sides).
  world.cut("b", "c");
  world.settle(kSettle);
  REQUIRE(registry(c)->register_name("x", c.spawn(), {}, false));
  world.settle(kSettle);
  REQUIRE(registry(b)->register_name("x", b.spawn(), {}, false));
  world.settle(kSettle);
  auto x = registry(a)->lookup("x");
  REQUIRE(x);
  REQUIRE(x->pid.node() == "b");
  REQUIRE(registry(a)->count() == 61);
  REQUIRE(groups(a)->members(Term("g")).size() == 3);
  changes->seen.clear();

  // b and c crash, and a finds both links down in one pass.
  const auto b_atom = b.atom(), c_atom = c.atom();
  world.crash("b");
  world.crash("c");
  a.peer_down(b_atom);
  a.peer_down(c_atom);
  world.settle(kSettle);

  const auto& trace = world.trace_lines();
  CHECK(std::any_of(trace.begin(), trace.end(), [](const std::string& line) {
    return line.find("a is told of 2 downs at once") != std::string::npos;
  }));
  CHECK(registry(a)->count() == 20);
  CHECK_FALSE(registry(a)->lookup("x"));
  auto members = groups(a)->members(Term("g"));
  REQUIRE(members.size() == 1);
  CHECK(members[0].pid.node() == "d");
  for (const char* node : {"b", "c"}) {
    const std::string name(node);
    for (int i = 0; i < 20; ++i)
      CHECK(changes->count("unregistered " + name + ":" + std::to_string(i) + " by " + name) == 1);
    CHECK(changes->count("left g " + name + " by " + name) == 1);
  }
  // "x" goes once, with b: c's hidden registration went with c and never showed (purged one
  // node after the other, it showed again with reason conflict_resolution, then went).
  CHECK(changes->count("unregistered x by b") == 1);
  CHECK(std::none_of(changes->seen.begin(), changes->seen.end(),
                     [](const std::string& line) { return line.rfind("registered x ", 0) == 0; }));
  CHECK(changes->count("unregistered x by c") == 0);
  CHECK(changes->seen.size() == 20 * 2 + 2 + 1);
  for (const auto& broken : a.scopes().check_invariants()) FAIL(broken);
}
