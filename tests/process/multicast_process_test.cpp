// Guaranteed multicast across OS processes (SPEC 8, MULTICAST.md scenarios): syn-node agents
// join a group, publish while one of them is SIGKILLed or frozen with SIGSTOP; the survivors
// must agree on the view and on what they received of every publisher (per-publisher order,
// no duplicates, the same prefix of the dead node's messages), and a frozen node that comes
// back merges into the group again.
#include "process/multicast_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::scoped;
using namespace syn::test::multicast;
using syn::test::Agent;
using syn::test::eventually;

TEST_CASE("multicast: every member gets every message of every publisher, in order, confirmed means received",
          "[process][multicast]") {
  ThreeAgents t;
  std::vector<std::int64_t> ids;
  for (const auto& m : {t.a, t.b, t.c}) {
    ids.push_back(m.agent->send_request(
        {{"cmd", "multicast_broadcast_many"}, {"scope", kScope}, {"group", "g"}, {"pid", m.pid}, {"count", 300}}));
  }
  std::size_t i = 0;
  for (const auto& m : {t.a, t.b, t.c}) REQUIRE(m.agent->await(ids[i++], 30s)["ok"] == true);
  // A confirmed broadcast after them: once it returns, every member received it, and with it
  // (per publisher order) all 300 before it.
  t.c.agent->ok("multicast_confirmed_broadcast", member_args(t.c, {{"message", {"m", 301}}, {"timeout_ms", 20000}}),
                25s);
  for (const auto& m : {t.a, t.b, t.c}) {
    auto rec = record(m);
    auto from_c = numbers_from(rec, t.c.pid);
    CHECK(from_c.size() == 301);
    CHECK(is_prefix_sequence(from_c));
  }
  REQUIRE(eventually(
      [&] {
        for (const auto& m : {t.a, t.b, t.c}) {
          auto rec = record(m);
          if (numbers_from(rec, t.a.pid).size() < 300 || numbers_from(rec, t.b.pid).size() < 300) return false;
        }
        return true;
      },
      20s));
  for (const auto& m : {t.a, t.b, t.c}) {
    auto rec = record(m);
    for (const auto& from : {t.a.pid, t.b.pid}) {
      auto got = numbers_from(rec, from);
      CHECK(got.size() == 300);
      CHECK(is_prefix_sequence(got));
    }
  }
}

TEST_CASE(
    "multicast: a SIGKILLed node's members leave with node_down, the survivors received the same prefix of "
    "its messages",
    "[process][multicast][sigkill]") {
  ThreeAgents t;
  // gamma publishes a long stream and is killed in the middle of it.
  auto id = t.gamma->send_request(
      {{"cmd", "multicast_broadcast_many"}, {"scope", kScope}, {"group", "g"}, {"pid", t.c.pid}, {"count", 5000}});
  REQUIRE(eventually([&] { return numbers_from(record(t.a), t.c.pid).size() >= 50; }, 20s));
  t.gamma->kill();
  (void)id;
  CHECK(saw_leave(*t.alpha, t.a.pid, t.c.pid, "node_down"));
  CHECK(saw_leave(*t.beta, t.b.pid, t.c.pid, "node_down"));
  auto survivors = pids_of({t.a, t.b});
  REQUIRE(eventually([&] { return view_members(t.a) == survivors && view_members(t.b) == survivors; }, 20s));
  // The same prefix everywhere (SPEC 8.2.5), each message once and in order.
  auto from_c_a = numbers_from(record(t.a), t.c.pid);
  auto from_c_b = numbers_from(record(t.b), t.c.pid);
  CHECK(is_prefix_sequence(from_c_a));
  CHECK(from_c_a == from_c_b);
  CHECK(from_c_a.size() >= 50);
  // The group goes on.
  t.alpha->ok("multicast_confirmed_broadcast", member_args(t.a, {{"message", "after"}, {"timeout_ms", 10000}}), 15s);
  auto got = record(t.b)["received"];
  CHECK(got.back()["message"] == "after");
}

TEST_CASE("multicast: a frozen node is dropped, when it thaws the group is whole again",
          "[process][multicast][sigstop]") {
  ThreeAgents t;
  t.gamma->stop();
  CHECK(saw_leave(*t.alpha, t.a.pid, t.c.pid, "node_down"));
  auto survivors = pids_of({t.a, t.b});
  REQUIRE(eventually([&] { return view_members(t.a) == survivors && view_members(t.b) == survivors; }, 20s));
  t.alpha->ok("multicast_confirmed_broadcast", member_args(t.a, {{"message", "while-frozen"}, {"timeout_ms", 10000}}),
              15s);
  // gamma thaws holding the old view. If it notices its peers' silence first, it goes on alone
  // and the sides merge (SPEC 8.4.3); if it first hears of the newer view without it from
  // nodes it reaches, its member is evicted (SPEC 8.3.4, as gm's removed members learn) and
  // joins again. Either way the group ends whole, and nothing of the split crosses (8.4.2).
  t.gamma->resume();
  auto all = pids_of({t.a, t.b, t.c});
  // One view, the same on all three, with all three members.
  auto whole = [&] {
    auto last = [](const McMember& m) {
      auto views = record(m)["views"];
      return views.empty() ? Term(nullptr) : views.back();
    };
    auto v = last(t.a);
    return view_members(t.a) == all && last(t.b) == v && last(t.c) == v;
  };
  bool settled = eventually([&] { return whole() || record(t.c)["left"] == "evicted"; }, 30s);
  INFO("gamma's member: " << record(t.c).dump());
  INFO("alpha's views: " << record(t.a)["views"].dump());
  REQUIRE(settled);
  auto gamma_record = record(t.c);
  for (const auto& r : gamma_record["received"]) CHECK(r["message"] != "while-frozen");
  gamma_record = record(t.c);
  if (gamma_record["left"] == "evicted") {
    t.gamma->ok("multicast_join", member_args(t.c), 10s);
  } else {
    bool merged = false;
    for (const auto& v : gamma_record["views"]) merged |= v["members"].size() == 3 && v["number"] > 3;
    CHECK(merged);
  }
  REQUIRE(eventually(whole, 20s));
  auto back = t.gamma->call("multicast_confirmed_broadcast",
                            member_args(t.c, {{"message", "back"}, {"timeout_ms", 10000}}), 15s);
  INFO("gamma's member: " << record(t.c).dump());
  INFO("alpha's views: " << record(t.a)["views"].dump());
  REQUIRE(back["ok"] == true);
  CHECK(record(t.a)["received"].back()["message"] == "back");
}

TEST_CASE("multicast: a leave that no view change can take returns after its deadline, the view drops it later",
          "[process][multicast][sigstop]") {
  // peer_timeout far above view_change_timeout: a frozen coordinator stays up long after the
  // leave's deadline (2 x view_change_timeout), and no round can run meanwhile.
  Term options = {{"peer_timeout", 30000}, {"view_change_timeout", 500}};
  ThreeAgents t(options);
  t.alpha->stop();  // alpha's member joined first: alpha coordinates
  auto r = t.gamma->call("multicast_leave", member_args(t.c), 20s);
  INFO(r.dump());
  REQUIRE(r["ok"] == true);
  auto gone = record(t.c);
  CHECK(gone["active"] == false);
  CHECK(gone["left"] == "left");
  // The view still names it until the coordinator thaws and takes its request.
  CHECK(view_members(t.b) == pids_of({t.a, t.b, t.c}));
  t.alpha->resume();
  auto survivors = pids_of({t.a, t.b});
  REQUIRE(eventually([&] { return view_members(t.a) == survivors && view_members(t.b) == survivors; }, 20s));
  CHECK(saw_leave(*t.beta, t.b.pid, t.c.pid, "left"));
  t.beta->ok("multicast_confirmed_broadcast", member_args(t.b, {{"message", "after"}, {"timeout_ms", 10000}}), 15s);
  for (const auto& r : record(t.c)["received"]) CHECK(r["message"] != "after");
}

TEST_CASE(
    "multicast: five nodes, one publishes 10 000 messages, the node in the middle is SIGKILLed: every survivor "
    "gets 1..10000 once, in order",
    "[process][multicast][sigkill]") {
  auto agents = start_agents("n", 5);
  auto members = join_one_each(agents);

  const McMember& publisher = members[0];
  const McMember& middle = members[2];
  auto id = publisher.agent->send_request({{"cmd", "multicast_broadcast_many"},
                                           {"scope", kScope},
                                           {"group", "g"},
                                           {"pid", publisher.pid},
                                           {"count", 10000}});
  REQUIRE(eventually([&] { return numbers_from(record(middle), publisher.pid).size() >= 3000; }, 60s));
  middle.agent->kill();
  REQUIRE(publisher.agent->await(id, 60s)["ok"] == true);
  publisher.agent->ok("multicast_confirmed_broadcast",
                      member_args(publisher, {{"message", {"m", 10001}}, {"timeout_ms", 30000}}), 35s);
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (i == 2) continue;
    auto got = numbers_from(record(members[i]), publisher.pid);
    INFO("member " << i << " got " << got.size());
    CHECK(got.size() == 10001);
    CHECK(is_prefix_sequence(got));
    CHECK(saw_leave(*members[i].agent, members[i].pid, middle.pid, "node_down"));
  }
}

TEST_CASE("multicast: the coordinator's node is SIGKILLed under load: one new coordinator, the stream goes on",
          "[process][multicast][sigkill]") {
  ThreeAgents t;
  // alpha's member joined first: it coordinates. beta publishes while alpha dies.
  REQUIRE(record(t.a)["views"].back()["coordinator"] == t.a.pid);
  auto id = t.beta->send_request(
      {{"cmd", "multicast_broadcast_many"}, {"scope", kScope}, {"group", "g"}, {"pid", t.b.pid}, {"count", 3000}});
  REQUIRE(eventually([&] { return numbers_from(record(t.c), t.b.pid).size() >= 100; }, 20s));
  t.alpha->kill();
  REQUIRE(t.beta->await(id, 30s)["ok"] == true);
  t.beta->ok("multicast_confirmed_broadcast", member_args(t.b, {{"message", {"m", 3001}}, {"timeout_ms", 20000}}), 25s);
  for (const auto& m : {t.b, t.c}) {
    auto rec = record(m);
    auto got = numbers_from(rec, t.b.pid);
    CHECK(got.size() == 3001);
    CHECK(is_prefix_sequence(got));
    // The confirmation may return with the view change that dropped alpha (alpha never
    // acknowledged it), before the member's on_view of that view has run.
    bool next_view = eventually([&] {
      auto views = record(m)["views"];
      return views.back()["coordinator"] == t.b.pid && views.back()["members"].size() == 2;
    });
    INFO("member " << m.pid << ": " << record(m)["views"].dump());
    CHECK(next_view);  // the next member in view order coordinates a view of the two left
  }
}

TEST_CASE("multicast: a member joins in the middle of a stream and a member leaves in the middle of it",
          "[process][multicast]") {
  ThreeAgents t;
  auto d = McMember{t.gamma.get(), t.gamma->spawn()};
  auto id = t.alpha->send_request(
      {{"cmd", "multicast_broadcast_many"}, {"scope", kScope}, {"group", "g"}, {"pid", t.a.pid}, {"count", 4000}});
  REQUIRE(eventually([&] { return numbers_from(record(t.b), t.a.pid).size() >= 200; }, 20s));
  d.agent->ok("multicast_join", member_args(d), 10s);    // joins mid-stream
  t.beta->ok("multicast_leave", member_args(t.b), 10s);  // leaves mid-stream
  REQUIRE(t.alpha->await(id, 30s)["ok"] == true);
  t.alpha->ok("multicast_confirmed_broadcast", member_args(t.a, {{"message", {"m", 4001}}, {"timeout_ms", 20000}}),
              25s);
  // The joiner: a suffix of the stream, without gaps, to the end.
  auto joined = numbers_from(record(d), t.a.pid);
  REQUIRE_FALSE(joined.empty());
  CHECK(joined.back() == 4001);
  for (std::size_t i = 1; i < joined.size(); ++i) CHECK(joined[i] == joined[i - 1] + 1);
  // The leaver: a prefix, then on_left(left).
  auto leaver = record(t.b);
  CHECK(leaver["left"] == "left");
  CHECK(is_prefix_sequence(numbers_from(leaver, t.a.pid)));
  // The others: all of it.
  for (const auto& m : {t.a, t.c}) {
    auto got = numbers_from(record(m), t.a.pid);
    CHECK(got.size() == 4001);
    CHECK(is_prefix_sequence(got));
  }
}

TEST_CASE(
    "multicast: a split 2|3 of five nodes gives two groups that both publish, the heal merges them and "
    "nothing crosses",
    // The agents' disconnects go one by one: the coordinator's own link to s3 may go first,
    // while s4 and s5 still reach it. It keeps s3 until the others report s3 cut too (a split)
    // or view_change_timeout passes (SPEC 8.3.5); evicting s3 at once made this fail about
    // one run in five.
    "[process][multicast][split]") {
  auto agents = start_agents("s", 5, {{"auto_connect", false}});
  auto m = join_one_each(agents);

  // Cut {s1, s2} from {s3, s4, s5}.
  for (int i = 0; i < 2; ++i) {
    for (int j = 2; j < 5; ++j) agents[i]->ok("disconnect", {{"node", agents[j]->name()}});
  }
  auto small = pids_of({m[0], m[1]}), big = pids_of({m[2], m[3], m[4]});
  REQUIRE(eventually(
      [&] {
        return view_members(m[0]) == small && view_members(m[1]) == small && view_members(m[2]) == big &&
               view_members(m[3]) == big && view_members(m[4]) == big;
      },
      30s));
  m[0].agent->ok("multicast_confirmed_broadcast", member_args(m[0], {{"message", "small-side"}, {"timeout_ms", 10000}}),
                 15s);
  m[2].agent->ok("multicast_confirmed_broadcast", member_args(m[2], {{"message", "big-side"}, {"timeout_ms", 10000}}),
                 15s);

  // Heal: one merged view everywhere.
  for (int i = 0; i < 2; ++i) {
    for (int j = 2; j < 5; ++j) agents[i]->ok("connect", {{"endpoint", agents[j]->endpoint()}});
  }
  for (auto& agent : agents) {
    INFO(agent->name() << " sees " << Term(agent->nodes()).dump());
    REQUIRE(eventually([&] { return agent->nodes().size() == 4; }, 20s));
  }
  auto all = pids_of(m);
  bool whole = eventually(
      [&] {
        for (const auto& member : m) {
          if (view_members(member) != all) return false;
        }
        return true;
      },
      90s);  // a merge round may be restarted a few times while the links settle (issue 12's note)
  REQUIRE(whole);
  for (const auto& member : m) {
    // The view change that made the group whole again says merged (SPEC 8.4.3).
    bool merged = saw_merge(member, 5);
    auto rec = record(member);
    INFO("member " << member.pid << ": " << rec.dump());
    CHECK(merged);
    for (const auto& r : rec["received"]) {
      bool small_member = member.pid == m[0].pid || member.pid == m[1].pid;
      CHECK(r["message"] != (small_member ? "big-side" : "small-side"));  // SPEC 8.4.2
    }
  }
  m[4].agent->ok("multicast_confirmed_broadcast", member_args(m[4], {{"message", "whole"}, {"timeout_ms", 10000}}),
                 15s);
  CHECK(record(m[0])["received"].back()["message"] == "whole");
}

TEST_CASE("multicast: syn-node prints a member's callbacks as event lines, its messages when the join asks",
          "[process][multicast]") {
  ThreeAgents t(Term::object(), {{"print_messages", true}});  // gamma's member prints its messages
  for (int i = 1; i <= 3; ++i) t.a.agent->ok("multicast_broadcast", member_args(t.a, {{"message", {"p", i}}}));
  for (int i = 1; i <= 3; ++i) {
    INFO("message " << i);
    auto line = t.gamma->wait_event(
        [&](const Term& e) {
          return e.value("event", "") == "multicast_message" && e.value("pid", "") == t.c.pid &&
                 e["message"] == Term::array({"p", i});
        },
        10s);
    REQUIRE(line);
    CHECK((*line)["from"] == t.a.pid);
    CHECK((*line)["scope"] == kScope);
    CHECK_FALSE((*line)["view"].get<std::string>().empty());
  }
  // alpha's member did not ask: its messages are recorded, not printed; its views are printed.
  REQUIRE(eventually([&] { return numbers_from(record(t.a), t.a.pid).size() == 3; }, 10s));
  CHECK_FALSE(t.alpha->wait_event([](const Term& e) { return e.value("event", "") == "multicast_message"; }, 200ms));
  CHECK(t.alpha->wait_event([&](const Term& e) { return e.value("event", "") == "multicast_joined"; }, 1s));
  // Its leave is an event line too, with the reason.
  t.b.agent->ok("multicast_leave", member_args(t.b), 10s);
  auto left = t.beta->wait_event([](const Term& e) { return e.value("event", "") == "multicast_left"; }, 10s);
  REQUIRE(left);
  CHECK((*left)["reason"] == "left");
  CHECK((*left)["pid"] == t.b.pid);
}
