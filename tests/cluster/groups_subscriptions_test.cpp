// Subscriptions (SPEC 4, from OTP pg): monitor and monitor_scope fill `current` atomically,
// then report every join, leave and meta update of this node's view in the order applied,
// whatever the cause (API call, process death, node down, snapshot after a heal). Nothing is
// lost between the snapshot and the first event, and nothing is delivered once the
// Subscription is destroyed (also from its own callback, and when moved).
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;
using syn::test::stays;

namespace {

/// Replays `current` + `events` of one group: every join must add a pid not present, every
/// leave remove one present, every update concern one present. Returns the final members,
/// or a description of the first inconsistency.
struct Replay {
  std::map<Pid, Term> members;
  std::string error;
};
Replay replay(const std::vector<Member>& current, const std::vector<GroupEvent>& events, const Term& group) {
  Replay r;
  for (const auto& m : current) r.members[m.pid] = m.meta;
  for (const auto& e : events) {
    if (e.group != group) continue;
    for (const auto& m : e.members) {
      bool present = r.members.count(m.pid) != 0;
      if (e.type == GroupEvent::Type::join) {
        if (present && r.error.empty()) r.error = "join of a present member " + m.pid.to_string();
        r.members[m.pid] = m.meta;
      } else if (e.type == GroupEvent::Type::leave) {
        if (!present && r.error.empty()) r.error = "leave of an absent member " + m.pid.to_string();
        r.members.erase(m.pid);
      } else {
        if (!present && r.error.empty()) r.error = "update of an absent member " + m.pid.to_string();
        r.members[m.pid] = m.meta;
      }
    }
  }
  return r;
}

std::map<Pid, Term> as_map(const std::vector<Member>& members) {
  std::map<Pid, Term> out;
  for (const auto& m : members) out[m.pid] = m.meta;
  return out;
}

}  // namespace

TEST_CASE("groups: monitor reports current members, then every change in order, whatever the cause",
          "[groups][subscriptions]") {
  Nodes nodes;
  Node& a = nodes.add("gsub1", {"s"}, false);
  Node& b = nodes.add("gsub2", {"s"}, false);
  Node& c = nodes.add("gsub3", {"s"}, false);
  REQUIRE(wait_scope_mesh({&a, &b, &c}, "s"));
  auto ga = a.groups("s"), gb = b.groups("s"), gc = c.groups("s");
  auto pa1 = a.spawn(), pa2 = a.spawn();
  auto pb = b.spawn();
  Pid pb_pid = pb.pid();
  auto pother = b.spawn();
  REQUIRE(ga.join("g", pa1.pid(), "x"));
  REQUIRE(gb.join("other", pother.pid(), "o"));  // another group: not reported by monitor("g")
  REQUIRE(eventually([&] { return gc.member_count("g") == 1 && gc.member_count("other") == 1; }));

  auto log_a = std::make_shared<SubLog>(), log_c = std::make_shared<SubLog>(), log_scope = std::make_shared<SubLog>();
  std::vector<Member> current_a, current_c;
  std::map<Term, std::vector<Member>> current_scope;
  auto sub_a = ga.monitor("g", log_a->callback(), &current_a);
  auto sub_c = gc.monitor("g", log_c->callback(), &current_c);
  auto sub_scope = gc.monitor_scope(log_scope->callback(), &current_scope);
  CHECK(sub_a.active());
  CHECK(current_a == std::vector<Member>{{pa1.pid(), "x"}});
  CHECK(current_c == std::vector<Member>{{pa1.pid(), "x"}});
  CHECK(current_scope ==
        std::map<Term, std::vector<Member>>{{"g", {{pa1.pid(), "x"}}}, {"other", {{pother.pid(), "o"}}}});

  std::vector<std::string> want_c;
  // Each step waits until a and c applied it (c only once a-c is cut), so the order of the
  // changes is the same on both.
  bool cut_off = false;
  auto step = [&](std::string event, const std::function<bool(Groups&)>& applied) {
    want_c.push_back(std::move(event));
    REQUIRE(eventually([&] { return applied(gc) && (cut_off || applied(ga)); }));
  };
  REQUIRE(gc.join("g", pb_pid, "b"));  // remote caller
  step(sub_ev("join", "g", pb_pid, "b"), [&](Groups& g) { return g.is_member("g", pb_pid); });
  REQUIRE(ga.join("g", pa2.pid(), nullptr));  // local on a
  step(sub_ev("join", "g", pa2.pid(), nullptr), [&](Groups& g) { return g.is_member("g", pa2.pid()); });
  REQUIRE(gb.join("g", pa1.pid(), "x2"));  // meta update by a second join
  step(sub_ev("update", "g", pa1.pid(), "x2"), [&](Groups& g) { return g.member("g", pa1.pid())->meta == "x2"; });
  REQUIRE(ga.join("g", pa1.pid(), "x2"));  // no-op: nothing reported
  REQUIRE(gc.update_member("g", pb_pid, [](const Term&) { return Term("b2"); }));
  step(sub_ev("update", "g", pb_pid, "b2"), [&](Groups& g) { return g.member("g", pb_pid)->meta == "b2"; });
  REQUIRE(gc.update_member("g", pb_pid, [](const Term& m) { return m; }));  // unchanged: nothing
  REQUIRE(gb.leave("g", pa2.pid()));
  step(sub_ev("leave", "g", pa2.pid(), nullptr), [&](Groups& g) { return !g.is_member("g", pa2.pid()); });
  pb.exit("died");  // process death
  step(sub_ev("leave", "g", pb_pid, "b2"), [&](Groups& g) { return !g.is_member("g", pb_pid); });
  std::vector<std::string> want_a = want_c;
  // Node down: c loses a's member; a's own view keeps it.
  REQUIRE(cut(a, c));
  cut_off = true;
  step(sub_ev("leave", "g", pa1.pid(), "x2"), [&](Groups& g) { return g.member_count("g") == 0; });
  REQUIRE(ga.join("g", pa1.pid(), "x3"));  // during the cut: only a sees it
  want_a.push_back(sub_ev("update", "g", pa1.pid(), "x3"));
  // Heal: a's snapshot brings it back to c.
  REQUIRE(heal(a, c, "s"));
  step(sub_ev("join", "g", pa1.pid(), "x3"), [&](Groups& g) { return g.is_member("g", pa1.pid()); });

  REQUIRE(eventually([&] { return log_c->size() == want_c.size() && log_a->size() == want_a.size(); }));
  CHECK(log_c->texts() == want_c);
  CHECK(log_a->texts() == want_a);
  // monitor_scope on c: the same for "g", plus what "other" goes through.
  REQUIRE(gb.leave("other", pother.pid()));
  std::vector<std::string> want_scope = want_c;
  want_scope.push_back(sub_ev("leave", "other", pother.pid(), "o"));
  REQUIRE(eventually([&] { return log_scope->size() == want_scope.size(); }));
  CHECK(log_scope->texts() == want_scope);
  CHECK(stays([&] { return log_c->size() == want_c.size() && log_a->size() == want_a.size(); }, 100ms));
  for (const auto& e : log_c->all()) CHECK(e.members.size() == 1);
}

TEST_CASE("groups: monitor_scope sees every group", "[groups][subscriptions]") {
  Nodes nodes;
  Node& a = nodes.add("gsco1", {"s", "t"});
  Node& b = nodes.add("gsco2", {"s", "t"});
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  REQUIRE(wait_scope_mesh({&a, &b}, "t"));
  auto log = std::make_shared<SubLog>();
  std::map<Term, std::vector<Member>> current{{"stale", {}}};
  auto sub = a.groups("s").monitor_scope(log->callback(), &current);
  CHECK(current.empty());  // cleared, then filled: the scope has no group yet
  std::vector<Process> procs;
  for (int i = 0; i < 4; ++i) procs.push_back((i % 2 ? b : a).spawn());
  std::vector<std::string> want;
  std::vector<Term> groups = {"a", 42, Term::array({"x", 1}), Term{{"k", "v"}}};
  for (int i = 0; i < 4; ++i) {
    REQUIRE(b.groups("s").join(groups[i], procs[i].pid(), i));
    want.push_back(sub_ev("join", groups[i], procs[i].pid(), i));
    REQUIRE(eventually([&] { return a.groups("s").is_member(groups[i], procs[i].pid()); }));
  }
  REQUIRE(b.groups("t").join("in-t", procs[0].pid()));  // another scope: not reported
  REQUIRE(a.groups("s").leave(42, procs[1].pid()));
  want.push_back(sub_ev("leave", 42, procs[1].pid(), 1));
  REQUIRE(eventually([&] { return log->size() == want.size(); }));
  CHECK(log->texts() == want);
  CHECK(stays([&] { return log->size() == want.size(); }, 100ms));
  // A second monitor_scope now gets the three groups as current.
  std::map<Term, std::vector<Member>> now;
  auto sub2 = a.groups("s").monitor_scope([](const GroupEvent&) {}, &now);
  CHECK(now == std::map<Term, std::vector<Member>>{{"a", {{procs[0].pid(), 0}}},
                                                   {Term::array({"x", 1}), {{procs[2].pid(), 2}}},
                                                   {Term{{"k", "v"}}, {{procs[3].pid(), 3}}}});
}

TEST_CASE("groups: no event is lost between the snapshot and the first event", "[groups][subscriptions]") {
  Nodes nodes;
  Node& a = nodes.add("gsnap1", {"s"});
  Node& b = nodes.add("gsnap2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ga = a.groups("s"), gb = b.groups("s");

  constexpr int kProcs = 400;
  std::vector<Process> procs;
  for (int i = 0; i < kProcs; ++i) procs.push_back((i % 3 == 0 ? b : a).spawn());
  std::atomic<int> progress{0};
  std::atomic<bool> done{false};
  // Joins continuously (local and remote callers), with leaves, meta updates and deaths.
  std::thread writer([&] {
    for (int i = 0; i < kProcs; ++i) {
      (void)ga.join("busy", procs[i].pid(), i);
      if (i % 5 == 4) (void)ga.leave("busy", procs[i - 2].pid());
      if (i % 7 == 6) (void)ga.join("busy", procs[i - 1].pid(), "updated");
      if (i % 11 == 10) procs[i - 3].exit("killed");
      progress = i + 1;
    }
    done = true;
  });

  struct Sub {
    std::shared_ptr<SubLog> log = std::make_shared<SubLog>();
    std::vector<Member> current;
    std::map<Term, std::vector<Member>> scope_current;
    Subscription sub;
    bool scope_wide = false;
    Node* node = nullptr;
  };
  std::vector<std::unique_ptr<Sub>> subs;
  // Subscribe on both nodes, to the group and to the scope, at several moments of the stream.
  for (int at : {20, 100, 200, 300}) {
    eventually([&] { return progress >= at || done; }, 10s, 1ms);
    for (Node* n : {&a, &b}) {
      for (bool scope_wide : {false, true}) {
        auto s = std::make_unique<Sub>();
        s->node = n;
        s->scope_wide = scope_wide;
        if (scope_wide) {
          s->sub = n->groups("s").monitor_scope(s->log->callback(), &s->scope_current);
          auto it = s->scope_current.find("busy");
          if (it != s->scope_current.end()) s->current = it->second;
        } else {
          s->sub = n->groups("s").monitor("busy", s->log->callback(), &s->current);
        }
        subs.push_back(std::move(s));
      }
    }
  }
  writer.join();
  for (auto& s : subs) {
    INFO("subscription on " << s->node->name() << (s->scope_wide ? " (scope)" : " (group)"));
    auto g = s->node->groups("s");
    auto final_members = as_map(g.members("busy"));
    bool ok =
        eventually([&] { return replay(s->current, s->log->all(), "busy").members == as_map(g.members("busy")); });
    auto r = replay(s->current, s->log->all(), "busy");
    CHECK(r.error.empty());
    CHECK(ok);
    CHECK(r.members == as_map(g.members("busy")));
  }
  // Both nodes agree in the end.
  REQUIRE(eventually([&] { return ga.members("busy") == gb.members("busy"); }));
}

TEST_CASE("groups: a subscription made while a member's death is being cleaned up", "[groups][subscriptions]") {
  // White-box timing: a process in many groups dies; its memberships are removed one group
  // after another. A subscription made meanwhile to the last group must be consistent: the
  // member is either in `current` and then reported as leaving, or in neither.
  Nodes nodes;
  Node& a = nodes.add("gdying1", {"s"});
  auto ga = a.groups("s");
  constexpr int kGroups = 3000;
  for (int round = 0; round < 3; ++round) {
    auto p = a.spawn();
    auto keep = a.spawn();
    for (int i = 0; i < kGroups; ++i) REQUIRE(ga.join(i, p.pid()));
    REQUIRE(ga.join(kGroups - 1, keep.pid()));
    Pid pid = p.pid();
    std::thread killer([&] { p.exit("bye"); });
    // Subscribe as soon as the death is visible, while the cleanup runs.
    while (a.is_alive(pid)) std::this_thread::yield();
    auto log = std::make_shared<SubLog>();
    std::vector<Member> current;
    std::map<Term, std::vector<Member>> scope_current;
    auto scope_log = std::make_shared<SubLog>();
    auto sub = ga.monitor(kGroups - 1, log->callback(), &current);
    auto scope_sub = ga.monitor_scope(scope_log->callback(), &scope_current);
    killer.join();
    REQUIRE(eventually([&] { return ga.member_count(kGroups - 1) == 1; }));
    INFO("round " << round);
    std::map<Pid, Term> want = {{keep.pid(), nullptr}};
    // Events are delivered asynchronously: wait for them, then check.
    eventually([&] { return replay(current, log->all(), kGroups - 1).members == want; });
    eventually([&] {
      std::vector<Member> sg;
      if (auto it = scope_current.find(kGroups - 1); it != scope_current.end()) sg = it->second;
      return replay(sg, scope_log->all(), kGroups - 1).members == want;
    });
    auto r = replay(current, log->all(), kGroups - 1);
    CHECK(r.error.empty());
    CHECK(r.members == std::map<Pid, Term>{{keep.pid(), nullptr}});
    std::vector<Member> scope_group;
    if (auto it = scope_current.find(kGroups - 1); it != scope_current.end()) scope_group = it->second;
    auto rs = replay(scope_group, scope_log->all(), kGroups - 1);
    CHECK(rs.error.empty());
    CHECK(rs.members == std::map<Pid, Term>{{keep.pid(), nullptr}});
    REQUIRE(eventually([&] { return ga.group_count() == 1; }));
  }
}

TEST_CASE("groups: no event after the Subscription is destroyed", "[groups][subscriptions]") {
  Nodes nodes;
  Node& a = nodes.add("gend1", {"s"});
  Node& b = nodes.add("gend2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ga = a.groups("s");
  std::vector<Process> procs;
  for (int i = 0; i < 8; ++i) procs.push_back((i % 2 ? b : a).spawn());

  SECTION("destroyed") {
    auto log = std::make_shared<SubLog>();
    {
      auto sub = ga.monitor("g", log->callback());
      REQUIRE(ga.join("g", procs[0].pid()));
      REQUIRE(eventually([&] { return log->size() == 1; }));
    }
    REQUIRE(ga.join("g", procs[1].pid()));
    REQUIRE(b.groups("s").join("g", procs[2].pid()));
    REQUIRE(eventually([&] { return ga.member_count("g") == 3; }));
    CHECK(stays([&] { return log->size() == 1; }, 100ms));
  }

  SECTION("cancelled, then destroyed") {
    auto log = std::make_shared<SubLog>();
    auto sub = ga.monitor_scope(log->callback());
    REQUIRE(ga.join("g", procs[0].pid()));
    REQUIRE(eventually([&] { return log->size() == 1; }));
    sub.cancel();
    CHECK_FALSE(sub.active());
    sub.cancel();  // idempotent
    REQUIRE(ga.join("h", procs[1].pid()));
    CHECK(stays([&] { return log->size() == 1; }, 100ms));
  }

  SECTION("destroyed from inside its own callback") {
    std::atomic<int> calls{0};
    auto holder = std::make_shared<std::optional<Subscription>>();
    std::mutex mutex;
    {
      std::lock_guard lock(mutex);  // the callback waits until the subscription is stored
      *holder = ga.monitor("g", [&, holder](const GroupEvent&) {
        ++calls;
        std::lock_guard inner(mutex);
        holder->reset();  // ends itself
      });
    }
    // Several changes queued at once: only the first is delivered.
    for (int i = 0; i < 4; ++i) REQUIRE(ga.join("g", procs[i].pid()));
    REQUIRE(eventually([&] { return calls >= 1; }));
    CHECK(stays([&] { return calls == 1; }, 100ms));
    CHECK_FALSE(holder->has_value());
  }

  SECTION("a scope subscription destroyed from inside its own callback") {
    std::atomic<int> calls{0};
    auto holder = std::make_shared<std::optional<Subscription>>();
    std::mutex mutex;
    {
      std::lock_guard lock(mutex);
      *holder = ga.monitor_scope([&, holder](const GroupEvent&) {
        ++calls;
        std::lock_guard inner(mutex);
        holder->reset();
      });
    }
    for (int i = 0; i < 4; ++i) REQUIRE(ga.join(i, procs[i].pid()));
    REQUIRE(eventually([&] { return calls >= 1; }));
    CHECK(stays([&] { return calls == 1; }, 100ms));
  }

  SECTION("moved") {
    auto log1 = std::make_shared<SubLog>();
    auto log2 = std::make_shared<SubLog>();
    std::optional<Subscription> moved;
    {
      auto sub = ga.monitor("g", log1->callback());
      moved.emplace(std::move(sub));
      CHECK_FALSE(sub.active());
      CHECK(moved->active());
    }  // the moved-from handle is destroyed: the subscription goes on
    REQUIRE(ga.join("g", procs[0].pid()));
    REQUIRE(eventually([&] { return log1->size() == 1; }));
    // Move-assigning over an active subscription ends the one it held.
    *moved = ga.monitor("g", log2->callback());
    REQUIRE(ga.join("g", procs[1].pid()));
    REQUIRE(eventually([&] { return log2->size() == 1; }));
    CHECK(stays([&] { return log1->size() == 1; }, 50ms));
    Subscription other = std::move(*moved);
    moved.reset();
    REQUIRE(ga.join("g", procs[2].pid()));
    REQUIRE(eventually([&] { return log2->size() == 2; }));
    other = Subscription();  // ends it
    REQUIRE(ga.join("g", procs[3].pid()));
    REQUIRE(eventually([&] { return ga.member_count("g") == 4; }));
    CHECK(stays([&] { return log2->size() == 2 && log1->size() == 1; }, 100ms));
  }

  SECTION("cancelled from another thread while events flow") {
    std::atomic<int> calls{0};
    std::atomic<bool> stop{false};
    auto sub = ga.monitor_scope([&](const GroupEvent&) { ++calls; });
    std::thread writer([&] {
      for (int i = 0; !stop; ++i) { (void)ga.join(i % 50, procs[static_cast<std::size_t>(i) % procs.size()].pid(), i); }
    });
    REQUIRE(eventually([&] { return calls > 50; }));
    sub.cancel();
    int after_cancel = calls;
    CHECK(stays([&] { return calls == after_cancel; }, 100ms));
    stop = true;
    writer.join();
  }

  SECTION("a subscription outliving its node") {
    auto log = std::make_shared<SubLog>();
    std::optional<Subscription> sub = b.groups("s").monitor("g", log->callback());
    nodes.stop(1);
    sub.reset();  // no crash, no event
    CHECK(log->size() == 0);
  }
}
