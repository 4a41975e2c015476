// What OTP pg users expect (SPEC 4, "From OTP pg"): counted joins and leaves, and mailbox
// subscriptions whose events arrive as messages among the subscriber's others.
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

/// The callbacks about `group` that `rec` saw.
std::size_t callbacks_about(const Recorder& rec, const std::string& group) {
  std::size_t n = 0;
  for (const auto& e : rec.events()) n += e.find("\"" + group + "\"") != std::string::npos;
  return n;
}

/// Every message waiting in `p`'s mailbox, in order.
std::vector<Message> drain(Process& p) {
  std::vector<Message> out;
  while (auto m = p.try_receive()) out.push_back(std::move(*m));
  return out;
}

/// Receives until `n` messages arrived (or 10 s passed).
std::vector<Message> receive_n(Process& p, std::size_t n) {
  std::vector<Message> out;
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (out.size() < n && std::chrono::steady_clock::now() < deadline) {
    if (auto m = p.receive(100ms)) out.push_back(std::move(*m));
  }
  return out;
}

}  // namespace

TEST_CASE("groups: counted joins from two nodes need as many counted leaves, only the first and last replicate",
          "[groups][pg][counted]") {
  RecordedThree t("gcnt");
  Node& a = *t.n[0];
  auto ga = t.g(0), gb = t.g(1), gc = t.g(2);
  auto pa = a.spawn();
  const Reason normal = Reason::normal();

  // The first counted join makes the membership, with its meta, everywhere.
  auto first = ga.join_counted("pool", pa.pid(), "m1");
  REQUIRE(first);
  CHECK(*first == 1);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return t.g(i).member("pool", pa.pid()) == Member{pa.pid(), "m1"}; }));
  }
  // Concurrent counted joins from a (local) and b (remote): every one counts, none replicates.
  constexpr int kPerCaller = 25;
  std::atomic<int> failures{0};
  std::thread remote([&] {
    for (int i = 0; i < kPerCaller; ++i) failures += !gb.join_counted("pool", pa.pid(), "other").has_value();
  });
  for (int i = 0; i < kPerCaller; ++i) failures += !ga.join_counted("pool", pa.pid()).has_value();
  remote.join();
  CHECK(failures == 0);
  // The next counted join says how many there were; the meta stayed the first one's.
  auto count = gc.join_counted("pool", pa.pid());
  REQUIRE(count);
  CHECK(*count == 2 + 2 * kPerCaller);
  for (int i = 0; i < 3; ++i) {
    CHECK(t.g(i).members("pool") == std::vector<Member>{{pa.pid(), "m1"}});
    INFO("node " << i);
    CHECK(callbacks_about(*t.rec[i], "pool") == 1);
  }
  // Counted leaves from both nodes, concurrently: the member stays until the last one.
  std::size_t joins = *count;
  std::thread remote_leaves([&] {
    for (int i = 0; i < kPerCaller; ++i) failures += !gb.leave_counted("pool", pa.pid()).has_value();
  });
  for (std::size_t i = 0; i < joins - 2 - kPerCaller; ++i) {
    failures += !ga.leave_counted("pool", pa.pid()).has_value();
  }
  remote_leaves.join();
  CHECK(failures == 0);
  CHECK(ga.is_member("pool", pa.pid()));
  auto one_left = gc.leave_counted("pool", pa.pid());
  REQUIRE(one_left);
  CHECK(*one_left == 1);
  CHECK(stays([&] { return gb.is_member("pool", pa.pid()) && gc.is_member("pool", pa.pid()); }, 200ms));
  // The last one: the member leaves everywhere, one leave callback per node.
  auto last = gb.leave_counted("pool", pa.pid());
  REQUIRE(last);
  CHECK(*last == 0);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return !t.g(i).is_member("pool", pa.pid()); }));
    REQUIRE(eventually([&] { return callbacks_about(*t.rec[i], "pool") == 2; }));
    CHECK(t.rec[i]->events().back() == ev_left("s", "pool", pa.pid(), "m1", normal));
  }
  // One more counted leave: not a member any more.
  CHECK(gb.leave_counted("pool", pa.pid()).error() == Errc::not_in_group);
  CHECK(ga.leave_counted("pool", pa.pid()).error() == Errc::not_in_group);
}

TEST_CASE("groups: a plain leave ends a counted membership, a plain join counts one, a new membership starts at 1",
          "[groups][pg][counted]") {
  RecordedThree t("gcntp");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gb = t.g(1);
  auto pa = a.spawn();
  auto pb = b.spawn();
  for (int i = 0; i < 3; ++i) REQUIRE(*ga.join_counted("g", pb.pid()) == static_cast<std::size_t>(i + 1));
  // A plain leave, whatever the count.
  REQUIRE(ga.leave("g", pb.pid()));
  REQUIRE(eventually([&] { return !gb.is_member("g", pb.pid()); }));
  // Joining again starts from 1: the old count did not survive the membership.
  CHECK(*ga.join_counted("g", pb.pid()) == 1);
  CHECK(*ga.leave_counted("g", pb.pid()) == 0);
  // A plain join counts 1; a counted join on top makes 2.
  REQUIRE(gb.join("h", pa.pid(), "plain"));
  CHECK(*gb.join_counted("h", pa.pid()) == 2);
  CHECK(*gb.leave_counted("h", pa.pid()) == 1);
  CHECK(ga.is_member("h", pa.pid()));
  CHECK(*ga.leave_counted("h", pa.pid()) == 0);
  REQUIRE(eventually([&] { return !gb.is_member("h", pa.pid()); }));
  // A counted member that dies leaves like any member; joining its pid again: not_alive.
  CHECK(*gb.join_counted("k", pa.pid()) == 1);
  CHECK(*gb.join_counted("k", pa.pid()) == 2);
  pa.exit("gone");
  REQUIRE(eventually([&] { return !gb.is_member("k", pa.pid()) && !ga.is_member("k", pa.pid()); }));
  CHECK(gb.join_counted("k", pa.pid()).error() == Errc::not_alive);
  CHECK(gb.leave_counted("k", pa.pid()).error() == Errc::not_in_group);
  // Bad arguments as join: a term over max_term_bytes.
  CHECK(ga.join_counted(std::string(2 << 20, 'x'), pb.pid()).error() == Errc::bad_argument);
}

TEST_CASE("groups: counted join in strict mode only for the calling process itself", "[groups][pg][counted]") {
  RecordedThree t("gcnts", true);
  Node& a = *t.n[0];
  auto ga = t.g(0);
  auto pa = a.spawn();
  CHECK(ga.join_counted("g", pa.pid()).error() == Errc::not_self);
  CHECK(*ga.join_counted("g", pa) == 1);
  CHECK(*ga.join_counted("g", pa) == 2);
  CHECK(*ga.leave_counted("g", pa.pid()) == 1);
}

TEST_CASE("groups: a mailbox subscription's events arrive in order among the subscriber's other messages",
          "[groups][pg][mailbox]") {
  RecordedThree t("gmbox");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gb = t.g(1);
  auto pb = b.spawn();
  REQUIRE(gb.join("room", pb.pid(), "early"));
  REQUIRE(eventually([&] { return ga.is_member("room", pb.pid()); }));

  auto subscriber = a.spawn();
  std::vector<Member> current;
  Subscription sub = ga.monitor("room", subscriber, &current);
  CHECK(sub.active());
  CHECK(current == std::vector<Member>{{pb.pid(), "early"}});

  // Interleave: a plain message, a join, a plain message, an update, a leave. The subscriber
  // sends the plain messages to itself after each write returned on a (whose callbacks, and
  // so the subscription's events, ran before the write returned).
  auto pa = a.spawn();
  a.send(subscriber.pid(), "m0");
  REQUIRE(ga.join("room", pa.pid(), "x"));
  a.send(subscriber.pid(), "m1");
  REQUIRE(ga.join("room", pa.pid(), "y"));
  REQUIRE(ga.leave("room", pa.pid()));
  a.send(subscriber.pid(), "m2");
  auto got = receive_n(subscriber, 6);
  REQUIRE(got.size() == 6);
  CHECK(got[0].body == "m0");
  CHECK(got[0].group_event() == nullptr);
  REQUIRE(got[1].group_event() != nullptr);
  CHECK(got[1].group_event()->type == GroupEvent::Type::join);
  CHECK(got[1].group_event()->group == "room");
  CHECK(got[1].group_event()->members == std::vector<Member>{{pa.pid(), "x"}});
  CHECK(got[1].body.is_null());
  CHECK(got[2].body == "m1");
  REQUIRE(got[3].group_event() != nullptr);
  CHECK(got[3].group_event()->type == GroupEvent::Type::update);
  CHECK(got[3].group_event()->members == std::vector<Member>{{pa.pid(), "y"}});
  REQUIRE(got[4].group_event() != nullptr);
  CHECK(got[4].group_event()->type == GroupEvent::Type::leave);
  CHECK(got[5].body == "m2");
  // A change made on another node arrives too.
  REQUIRE(gb.leave("room", pb.pid()));
  auto remote = receive_n(subscriber, 1);
  REQUIRE(remote.size() == 1);
  REQUIRE(remote[0].group_event() != nullptr);
  CHECK(remote[0].group_event()->type == GroupEvent::Type::leave);
  CHECK(remote[0].group_event()->members == std::vector<Member>{{pb.pid(), "early"}});
  // Other groups do not.
  REQUIRE(ga.join("elsewhere", pa.pid()));
  CHECK(stays([&] { return subscriber.pending() == 0; }, 200ms));
}

TEST_CASE("groups: cancelling a mailbox subscription takes back its queued events and keeps the others",
          "[groups][pg][mailbox]") {
  RecordedThree t("gmboxc");
  Node& a = *t.n[0];
  auto ga = t.g(0);
  auto subscriber = a.spawn();
  auto member = a.spawn();
  std::map<Term, std::vector<Member>> current;
  Subscription sub = ga.monitor_scope(subscriber, &current);
  CHECK(current.empty());
  a.send(subscriber.pid(), "before");
  REQUIRE(ga.join("g1", member.pid()));
  REQUIRE(ga.join("g2", member.pid()));
  a.send(subscriber.pid(), "after");
  REQUIRE(eventually([&] { return subscriber.pending() == 4; }));
  sub.cancel();
  CHECK_FALSE(sub.active());
  auto left = drain(subscriber);
  REQUIRE(left.size() == 2);
  CHECK(left[0].body == "before");
  CHECK(left[1].body == "after");
  // Nothing more after the cancel.
  REQUIRE(ga.leave("g1", member.pid()));
  CHECK(stays([&] { return subscriber.pending() == 0; }, 200ms));
}

TEST_CASE(
    "groups: a mailbox subscription ends when its subscriber dies, a member-and-subscriber's death disturbs "
    "neither side",
    "[groups][pg][mailbox]") {
  RecordedThree t("gmboxd");
  Node &a = *t.n[0], &b = *t.n[1];
  auto ga = t.g(0), gb = t.g(1);
  auto other = a.spawn();
  auto watcher = a.spawn();  // a plain subscriber that lives on
  Subscription watch = ga.monitor("room", watcher);
  {
    // Subscribes, and is a member of the group it watches.
    auto both = a.spawn();
    Pid both_pid = both.pid();
    Subscription sub = ga.monitor("room", both);
    REQUIRE(ga.join("room", both_pid, "both"));
    REQUIRE(ga.join("room", other.pid(), "other"));
    REQUIRE(eventually([&] { return gb.member_pids("room").size() == 2; }));
    REQUIRE(eventually([&] { return watcher.pending() == 2; }));
    both.exit("crash");
    // Its subscription ended; its membership went with reason process_exit, everywhere.
    REQUIRE(eventually([&] { return !sub.active(); }));
    for (int i = 0; i < 3; ++i) {
      REQUIRE(eventually([&] { return t.g(i).member_pids("room") == std::vector<Pid>{other.pid()}; }));
    }
    // The other subscriber saw the leave; the other member stayed.
    auto got = receive_n(watcher, 3);
    REQUIRE(got.size() == 3);
    REQUIRE(got[2].group_event() != nullptr);
    CHECK(got[2].group_event()->type == GroupEvent::Type::leave);
    CHECK(got[2].group_event()->members == std::vector<Member>{{both_pid, "both"}});
    // Destroying the handle of an ended subscription is harmless.
  }
  // Later changes still reach the live subscriber, not the dead one.
  auto pb = b.spawn();
  REQUIRE(gb.join("room", pb.pid()));
  auto next = receive_n(watcher, 1);
  REQUIRE(next.size() == 1);
  CHECK(next[0].group_event()->members.front().pid == pb.pid());
  // A dead subscriber: the subscription is over at once, current still filled.
  auto dead = a.spawn();
  dead.exit("bye");
  std::vector<Member> current;
  Subscription late = ga.monitor("room", dead, &current);
  CHECK_FALSE(late.active());
  CHECK(current.size() == 2);
}

namespace {

/// Every subscription event one node saw, thread-safe.
struct EventLog {
  std::mutex mutex;
  std::vector<GroupEvent> events;
  std::function<void(const GroupEvent&)> sink() {
    return [this](const GroupEvent& e) {
      std::lock_guard lock(mutex);
      events.push_back(e);
    };
  }
  std::vector<GroupEvent> take() {
    std::lock_guard lock(mutex);
    return std::exchange(events, {});
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return events.size();
  }
};

/// The members of an event, sorted.
std::vector<Pid> pids_of(const GroupEvent& e) {
  std::vector<Pid> out;
  for (const auto& m : e.members) out.push_back(m.pid);
  std::sort(out.begin(), out.end());
  return out;
}

/// Waits until `log` holds `n` events, then checks that no more come for a short while.
std::vector<GroupEvent> exactly_n(EventLog& log, std::size_t n) {
  REQUIRE(eventually([&] { return log.size() >= n; }));
  CHECK(stays([&] { return log.size() == n; }, 200ms));
  return log.take();
}

}  // namespace

TEST_CASE("groups: a list write is one event per node on every node, a node down and a snapshot one per group",
          "[groups][pg][batched]") {
  RecordedThree t("gbatch");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  EventLog logs[3];
  std::vector<Subscription> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(t.g(i).monitor_scope(logs[i].sink()));
  auto pa1 = a.spawn(), pa2 = a.spawn(), pa3 = a.spawn();
  auto pb1 = b.spawn(), pb2 = b.spawn();
  std::vector<Pid> on_a = {pa1.pid(), pa2.pid(), pa3.pid()};
  std::vector<Pid> on_b = {pb1.pid(), pb2.pid()};
  std::sort(on_a.begin(), on_a.end());
  std::sort(on_b.begin(), on_b.end());

  // From c, pids of a and b interleaved: one join event per node, on every node.
  auto joined = t.g(2).join("pool", {pb1.pid(), pa1.pid(), pa2.pid(), pb2.pid(), pa3.pid()}, "w");
  for (const auto& r : joined) CHECK(r);
  for (int i = 0; i < 3; ++i) {
    INFO("node " << i);
    auto events = exactly_n(logs[i], 2);
    std::set<std::vector<Pid>> lists;
    for (const auto& e : events) {
      CHECK(e.type == GroupEvent::Type::join);
      CHECK(e.group == "pool");
      lists.insert(pids_of(e));
    }
    CHECK(lists == std::set<std::vector<Pid>>{on_a, on_b});
    // The callbacks stay one per member.
    CHECK(callbacks_about(*t.rec[i], "pool") == 5);
  }
  // A list leave from a: again one event per node.
  auto left = t.g(0).leave("pool", {pa1.pid(), pb2.pid(), pa2.pid()});
  for (const auto& r : left) CHECK(r);
  for (int i = 0; i < 3; ++i) {
    INFO("node " << i);
    auto events = exactly_n(logs[i], 2);
    std::set<std::vector<Pid>> lists;
    for (const auto& e : events) {
      CHECK(e.type == GroupEvent::Type::leave);
      lists.insert(pids_of(e));
    }
    CHECK(lists ==
          (std::set<std::vector<Pid>>{{std::min(pa1.pid(), pa2.pid()), std::max(pa1.pid(), pa2.pid())}, {pb2.pid()}}));
  }
  // b's members in two groups; b goes down for a and c: one leave event per group there.
  for (const auto& r : t.g(1).join("pool", on_b, "w")) REQUIRE(r);  // pb1 is in already: no change
  for (const auto& r : t.g(1).join("other", on_b)) REQUIRE(r);
  for (int i = 0; i < 3; ++i) exactly_n(logs[i], 2);
  REQUIRE(test::cut(a, b));
  REQUIRE(test::cut(c, b));
  for (int i : {0, 2}) {
    INFO("node " << i);
    auto events = exactly_n(logs[i], 2);
    for (const auto& e : events) {
      CHECK(e.type == GroupEvent::Type::leave);
      CHECK(pids_of(e) == on_b);
    }
  }
  // Healed: b's snapshot is one join event per group.
  REQUIRE(test::heal(a, b));
  auto events = exactly_n(logs[0], 2);
  for (const auto& e : events) {
    CHECK(e.type == GroupEvent::Type::join);
    CHECK(pids_of(e) == on_b);
  }
}

TEST_CASE("groups: a list join of new members and meta updates is two events on every node, joins then updates",
          "[groups][pg][batched]") {
  RecordedThree t("gmixed");
  Node& a = *t.n[0];
  EventLog logs[3];
  std::vector<Subscription> subs;
  for (int i = 0; i < 3; ++i) subs.push_back(t.g(i).monitor_scope(logs[i].sink()));
  auto old1 = a.spawn(), old2 = a.spawn(), new1 = a.spawn(), new2 = a.spawn();
  for (const auto& r : t.g(0).join("pool", {old1.pid(), old2.pid()}, "v1")) REQUIRE(r);
  for (int i = 0; i < 3; ++i) exactly_n(logs[i], 1);

  // New members and members whose meta changes, interleaved in one list.
  for (const auto& r : t.g(0).join("pool", {new1.pid(), old1.pid(), new2.pid(), old2.pid()}, "v2")) CHECK(r);
  std::vector<Pid> added = {new1.pid(), new2.pid()};
  std::vector<Pid> changed = {old1.pid(), old2.pid()};
  std::sort(added.begin(), added.end());
  std::sort(changed.begin(), changed.end());
  for (int i = 0; i < 3; ++i) {
    INFO("node " << i);
    auto events = exactly_n(logs[i], 2);
    CHECK(events[0].type == GroupEvent::Type::join);
    CHECK(pids_of(events[0]) == added);
    CHECK(events[1].type == GroupEvent::Type::update);
    CHECK(pids_of(events[1]) == changed);
    for (const auto& e : events) {
      for (const auto& m : e.members) CHECK(m.meta == "v2");
    }
  }
}
