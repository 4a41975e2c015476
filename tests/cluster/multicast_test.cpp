// Guaranteed multicast over real nodes in one process (SPEC 8): joins and views, delivery and
// confirmation, leaves, deaths, node downs, errors, a split and its merge.
#include "cluster/multicast_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <latch>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

using namespace syn;
using namespace syn::test;
using namespace std::chrono_literals;

namespace {

/// Three members of "g", one per node, each with its recorder.
struct ThreeMembers {
  MulticastNodes cluster;
  Process proc[3];
  std::shared_ptr<Recorder> rec[3];
  std::optional<Membership> member[3];

  explicit ThreeMembers(const std::string& prefix) : cluster(prefix) {
    for (int i = 0; i < 3; ++i) {
      proc[i] = cluster.n[i]->spawn();
      rec[i] = std::make_shared<Recorder>();
      auto joined = cluster.n[i]->multicast("s").join("g", proc[i], rec[i]);
      INFO("member " << i << ": " << (joined ? "ok" : to_string(joined.error())));
      REQUIRE(joined);
      member[i].emplace(std::move(*joined));
    }
    auto all = sorted_pids({proc[0].pid(), proc[1].pid(), proc[2].pid()});
    REQUIRE(
        eventually([&] { return rec[0]->members() == all && rec[1]->members() == all && rec[2]->members() == all; }));
  }
  Pid pid(int i) const { return proc[i].pid(); }
};

/// Two nodes whose multicast groups hold at most 256 bytes unconfirmed, never evicting a
/// laggard while a test runs.
struct FlowNodes {
  Nodes nodes;
  Node* n[2];
  explicit FlowNodes(const std::string& prefix) {
    for (int i = 0; i < 2; ++i) {
      n[i] = &nodes.add(prefix + std::to_string(i + 1), {"s"}, true, [](NodeOptions& o) {
        o.multicast_max_in_flight = 256;
        o.multicast_max_lag = std::chrono::minutes(10);  // held back, not evicted while the test runs
      });
    }
    REQUIRE(wait_scope_mesh({n[0], n[1]}, Kind::multicast, "s"));
  }
};

/// A member that blocks in its first on_message until `release` is set: its node acknowledges
/// nothing from then on.
struct Stuck : Recorder {
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  void on_message(const Pid& from, const Term& message) override {
    Recorder::on_message(from, message);
    released.wait();  // bounded: the test releases it before it ends
  }
};

}  // namespace

TEST_CASE("multicast: members join, agree on views, and receive every broadcast in order", "[multicast][cluster]") {
  ThreeMembers t("mc_basic");
  // Everyone's last view is the same view.
  auto v0 = t.rec[0]->last_view();
  REQUIRE(v0);
  CHECK(t.rec[1]->last_view() == v0);
  CHECK(t.rec[2]->last_view() == v0);
  CHECK(v0->group == Term("g"));
  CHECK(v0->members.front() == t.pid(0));  // join order: the first member coordinates
  CHECK(t.member[1]->view() == *v0);
  CHECK(t.cluster.n[2]->multicast("s").view("g") == v0);
  CHECK(t.cluster.n[2]->multicast("s").group_names() == std::vector<Term>{"g"});
  // Each member's first callback is on_joined, then the views in order.
  for (auto& r : t.rec) {
    auto calls = r->calls();
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.front().rfind("joined", 0) == 0);
  }

  for (int k = 0; k < 50; ++k) {
    for (int i = 0; i < 3; ++i) REQUIRE(t.member[i]->broadcast(Term::array({i, k})));
  }
  REQUIRE(t.member[0]->confirmed_broadcast("last", 10s));
  // Confirmed: every member received it already (and, per publisher order, everything before).
  for (auto& r : t.rec) {
    auto from0 = r->messages_from(t.pid(0));
    REQUIRE(from0.size() == 51);
    CHECK(from0.back() == Term("last"));
  }
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] {
      for (auto& r : t.rec) {
        if (r->messages_from(t.pid(i)).size() < 50) return false;
      }
      return true;
    }));
    for (auto& r : t.rec) {
      auto got = r->messages_from(t.pid(i));
      for (int k = 0; k < 50; ++k) CHECK(got[k] == Term::array({i, k}));
    }
  }
}

TEST_CASE("multicast: leave, process exit and node down are views with their reasons", "[multicast][cluster]") {
  ThreeMembers t("mc_leave");
  auto left_as = [&](int observer, const Pid& gone, LeaveReason reason) {
    return eventually([&] {
      for (const auto& change : t.rec[observer]->changes()) {
        for (const auto& [pid, why] : change.left) {
          if (pid == gone && why == reason) return true;
        }
      }
      return false;
    });
  };

  SECTION("leave returns after on_left(left) ran") {
    REQUIRE(t.member[2]->leave());
    CHECK(t.rec[2]->left() == LeaveReason::left);
    CHECK_FALSE(t.member[2]->active());
    CHECK(t.rec[2]->calls().back() == "left left");
    CHECK(left_as(0, t.pid(2), LeaveReason::left));
    CHECK(left_as(1, t.pid(2), LeaveReason::left));
    CHECK(t.member[2]->broadcast("late").error() == Errc::not_in_group);
    CHECK(t.member[2]->leave().error() == Errc::not_in_group);
    CHECK(t.cluster.n[2]->multicast("s").group_names().empty());
  }
  SECTION("a member's process dies") {
    t.proc[1].exit("bye");
    CHECK(left_as(0, t.pid(1), LeaveReason::process_exit));
    CHECK(left_as(2, t.pid(1), LeaveReason::process_exit));
    REQUIRE(eventually([&] { return t.rec[1]->left() == LeaveReason::process_exit; }));
  }
  SECTION("a member's node stops") {
    Pid gone = t.pid(2);
    t.cluster.nodes.stop(2);  // (destroying the Membership first would leave the group)
    t.member[2].reset();
    CHECK(left_as(0, gone, LeaveReason::node_down));
    CHECK(left_as(1, gone, LeaveReason::node_down));
    // The group goes on without it.
    REQUIRE(t.member[1]->confirmed_broadcast("after", 10s));
    CHECK(t.rec[0]->messages_from(t.pid(1)).back() == Term("after"));
  }
  SECTION("the coordinator leaves: the next member takes over") {
    auto before = t.rec[1]->last_view()->members;  // [a, then the others in view order]
    REQUIRE(before.front() == t.pid(0));
    REQUIRE(t.member[0]->leave());
    REQUIRE(eventually([&] { return t.rec[1]->members() == sorted_pids({t.pid(1), t.pid(2)}); }));
    REQUIRE(t.member[2]->confirmed_broadcast("on", 10s));
    CHECK(t.rec[1]->messages_from(t.pid(2)).back() == Term("on"));
    CHECK(t.rec[1]->last_view()->members.front() == before[1]);  // the next in view order
  }
}

TEST_CASE("multicast: a member that leaves or dies right after a burst of broadcasts loses none of them",
          "[multicast][cluster]") {
  ThreeMembers t("mc_burst");
  // More than one engine turn publishes (a batch): the rest waits in the outbox, and the
  // leave asked right after must not overtake it.
  constexpr int kBurst = 3000;
  for (int i = 0; i < kBurst; ++i) REQUIRE(t.member[2]->broadcast(i));
  std::vector<Term> burst;
  for (int i = 0; i < kBurst; ++i) burst.emplace_back(i);
  const Pid publisher = t.pid(2);
  LeaveReason reason = LeaveReason::left;
  SECTION("leave") { REQUIRE(t.member[2]->leave()); }
  SECTION("the process exits") {
    t.proc[2].exit("bye");
    reason = LeaveReason::process_exit;
  }
  for (int observer : {0, 1}) {
    INFO("member " << observer);
    REQUIRE(eventually([&] {
      for (const auto& change : t.rec[observer]->changes()) {
        for (const auto& [pid, why] : change.left) {
          if (pid == publisher && why == reason) return true;
        }
      }
      return false;
    }));
    CHECK(t.rec[observer]->messages_from(publisher) == burst);
  }
}

TEST_CASE("multicast: a join right after its pid's Membership was destroyed waits for that leave and gets in",
          "[multicast][cluster]") {
  ThreeMembers t("mc_rejoin");
  auto first = t.rec[0];
  for (int round = 0; round < 3; ++round) {
    INFO("round " << round);
    t.member[0].reset();  // leaves without waiting: the view change is still to come
    auto again = std::make_shared<Recorder>();
    auto joined = t.cluster.n[0]->multicast("s").join("g", t.proc[0], again);
    INFO((joined ? "ok" : to_string(joined.error())));
    REQUIRE(joined);
    t.member[0].emplace(std::move(*joined));
    // The old member ended before the new one began: on_left(left), its last callback.
    REQUIRE(first->left() == LeaveReason::left);
    REQUIRE_FALSE(first->calls().empty());
    CHECK(first->calls().back() == "left left");
    REQUIRE_FALSE(again->calls().empty());
    CHECK(again->calls().front().rfind("joined", 0) == 0);
    // The others saw it leave and join again, and it is in the group as before.
    REQUIRE(eventually([&] {
      auto view = t.rec[1]->last_view();
      return view && view->members.back() == t.pid(0) && again->members() == t.rec[1]->members();
    }));
    REQUIRE(t.member[1]->confirmed_broadcast(round, 10s));
    CHECK(again->messages_from(t.pid(1)).back() == Term(round));
    first = again;
  }
  // A member that stays is still `taken`.
  auto twice = t.cluster.n[0]->multicast("s").join("g", t.proc[0], std::make_shared<Recorder>());
  REQUIRE_FALSE(twice);
  CHECK(twice.error() == Errc::taken);
}

TEST_CASE("multicast: a node that leaves the scope ends its members with on_left(left), even from their own callback",
          "[multicast][cluster]") {
  ThreeMembers t("mc_unscope");
  // The member on the third node asks for the removal from its own on_message: the removal
  // cannot wait for that member's on_left there (it runs after this callback).
  struct RemovesItsScope : Recorder {
    Node* node = nullptr;
    std::promise<void> removed;
    void on_message(const Pid& from, const Term& message) override {
      Recorder::on_message(from, message);
      if (message == Term("remove")) {
        node->remove_node_from_scopes({"s"});
        removed.set_value();
      }
    }
  };
  auto remover = std::make_shared<RemovesItsScope>();
  remover->node = t.cluster.n[2];
  auto removed = remover->removed.get_future();
  t.member[2]->set_handler(remover);
  REQUIRE(t.member[0]->broadcast("remove"));
  REQUIRE(removed.wait_for(10s) == std::future_status::ready);
  REQUIRE(eventually([&] { return remover->left().has_value(); }));
  CHECK(remover->left() == LeaveReason::left);
  CHECK(remover->calls().back() == "left left");
  CHECK(eventually([&] { return !t.member[2]->active(); }));
  // From a user thread: the second node's member ends the same way.
  t.cluster.n[1]->remove_node_from_scopes({"s"});
  REQUIRE(eventually([&] { return t.rec[1]->left().has_value(); }));
  CHECK(t.rec[1]->left() == LeaveReason::left);
  CHECK(t.rec[1]->calls().back() == "left left");
  // The first node's member goes on alone.
  REQUIRE(eventually([&] { return t.rec[0]->members() == std::vector<Pid>{t.pid(0)}; }));
  REQUIRE(t.member[0]->confirmed_broadcast("alone", 10s));
}

TEST_CASE("multicast: a member that leaves or dies while it publishes loses none of the broadcasts that returned ok",
          "[multicast][cluster]") {
  // SPEC 8.2.5 and 8.3.1: each broadcast is either refused (not_in_group) or received by the
  // members that stay. Before, those made between the leave's start and its on_left returned
  // ok and were dropped (a publisher at full speed lost hundreds of thousands).
  ThreeMembers t("mc_leavepub");
  auto proc = t.cluster.n[1]->spawn();
  auto rec = std::make_shared<Recorder>();
  auto joined = t.cluster.n[1]->multicast("s").join("g", proc, rec);
  REQUIRE(joined);
  std::optional<Membership> member(std::move(*joined));
  REQUIRE(eventually([&] { return t.rec[0]->members().size() == 4 && t.rec[2]->members().size() == 4; }));

  std::atomic<std::int64_t> accepted{0};
  std::atomic<bool> refused_other{false};
  auto publisher = std::async(std::launch::async, [&] {
    for (std::int64_t i = 0; i < 500000; ++i) {
      auto sent = member->broadcast(Term(i));
      if (!sent) {
        refused_other = sent.error() != Errc::not_in_group;
        return;
      }
      accepted = i + 1;
    }
  });
  REQUIRE(eventually([&] { return t.rec[0]->messages_from(proc.pid()).size() >= 200; }));
  SECTION("it leaves") { REQUIRE(member->leave()); }
  SECTION("its process dies") { proc.exit("bye"); }
  REQUIRE(publisher.wait_for(60s) == std::future_status::ready);
  CHECK_FALSE(refused_other.load());
  // Its departure is reported after every message of it (SPEC 8.1.4): then all are there.
  for (int i : {0, 2}) {
    REQUIRE(eventually([&] {
      auto members = t.rec[i]->members();
      return !members.empty() && std::find(members.begin(), members.end(), proc.pid()) == members.end();
    }));
    auto got = t.rec[i]->messages_from(proc.pid());
    INFO("member " << i << " received " << got.size() << " of " << accepted.load());
    REQUIRE(got.size() == static_cast<std::size_t>(accepted.load()));
    for (std::size_t k = 0; k < got.size(); ++k) REQUIRE(got[k] == Term(static_cast<std::int64_t>(k)));
  }
}

TEST_CASE("multicast: a join whose first view is installed waits for its on_joined past its timeout, no ghost",
          "[multicast][cluster]") {
  // SPEC 8.1.3: `timeout` means not a member. The joiner's on_joined waits behind a member of
  // the same group on its node whose callback is slow: before, the join answered `timeout`
  // while every other member had installed a view with it (then saw it leave).
  MulticastNodes c("mc_slowjoin");
  auto stuck = std::make_shared<Stuck>();
  auto other = std::make_shared<Recorder>();
  auto pa = c.n[0]->spawn(), pb = c.n[1]->spawn(), pa2 = c.n[0]->spawn();
  auto ma = c.n[0]->multicast("s").join("g", pa, stuck);
  auto mb = c.n[1]->multicast("s").join("g", pb, other);
  REQUIRE((ma && mb));
  REQUIRE(eventually([&] { return stuck->members().size() == 2 && other->members().size() == 2; }));
  auto joiner = std::make_shared<Recorder>();
  std::future<Result<Membership>> joining;  // (before `release`: a failed check must not wait on it for ever)
  struct Release {
    Stuck& s;
    ~Release() { s.release.set_value(); }
  };
  std::optional<Release> release(std::in_place, *stuck);
  REQUIRE(mb->broadcast("hold"));  // the first node's callbacks for "g" wait in on_message
  REQUIRE(eventually([&] { return stuck->messages_from(pb.pid()).size() == 1; }));
  joining = std::async(std::launch::async, [&] {
    MulticastOptions options;
    options.join_timeout = std::chrono::milliseconds(1000);
    return c.n[0]->multicast("s").join("g", pa2, joiner, options);
  });
  REQUIRE(eventually([&] { return other->members().size() == 3; }));  // installed: the others saw it join
  CHECK(joining.wait_for(1500ms) == std::future_status::timeout);     // past its timeout, it waits
  release.reset();
  REQUIRE(joining.wait_for(30s) == std::future_status::ready);
  auto joined = joining.get();
  REQUIRE(joined);
  CHECK(joiner->calls().front().rfind("joined", 0) == 0);
  // No ghost: the others never saw it leave.
  CHECK(stays([&] { return other->members().size() == 3; }, 300ms));
}

TEST_CASE("multicast: a join still waiting for its first view when its node leaves the scope fails with invalid_scope",
          "[multicast][cluster]") {
  // Views wait a minute for a node cut off: the join below would wait that long.
  Nodes nodes;
  Node* n[3];
  for (int i = 0; i < 3; ++i) {
    n[i] = &nodes.add("mc_unscope_join" + std::to_string(i + 1), {"s"}, true,
                      [](NodeOptions& o) { o.view_change_timeout = std::chrono::minutes(1); });
  }
  REQUIRE(wait_scope_mesh({n[0], n[1], n[2]}, Kind::multicast, "s"));
  auto ra = std::make_shared<Recorder>(), rb = std::make_shared<Recorder>();
  auto pa = n[0]->spawn(), pb = n[1]->spawn(), pc = n[2]->spawn();
  auto ma = n[0]->multicast("s").join("g", pa, ra);
  REQUIRE(ma);
  auto mb = n[1]->multicast("s").join("g", pb, rb);
  REQUIRE(mb);
  REQUIRE(eventually([&] { return ra->members().size() == 2 && rb->members().size() == 2; }));
  // The third node reaches the first, not the second: its join waits for reachability.
  REQUIRE(cut(*n[1], *n[2]));
  auto rc = std::make_shared<Recorder>();
  auto joining = std::async(std::launch::async, [&] {
    MulticastOptions options;
    options.join_timeout = std::chrono::minutes(5);
    return n[2]->multicast("s").join("g", pc, rc, options);
  });
  CHECK(joining.wait_for(300ms) == std::future_status::timeout);  // it waits (for a minute)
  // Leaving the scope does not wait for that join (before, it waited two view_change_timeouts
  // for it to leave), and the join fails as every handle of a removed scope does.
  n[2]->remove_node_from_scopes({"s"});
  REQUIRE(joining.wait_for(30s) == std::future_status::ready);
  auto joined = joining.get();
  REQUIRE_FALSE(joined);
  CHECK(joined.error() == Errc::invalid_scope);
  CHECK(rc->calls().empty());  // a failed join runs no callback
}

TEST_CASE("multicast: errors", "[multicast][cluster]") {
  MulticastNodes c("mc_err");
  auto mc = c.n[0]->multicast("s");
  auto p = c.n[0]->spawn();
  auto rec = std::make_shared<Recorder>();
  auto m = mc.join("g", p, rec);
  REQUIRE(m);

  CHECK(mc.join("g", p, std::make_shared<Recorder>()).error() == Errc::taken);
  CHECK(mc.join("g2", p, nullptr).error() == Errc::bad_argument);
  auto dead = c.n[0]->spawn();
  dead.exit("gone");
  CHECK(mc.join("g", dead, std::make_shared<Recorder>()).error() == Errc::not_alive);
  CHECK_THROWS_AS(c.n[0]->multicast("nope"), Error);

  std::string big(NodeOptions().max_term_bytes + 1, 'x');
  CHECK(m->broadcast(big).error() == Errc::bad_argument);

  // From a callback: joining the same group would wait on itself; a confirmed broadcast would
  // wait on its own deliveries; leave returns at once.
  struct FromCallback : MulticastHandler {
    Multicast mc;
    Process& self;
    std::optional<Membership>* mine = nullptr;
    std::promise<std::pair<Errc, Errc>> errors;
    std::promise<bool> left_at_once;
    std::promise<std::optional<Errc>> broadcast_in_on_left;  // nullopt: it was taken
    std::future<Result<void>> confirmed_later;               // asked from a callback: it waits for nothing
    FromCallback(Multicast m, Process& p) : mc(std::move(m)), self(p) {}
    void on_left(LeaveReason) override {
      auto sent = (*mine)->broadcast("after");  // out of the group already: SPEC 8.3.1
      broadcast_in_on_left.set_value(sent ? std::nullopt : std::optional(sent.error()));
    }
    void on_message(const Pid&, const Term& message) override {
      if (message == Term("try")) {
        auto again = mc.join("h", self, std::make_shared<Recorder>());
        auto confirmed = (*mine)->confirmed_broadcast("x", 1s);
        confirmed_later = (*mine)->confirmed_broadcast_async("later");
        errors.set_value({again ? Errc::timeout : again.error(), confirmed ? Errc::timeout : confirmed.error()});
      } else if (message == Term("go")) {
        left_at_once.set_value(bool((*mine)->leave()));  // would deadlock if it waited for on_left
      }
    }
  };
  auto q = c.n[1]->spawn();
  auto mc1 = c.n[1]->multicast("s");
  auto handler = std::make_shared<FromCallback>(mc1, q);
  auto errors = handler->errors.get_future();
  auto left_at_once = handler->left_at_once.get_future();
  auto broadcast_in_on_left = handler->broadcast_in_on_left.get_future();
  std::optional<Membership> mine;
  handler->mine = &mine;
  auto joined = mc1.join("h", q, handler);
  REQUIRE(joined);
  mine.emplace(std::move(*joined));
  REQUIRE(mine->broadcast("try"));
  REQUIRE(errors.wait_for(10s) == std::future_status::ready);
  auto [join_error, confirm_error] = errors.get();
  CHECK(join_error == Errc::bad_argument);
  CHECK(confirm_error == Errc::bad_argument);
  // The async form is confirmed once the member (alone) received it, after that callback.
  REQUIRE(handler->confirmed_later.valid());
  REQUIRE(handler->confirmed_later.wait_for(10s) == std::future_status::ready);
  CHECK(handler->confirmed_later.get());
  REQUIRE(mine->broadcast("go"));
  REQUIRE(left_at_once.wait_for(10s) == std::future_status::ready);
  CHECK(left_at_once.get());
  REQUIRE(eventually([&] { return !mine->active(); }));
  REQUIRE(broadcast_in_on_left.wait_for(10s) == std::future_status::ready);
  CHECK(broadcast_in_on_left.get() == std::optional(Errc::not_in_group));
}

TEST_CASE("multicast: a member joins a group it is alone in and confirms at once", "[multicast][cluster]") {
  MulticastNodes c("mc_alone");
  auto p = c.n[1]->spawn();
  auto rec = std::make_shared<Recorder>();
  auto m = c.n[1]->multicast("s").join(Term::array({"room", 1}), p, rec);
  REQUIRE(m);
  CHECK(rec->calls() == std::vector<std::string>{"joined v1"});
  REQUIRE(m->confirmed_broadcast("solo", 5s));
  CHECK(rec->messages_from(p.pid()) == std::vector<Term>{"solo"});
  MulticastOptions quiet;
  quiet.receive_own = false;
  auto p2 = c.n[1]->spawn();
  auto rec2 = std::make_shared<Recorder>();
  auto m2 = c.n[1]->multicast("s").join(Term::array({"room", 2}), p2, rec2, quiet);
  REQUIRE(m2);
  REQUIRE(m2->confirmed_broadcast("unheard", 5s));
  CHECK(rec2->messages().empty());
}

TEST_CASE("multicast: two nodes that start a group at the same instant make one view, not two that merge",
          "[multicast][cluster]") {
  MulticastNodes c("mc_race");
  // Ten races, each for a group no node knows yet, joined from two nodes at once.
  for (int round = 0; round < 10; ++round) {
    Term group = Term::array({"race", round});
    auto p1 = c.n[0]->spawn();
    auto p2 = c.n[1]->spawn();
    auto rec1 = std::make_shared<Recorder>(), rec2 = std::make_shared<Recorder>();
    std::latch start(2);
    std::optional<Result<Membership>> m1, m2;
    std::thread other([&] {
      start.arrive_and_wait();
      m2.emplace(c.n[1]->multicast("s").join(group, p2, rec2));
    });
    start.arrive_and_wait();
    m1.emplace(c.n[0]->multicast("s").join(group, p1, rec1));
    other.join();
    REQUIRE(*m1);
    REQUIRE(*m2);
    auto both = sorted_pids({p1.pid(), p2.pid()});
    REQUIRE(eventually([&] { return rec1->members() == both && rec2->members() == both; }));
    INFO("round " << round << ": " << Term(rec1->calls()).dump() << " / " << Term(rec2->calls()).dump());
    // One lineage: the view numbers go 1, 2 (one started it, the other joined), never a merge.
    for (const auto* rec : {rec1.get(), rec2.get()}) {
      for (const auto& change : rec->changes()) CHECK_FALSE(change.merged);
      CHECK(rec->last_view()->id.number == 2);
    }
  }
}

TEST_CASE("multicast: a split gives two groups, the heal merges them", "[multicast][cluster]") {
  ThreeMembers t("mc_split");
  Node& a = *t.cluster.n[0];
  Node& b = *t.cluster.n[1];
  Node& c = *t.cluster.n[2];
  REQUIRE(cut(a, c));
  REQUIRE(cut(b, c));
  // c alone keeps its member; a and b go on together.
  REQUIRE(eventually([&] { return t.rec[2]->members() == std::vector<Pid>{t.pid(2)}; }));
  REQUIRE(eventually([&] { return t.rec[0]->members() == sorted_pids({t.pid(0), t.pid(1)}); }));
  REQUIRE(t.member[2]->confirmed_broadcast("c-side", 10s));
  REQUIRE(t.member[0]->confirmed_broadcast("ab-side", 10s));
  CHECK(t.rec[1]->messages_from(t.pid(0)).back() == Term("ab-side"));

  REQUIRE(heal(a, c));
  REQUIRE(heal(b, c));
  auto all = sorted_pids({t.pid(0), t.pid(1), t.pid(2)});
  REQUIRE(eventually([&] { return t.rec[0]->members() == all && t.rec[2]->members() == all; }, 20s));
  auto merged = [](const std::shared_ptr<Recorder>& r) {
    for (const auto& change : r->changes()) {
      if (change.merged) return true;
    }
    return false;
  };
  CHECK(merged(t.rec[0]));
  CHECK(merged(t.rec[2]));
  // Nothing published on one side during the split reached the other (SPEC 8.4.2).
  for (const auto& [from, m] : t.rec[2]->messages()) CHECK(m != Term("ab-side"));
  for (const auto& [from, m] : t.rec[0]->messages()) CHECK(m != Term("c-side"));
  REQUIRE(t.member[2]->confirmed_broadcast("whole", 10s));
  CHECK(t.rec[0]->messages_from(t.pid(2)).back() == Term("whole"));
}

TEST_CASE("multicast: confirmed means every member's callback returned, however slow", "[multicast][cluster]") {
  // A member whose on_message takes a while: confirmation waits for it, on another node or on
  // the publisher's own (a confirmation resolved once the other node acknowledged would come
  // before the publisher's own callback returned).
  struct Slow : Recorder {
    void on_message(const Pid& from, const Term& message) override {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));  // a slow consumer, not a wait
      Recorder::on_message(from, message);
    }
  };
  auto check = [](const std::string& prefix, bool publisher_is_slow) {
    MulticastNodes c(prefix);
    auto slow = std::make_shared<Slow>();
    auto fast = std::make_shared<Recorder>();
    auto p0 = c.n[0]->spawn();
    auto p2 = c.n[2]->spawn();
    auto publisher = c.n[0]->multicast("s").join("g", p0, publisher_is_slow ? slow : fast);
    REQUIRE(publisher);
    auto consumer = c.n[2]->multicast("s").join("g", p2, publisher_is_slow ? fast : slow);
    REQUIRE(consumer);
    REQUIRE(eventually([&] { return fast->members().size() == 2 && slow->members().size() == 2; }));
    for (int i = 0; i < 5; ++i) REQUIRE(publisher->broadcast(i));
    REQUIRE(publisher->confirmed_broadcast("done", 10s));
    auto got = slow->messages_from(p0.pid());
    REQUIRE(got.size() == 6);  // already there when the call returned
    CHECK(got.back() == Term("done"));
  };
  SECTION("a member on another node") { check("mc_slow", false); }
  SECTION("the publisher's own member") { check("mc_slow_own", true); }
}

TEST_CASE("multicast: confirmed waits for a slow member on another node across a view change", "[multicast][cluster]") {
  // The view change's flush gives every survivor the message, but a node delivers what it
  // holds of the old view at its own install, and its member's callback runs after that:
  // confirmation waits for the other nodes to say their callbacks of the old view ran (SPEC
  // 8.3.2), not for the install alone.
  struct Gated : Recorder {
    void on_message(const Pid& from, const Term& message) override {
      {
        std::unique_lock lock(gate_mutex);
        entered = true;
        gate.wait_for(lock, 20s, [&] { return open; });  // bounded: the test opens it
      }
      Recorder::on_message(from, message);
    }
    void release() {
      std::lock_guard lock(gate_mutex);
      open = true;
      gate.notify_all();
    }
    bool inside() {
      std::lock_guard lock(gate_mutex);
      return entered;
    }
    std::mutex gate_mutex;
    std::condition_variable gate;
    bool open = false, entered = false;
  };
  MulticastNodes c("mc_settle");
  auto publisher_handler = std::make_shared<Recorder>();
  auto gated = std::make_shared<Gated>();
  auto joiner_handler = std::make_shared<Recorder>();
  auto p0 = c.n[0]->spawn();
  auto p1 = c.n[1]->spawn();
  auto p2 = c.n[2]->spawn();
  auto publisher = c.n[0]->multicast("s").join("g", p0, publisher_handler);
  REQUIRE(publisher);
  auto consumer = c.n[1]->multicast("s").join("g", p1, gated);
  REQUIRE(consumer);
  REQUIRE(eventually([&] { return publisher_handler->members().size() == 2 && gated->members().size() == 2; }));

  auto confirmation = publisher->confirmed_broadcast_async("m");
  REQUIRE(eventually([&] { return gated->inside(); }));
  // A third member joins: a view change while the consumer's callback still runs.
  auto joiner = c.n[2]->multicast("s").join("g", p2, joiner_handler);
  REQUIRE(joiner);
  REQUIRE(eventually([&] { return publisher_handler->members().size() == 3; }));
  // The publisher's node installed the new view and its member saw it: the consumer still
  // has not received the message.
  CHECK(confirmation.wait_for(0s) != std::future_status::ready);
  CHECK(gated->messages().empty());

  gated->release();
  REQUIRE(confirmation.wait_for(10s) == std::future_status::ready);
  CHECK(confirmation.get());
  CHECK(gated->messages_from(p0.pid()) == std::vector<Term>{Term("m")});
  // The group goes on: a confirmed broadcast in the new view reaches all three.
  REQUIRE(publisher->confirmed_broadcast("after", 10s));
  CHECK(joiner_handler->messages_from(p0.pid()) == std::vector<Term>{Term("after")});
}

TEST_CASE("multicast: flow control is per group: a group held back at its limit does not block another",
          "[multicast][cluster]") {
  FlowNodes nodes("mc_flow");
  Node* const* n = nodes.n;
  // In group "held", the member on the second node blocks in its first on_message.
  auto stuck = std::make_shared<Stuck>();
  auto publisher = std::make_shared<Recorder>(), other = std::make_shared<Recorder>();
  auto free_publisher = std::make_shared<Recorder>();
  auto p0 = n[0]->spawn(), p1 = n[1]->spawn(), q0 = n[0]->spawn(), q1 = n[1]->spawn();
  auto held0 = n[0]->multicast("s").join("held", p0, publisher);
  auto held1 = n[1]->multicast("s").join("held", p1, stuck);
  auto free0 = n[0]->multicast("s").join("free", q0, free_publisher);
  auto free1 = n[1]->multicast("s").join("free", q1, other);
  REQUIRE((held0 && held1 && free0 && free1));
  REQUIRE(eventually([&] { return publisher->members().size() == 2 && free_publisher->members().size() == 2; }));

  // A thread fills "held" past its limit: its broadcasts block once 256 bytes wait.
  std::atomic<int> sent{0};
  auto filler = std::async(std::launch::async, [&] {
    for (int i = 0; i < 200; ++i) {
      if (!held0->broadcast(std::string(40, 'x'))) return;
      ++sent;
    }
  });
  std::future<Result<void>> late;  // (before `release`: a failed check below must not wait on it for ever)
  struct Release {
    Stuck& s;
    std::future<void>& filler;
    ~Release() {
      s.release.set_value();
      filler.wait();
    }
  } release{*stuck, filler};
  // It stops short of 200: blocked in flow control (about 256 / 43 bytes' worth went out).
  REQUIRE(eventually([&] { return sent.load() > 0; }));

  // "free" goes on: its confirmed broadcast returns, on the same node, with the same limit.
  auto confirmed = std::async(std::launch::async, [&] { return free0->confirmed_broadcast("through", 10s); });
  REQUIRE(confirmed.wait_for(15s) == std::future_status::ready);
  CHECK(confirmed.get());
  CHECK(other->messages_from(q0.pid()) == std::vector<Term>{"through"});
  // ...while "held" was still blocked (about 256 / 43 bytes' worth went out of 200).
  CHECK(sent.load() < 200);
  // A confirmed broadcast in "held" meanwhile: its timeout counts its wait for room too (SPEC
  // 8.3.2). Before, it waited for room without a deadline, here until the test released it.
  late = std::async(std::launch::async, [&] { return held0->confirmed_broadcast("late", 300ms); });
  REQUIRE(late.wait_for(30s) == std::future_status::ready);
  auto outcome = late.get();
  REQUIRE_FALSE(outcome);
  CHECK(outcome.error() == Errc::timeout);
}

TEST_CASE("multicast: flow control blocks while the bytes held exceed the limit: the message that crosses it goes",
          "[multicast][cluster]") {
  FlowNodes nodes("mc_cross");
  Node* const* n = nodes.n;
  // The member on the second node blocks in its first on_message: nothing is acknowledged.
  auto stuck = std::make_shared<Stuck>();
  auto publisher = std::make_shared<Recorder>();
  auto p0 = n[0]->spawn(), p1 = n[1]->spawn();
  auto m0 = n[0]->multicast("s").join("g", p0, publisher);
  auto m1 = n[1]->multicast("s").join("g", p1, stuck);
  REQUIRE((m0 && m1));
  REQUIRE(eventually([&] { return publisher->members().size() == 2; }));
  std::future<Result<void>> second;  // (before `release`: a failed check below must not wait on it for ever)
  struct Release {
    Stuck& s;
    ~Release() { s.release.set_value(); }
  } release{*stuck};

  // About 200 of the 256 bytes held: under the limit, so the next message goes, though it takes
  // the bytes held past the limit (SPEC 8.3.3: it blocks *while* they exceed it).
  const std::string body(200, 'x');
  REQUIRE(m0->broadcast(body));
  REQUIRE(eventually([&] { return stuck->messages_from(p0.pid()).size() == 1; }));
  second = std::async(std::launch::async, [&] { return m0->broadcast(body); });
  REQUIRE(second.wait_for(10s) == std::future_status::ready);
  CHECK(second.get());
  // Now over it: the next one waits for room, here until its deadline.
  auto third = m0->confirmed_broadcast(body, 300ms);
  REQUIRE_FALSE(third);
  CHECK(third.error() == Errc::timeout);
}

TEST_CASE("multicast: a join fails with node_down while a node of the view is cut off from the joiner's",
          "[multicast][cluster]") {
  MulticastNodes c("mc_jdown");
  auto ra = std::make_shared<Recorder>(), rb = std::make_shared<Recorder>();
  auto pa = c.n[0]->spawn(), pb = c.n[1]->spawn(), pc = c.n[2]->spawn();
  auto ma = c.n[0]->multicast("s").join("g", pa, ra);
  REQUIRE(ma);
  auto mb = c.n[1]->multicast("s").join("g", pb, rb);
  REQUIRE(mb);
  REQUIRE(eventually([&] { return ra->members().size() == 2 && rb->members().size() == 2; }));
  // The third node still reaches the first, not the second: partial connectivity.
  REQUIRE(cut(*c.n[1], *c.n[2]));
  auto rc = std::make_shared<Recorder>();
  REQUIRE(eventually([&] {
    auto attempt = c.n[2]->multicast("s").join("g", pc, rc);
    return !attempt && attempt.error() == Errc::node_down;
  }));
  CHECK(rc->calls().empty());  // a failed join runs no callback
  REQUIRE(heal(*c.n[1], *c.n[2]));
  std::optional<Membership> mc;
  REQUIRE(eventually(
      [&] {
        auto attempt = c.n[2]->multicast("s").join("g", pc, rc);
        if (attempt) mc.emplace(std::move(*attempt));
        return mc.has_value();
      },
      20s));
  REQUIRE(eventually([&] { return ra->members().size() == 3 && rc->members().size() == 3; }));
}

TEST_CASE("multicast: partial connectivity evicts the later-joined of two nodes that cannot reach each other",
          "[multicast][cluster]") {
  ThreeMembers t("mc_partial");
  auto order = t.rec[0]->last_view()->members;  // join order
  REQUIRE(order.size() == 3);
  // The two later members' nodes lose their link; the first member's node reaches both.
  auto node_of = [&](const Pid& pid) -> int {
    for (int i = 0; i < 3; ++i) {
      if (t.pid(i) == pid) return i;
    }
    return -1;
  };
  int earlier = node_of(order[1]), later = node_of(order[2]), first = node_of(order[0]);
  REQUIRE(cut(*t.cluster.n[earlier], *t.cluster.n[later]));
  auto evicted_in = [&](int observer) {
    for (const auto& change : t.rec[observer]->changes()) {
      for (const auto& [pid, why] : change.left) {
        if (pid == t.pid(later) && why == LeaveReason::evicted) return true;
      }
    }
    return false;
  };
  REQUIRE(eventually([&] { return evicted_in(first) && evicted_in(earlier); }, 20s));
  REQUIRE(eventually([&] { return t.rec[later]->left() == LeaveReason::evicted; }, 20s));
  CHECK(t.rec[first]->members() == sorted_pids({t.pid(first), t.pid(earlier)}));
  // Its joins fail with node_down until the link returns.
  auto again = std::make_shared<Recorder>();
  auto p = t.cluster.n[later]->spawn();
  REQUIRE(eventually([&] {
    auto attempt = t.cluster.n[later]->multicast("s").join("g", p, again);
    return !attempt && attempt.error() == Errc::node_down;
  }));
  REQUIRE(heal(*t.cluster.n[earlier], *t.cluster.n[later]));
  std::optional<Membership> back;
  REQUIRE(eventually(
      [&] {
        auto attempt = t.cluster.n[later]->multicast("s").join("g", p, again);
        if (attempt) back.emplace(std::move(*attempt));
        return back.has_value();
      },
      20s));
  REQUIRE(eventually([&] { return t.rec[first]->members().size() == 3; }));
}

TEST_CASE("multicast: a node that stops ends its members with on_left: left when their leave was asked, else node_down",
          "[multicast][cluster]") {
  // SPEC 8.1.2: on_joined, on_view..., then on_left once. A Membership destroyed just before
  // its Node (the usual order of a scope's locals) asked to leave without waiting; the node
  // stopped before that leave's view came, and its on_left never ran.
  Nodes nodes;
  Node& a = nodes.add("mc_stop1", {"s"});
  Node& b = nodes.add("mc_stop2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &b}, Kind::multicast, "s"));
  // Its on_left calls the API, as callbacks may: nothing of it waits for the stopped engine
  // (before the review's fix, leave() here waited for ever and the Node never went).
  struct CallsOnLeft : Recorder {
    std::optional<Membership>* mine = nullptr;
    std::optional<Errc> leave_error, broadcast_error;
    void on_left(LeaveReason reason) override {
      auto left = (*mine)->leave();
      leave_error = left ? std::nullopt : std::optional(left.error());
      auto sent = (*mine)->broadcast("after");
      broadcast_error = sent ? std::nullopt : std::optional(sent.error());
      Recorder::on_left(reason);
    }
  };
  auto stays = std::make_shared<CallsOnLeft>();
  auto leaves = std::make_shared<Recorder>(), other = std::make_shared<Recorder>();
  auto p1 = b.spawn(), p2 = b.spawn(), q = a.spawn();
  auto kept = a.multicast("s").join("g", q, other);
  REQUIRE(kept);
  std::optional<Membership> staying, leaving;
  stays->mine = &staying;
  {
    auto joined = b.multicast("s").join("g", p1, stays);
    REQUIRE(joined);
    staying.emplace(std::move(*joined));
    joined = b.multicast("s").join("g", p2, leaves);
    REQUIRE(joined);
    leaving.emplace(std::move(*joined));
  }
  REQUIRE(eventually([&] { return other->members().size() == 3; }));
  leaving.reset();  // leaves, without waiting
  nodes.stop(1);
  REQUIRE(leaves->left());
  CHECK(*leaves->left() == LeaveReason::left);
  REQUIRE(stays->left());
  CHECK(*stays->left() == LeaveReason::node_down);
  CHECK_FALSE(stays->leave_error);  // asked, and nothing to wait for
  CHECK(stays->broadcast_error == std::optional(Errc::not_in_group));
  for (const std::shared_ptr<Recorder>& r : {std::shared_ptr<Recorder>(stays), leaves}) {
    auto calls = r->calls();
    REQUIRE_FALSE(calls.empty());
    CHECK(calls.front().rfind("joined", 0) == 0);
    CHECK(std::count_if(calls.begin(), calls.end(), [](const std::string& c) { return c.rfind("left", 0) == 0; }) == 1);
    CHECK(calls.back().rfind("left", 0) == 0);
  }
  CHECK_FALSE(staying->active());
  // The other node sees both gone, in one or two views.
  REQUIRE(eventually([&] { return other->members() == std::vector<Pid>{q.pid()}; }));
}
