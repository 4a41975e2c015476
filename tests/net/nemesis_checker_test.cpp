// The nemesis checker judged on small made-up histories (no lab needed): a checker that finds
// nothing wrong with anything would make the nemesis run pass vacuously, so each property is
// shown to fail when it should, and the rule of "could have undone" to excuse exactly what it
// says.
#include "net/nemesis_checker.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using syn::Term;
using namespace syn::test::net;

namespace {

const std::string kP1 = "<h1.1.1>";
const std::string kP2 = "<h2.1.1>";

/// A completed operation (times in seconds).
Op make_op(std::size_t index, std::string kind, Term args, double invoked, double completed,
           Outcome outcome = Outcome::ok, std::string code = {}) {
  Op op;
  op.index = index;
  op.node = "h1";
  op.kind = std::move(kind);
  op.args = std::move(args);
  op.invoked = invoked;
  op.completed = completed;
  op.outcome = outcome;
  op.code = std::move(code);
  return op;
}

Term registered(const std::string& name, const std::string& pid, const Term& meta) {
  return {{"event", "registered"},         {"scope", "nemesis"}, {"name", name}, {"pid", pid}, {"meta", meta},
          {"reason", {{"kind", "normal"}}}};
}
Term joined(const std::string& group, const std::string& pid, const Term& meta) {
  return {{"event", "joined"}, {"scope", "nemesis"}, {"group", group},
          {"pid", pid},        {"meta", meta},       {"reason", {{"kind", "normal"}}}};
}

/// Two nodes that both hold n1 -> P1 "m1" and P1 in g1, with the callbacks for it; P1 alive.
Observation agreed() {
  Observation o;
  for (const char* name : {"h1", "h2"}) {
    NodeView v;
    v.node = name;
    v.registry[Term("n1")] = RegEntry{kP1, "m1"};
    v.count = 1;
    v.groups[Term("g1")][kP1] = "j1";
    v.events = {registered("n1", kP1, "m1"), joined("g1", kP1, "j1")};
    o.nodes.push_back(v);
  }
  o.processes[kP1] = true;
  o.processes[kP2] = true;
  return o;
}

std::vector<Op> register_n1() {
  return {make_op(0, "register", {{"name", "n1"}, {"pid", kP1}, {"meta", "m1"}}, 1.0, 1.1),
          make_op(1, "join", {{"group", "g1"}, {"pid", kP1}, {"meta", "j1"}}, 1.0, 1.1)};
}

bool violates(const std::vector<Violation>& found, const std::string& property) {
  for (const auto& v : found) {
    if (v.property.rfind(property, 0) == 0) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("net: nemesis checker: an agreed state that matches the history passes", "[net][nemesis][checker]") {
  AcknowledgedStats stats;
  auto found = check_all(register_n1(), agreed(), &stats);
  INFO(report(found, register_n1()));
  CHECK(found.empty());
  CHECK(stats.acknowledged == 2);
  CHECK(stats.checked == 2);
  CHECK(stats.meta_checked == 2);
}

TEST_CASE("net: nemesis checker: each property fails when it should", "[net][nemesis][checker]") {
  auto history = register_n1();
  SECTION("(a) a node that differs") {
    auto o = agreed();
    o.nodes[1].groups[Term("g1")][kP1] = "other";
    o.nodes[1].events.push_back({{"event", "group_updated"},
                                 {"scope", "nemesis"},
                                 {"group", "g1"},
                                 {"pid", kP1},
                                 {"meta", "other"},
                                 {"previous", "j1"},
                                 {"reason", {{"kind", "normal"}}}});
    auto found = check_all(history, o);
    CHECK(violates(found, "(a)"));
    CHECK(!violates(found, "(e)"));
  }
  SECTION("(b) a name on two pids, and an entry the lookups do not show") {
    auto o = agreed();
    o.nodes[1].registry[Term("n1")] = RegEntry{kP2, "m1"};
    o.nodes[1].events = {registered("n1", kP2, "m1"), joined("g1", kP1, "j1")};
    o.nodes[0].count = 2;
    auto found = check_unique_names(o);
    REQUIRE(found.size() == 2);
  }
  SECTION("(c) an entry of a dead process, a member no client spawned") {
    auto o = agreed();
    o.processes[kP1] = false;
    CHECK(check_no_dead_entries(history, o).size() == 4);  // n1 and g1 on two nodes
    o = agreed();
    for (auto& v : o.nodes) v.groups[Term("g2")]["<intruder.1.1>"] = nullptr;
    CHECK(check_no_dead_entries(history, o).size() == 2);
  }
  SECTION("(d) an acknowledged registration that is missing, or holds another meta") {
    auto o = agreed();
    for (auto& v : o.nodes) {
      v.registry.clear();
      v.count = 0;
      v.events.push_back({{"event", "unregistered"},
                          {"scope", "nemesis"},
                          {"name", "n1"},
                          {"pid", kP1},
                          {"meta", "m1"},
                          {"reason", {{"kind", "normal"}}}});
    }
    auto found = check_all(history, o);
    CHECK(violates(found, "(d)"));
    CHECK(found.size() == 2);  // one per node, nothing else
    o = agreed();
    for (auto& v : o.nodes) {
      v.groups[Term("g1")][kP1] = "j2";
      v.events.push_back({{"event", "group_updated"},
                          {"scope", "nemesis"},
                          {"group", "g1"},
                          {"pid", kP1},
                          {"meta", "j2"},
                          {"previous", "j1"},
                          {"reason", {{"kind", "normal"}}}});
    }
    found = check_all(history, o);
    CHECK(violates(found, "(d)"));
    CHECK(found.size() == 2);
  }
  SECTION("(e) callbacks that do not fit, or do not give the state") {
    auto o = agreed();
    o.nodes[0].events.push_back(registered("n1", kP2, "m9"));
    auto found = check_callback_replay(o);
    REQUIRE(found.size() == 2);  // a registration of a held name, and a replay that ends elsewhere
    o = agreed();
    o.nodes[1].events.pop_back();
    CHECK(check_callback_replay(o).size() == 1);
  }
}

TEST_CASE("net: nemesis checker: what could have undone an acknowledged registration excuses it, nothing else does",
          "[net][nemesis][checker]") {
  auto missing = agreed();
  for (auto& v : missing.nodes) {
    v.registry.clear();
    v.count = 0;
    v.events.push_back({{"event", "unregistered"},
                        {"scope", "nemesis"},
                        {"name", "n1"},
                        {"pid", kP1},
                        {"meta", "m1"},
                        {"reason", {{"kind", "normal"}}}});
  }
  const Term unregister_n1 = {{"name", "n1"}};
  // How many nodes are found lacking the registration #0 (the other operations, when
  // acknowledged, are judged too: only #0's verdict counts here).
  auto verdict = [&](std::vector<Op> history) {
    std::size_t about_first = 0;
    for (const auto& v : check_acknowledged_writes(history, missing)) about_first += v.ops.front() == 0 ? 1 : 0;
    return about_first;
  };
  auto with = [&](Op op) {
    auto h = register_n1();
    op.index = h.size();
    h.push_back(op);
    return h;
  };
  // Excused: a later or overlapping unregister, one without a verdict (even invoked before),
  // a register of the name by another pid, the process's death.
  CHECK(verdict(with(make_op(0, "unregister", unregister_n1, 2.0, 2.1))) == 0);
  CHECK(verdict(with(make_op(0, "unregister", unregister_n1, 0.5, 1.05))) == 0);
  CHECK(verdict(with(make_op(0, "unregister", unregister_n1, 0.1, 0.2, Outcome::indeterminate, "timeout"))) == 0);
  CHECK(verdict(with(make_op(0, "register", {{"name", "n1"}, {"pid", kP2}, {"meta", 1}}, 3.0, 3.1))) == 0);
  {
    auto dead = missing;
    dead.processes[kP1] = false;
    AcknowledgedStats stats;
    CHECK(check_acknowledged_writes(register_n1(), dead, &stats).empty());
    CHECK(stats.dead == 2);
  }
  // Not excused: an unregister that completed before the registration began, one that
  // failed, an update (it changes the meta only), a register by the same pid.
  CHECK(verdict(with(make_op(0, "unregister", unregister_n1, 0.1, 0.2))) == 2);
  CHECK(verdict(with(make_op(0, "unregister", unregister_n1, 2.0, 2.1, Outcome::failed, "undefined"))) == 2);
  CHECK(verdict(with(make_op(0, "update", {{"name", "n1"}, {"meta", 5}}, 2.0, 2.1))) == 2);
  CHECK(verdict(with(make_op(0, "register", {{"name", "n1"}, {"pid", kP1}, {"meta", 5}}, 2.0, 2.1))) == 2);
  // A later update excuses a different meta, not an absence.
  auto other_meta = agreed();
  for (auto& v : other_meta.nodes) v.registry[Term("n1")].meta = 5;
  CHECK(check_acknowledged_writes(with(make_op(0, "update", {{"name", "n1"}, {"meta", 5}}, 2.0, 2.1)), other_meta)
            .empty());
  CHECK(check_acknowledged_writes(register_n1(), other_meta).size() == 2);
}
