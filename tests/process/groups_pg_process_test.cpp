// What OTP pg users expect, across OS processes (SPEC 4): counted joins from two syn-node
// agents at once, mailbox subscriptions whose events arrive among ordinary messages, a
// subscriber that dies and a member-and-subscriber that dies, and an agent that leaves a scope
// and adds it again, again and again, while the others keep reading.
#include "process/scope_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <set>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::scoped;
using syn::test::Agent;
using syn::test::eventually;

namespace {

Term args_of(const std::string& scope, const Term& group, const std::string& pid) {
  return {{"scope", scope}, {"group", group}, {"pid", pid}};
}

/// The next message of an agent's process (null message on timeout).
Term receive(Agent& agent, const std::string& pid) {
  return agent.ok("receive", {{"pid", pid}, {"timeout_ms", 3000}}, 5s);
}

}  // namespace

TEST_CASE("groups: counted joins from two agents at once need as many counted leaves, one callback each way",
          "[process][groups][pg]") {
  const std::string scope = "pg";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  auto worker = alpha->spawn();
  CHECK(alpha->ok("join_counted", args_of(scope, "pool", worker))["count"] == 1);
  // Both agents pipeline their counted joins: their calls interleave at alpha.
  constexpr int kEach = 30;
  std::vector<std::pair<Agent*, std::int64_t>> pending;
  for (int i = 0; i < kEach; ++i) {
    for (Agent* caller : {alpha.get(), beta.get()}) {
      auto request = args_of(scope, "pool", worker);
      request["cmd"] = "join_counted";
      request["self"] = false;
      pending.emplace_back(caller, caller->send_request(request));
    }
  }
  for (auto& [caller, id] : pending) REQUIRE(caller->await(id, 10s)["ok"] == true);
  CHECK(gamma->ok("join_counted", args_of(scope, "pool", worker))["count"] == 2 + 2 * kEach);
  const auto joined = callback("joined", scope, "pool", worker, nullptr, normal());
  REQUIRE(eventually([&] { return recorder->seen() == std::vector<std::string>{joined}; }));
  // The counted leaves, from beta and gamma at once: the member stays until the last.
  pending.clear();
  for (int i = 0; i < kEach; ++i) {
    for (Agent* caller : {beta.get(), gamma.get()}) {
      auto request = args_of(scope, "pool", worker);
      request["cmd"] = "leave_counted";
      pending.emplace_back(caller, caller->send_request(request));
    }
  }
  for (auto& [caller, id] : pending) REQUIRE(caller->await(id, 10s)["ok"] == true);
  CHECK(gamma->ok("leave_counted", args_of(scope, "pool", worker))["count"] == 1);
  CHECK(alpha->ok("member_count", {{"scope", scope}, {"group", "pool"}})["count"] == 1);
  CHECK(recorder->seen().size() == 1);
  CHECK(beta->ok("leave_counted", args_of(scope, "pool", worker))["count"] == 0);
  const auto left = callback("left", scope, "pool", worker, nullptr, normal());
  REQUIRE(eventually([&] { return recorder->seen() == std::vector<std::string>{joined, left}; }));
  for (auto* agent : all.agents) {
    REQUIRE(eventually([&] { return agent->ok("member_count", {{"scope", scope}, {"group", "pool"}})["count"] == 0; }));
  }
  auto again = beta->call("leave_counted", args_of(scope, "pool", worker));
  CHECK(again["code"] == "not_in_group");
}

TEST_CASE("groups: a list join from one agent is one event per node on every agent's subscription",
          "[process][groups][pg]") {
  const std::string scope = "pglist";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  std::vector<Term> subs;
  for (auto* agent : all.agents) subs.push_back(agent->ok("subscribe", {{"scope", scope}, {"group", "pool"}})["sub"]);
  std::vector<GroupEvent> seen_by_observer;
  std::mutex observer_mutex;
  Subscription observer_sub = observer->groups(scope).monitor("pool", [&](const GroupEvent& e) {
    std::lock_guard lock(observer_mutex);
    seen_by_observer.push_back(e);
  });
  auto a1 = alpha->spawn(), a2 = alpha->spawn(), b1 = beta->spawn(), b2 = beta->spawn(), b3 = beta->spawn();
  auto dead = gamma->spawn();
  gamma->ok("exit", {{"pid", dead}});
  auto answer = gamma->ok("join_list",
                          {{"scope", scope}, {"group", "pool"}, {"pids", {b1, a1, dead, b2, a2, b3}}, {"meta", "w"}});
  CHECK(answer["results"] == Term{nullptr, nullptr, "not_alive", nullptr, nullptr, nullptr});
  auto sorted_pids = [](const Term& members) {
    std::vector<std::string> out;
    for (const auto& m : members) out.push_back(m["pid"].get<std::string>());
    std::sort(out.begin(), out.end());
    return out;
  };
  std::set<std::vector<std::string>> want = {sorted_pids(Term{{{"pid", a1}}, {{"pid", a2}}}),
                                             sorted_pids(Term{{{"pid", b1}}, {{"pid", b2}}, {{"pid", b3}}})};
  for (std::size_t i = 0; i < all.agents.size(); ++i) {
    Agent& agent = *all.agents[i];
    INFO(agent.name());
    std::set<std::vector<std::string>> got;
    for (int k = 0; k < 2; ++k) {
      auto event = agent.wait_event([&](const Term& e) { return e.value("event", "") == "group_event"; });
      REQUIRE(event);
      CHECK((*event)["type"] == "join");
      CHECK((*event)["sub"] == subs[i]);
      got.insert(sorted_pids((*event)["members"]));
    }
    CHECK(got == want);
    CHECK_FALSE(agent.wait_event([&](const Term& e) { return e.value("event", "") == "group_event"; }, 200ms));
  }
  REQUIRE(eventually([&] {
    std::lock_guard lock(observer_mutex);
    return seen_by_observer.size() == 2;
  }));
  // A list leave from alpha of pids of both nodes: again one event per node.
  auto left = alpha->ok("leave_list", {{"scope", scope}, {"group", "pool"}, {"pids", {a1, b1, b1}}});
  CHECK(left["results"] == Term{nullptr, nullptr, "not_in_group"});
  for (auto* agent : all.agents) {
    for (int k = 0; k < 2; ++k) {
      auto event = agent->wait_event([&](const Term& e) { return e.value("event", "") == "group_event"; });
      REQUIRE(event);
      CHECK((*event)["type"] == "leave");
      CHECK((*event)["members"].size() == 1);
    }
  }
  for (auto* agent : all.agents) {
    REQUIRE(eventually([&] { return agent->ok("member_count", {{"scope", scope}, {"group", "pool"}})["count"] == 3; }));
  }
}

TEST_CASE("groups: mailbox subscriptions across agents, in order among messages, ended by the subscriber's death",
          "[process][groups][pg]") {
  const std::string scope = "pgbox";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  auto subscriber = alpha->spawn();
  auto sub = alpha->ok("subscribe", {{"scope", scope}, {"group", "room"}, {"pid", subscriber}});
  CHECK(sub["current"] == Term::array());
  // Joins on alpha return after alpha's subscription events were queued: each message sent
  // right after lands behind the event.
  auto member = alpha->spawn();
  alpha->ok("send", {{"to", subscriber}, {"message", "m0"}});
  alpha->ok("join", {{"scope", scope}, {"group", "room"}, {"pid", member}, {"meta", "x"}});
  alpha->ok("send", {{"to", subscriber}, {"message", "m1"}});
  alpha->ok("leave", args_of(scope, "room", member));
  alpha->ok("send", {{"to", subscriber}, {"message", "m2"}});
  std::vector<Term> got;
  for (int i = 0; i < 5; ++i) got.push_back(receive(*alpha, subscriber));
  CHECK(got[0]["message"] == "m0");
  CHECK(got[1]["group_event"] ==
        Term{{"type", "join"}, {"group", "room"}, {"members", {{{"pid", member}, {"meta", "x"}}}}});
  CHECK(got[2]["message"] == "m1");
  CHECK(got[3]["group_event"]["type"] == "leave");
  CHECK(got[4]["message"] == "m2");
  // A member joined on another agent reaches the subscriber too.
  auto remote = gamma->spawn();
  gamma->ok("join", args_of(scope, "room", remote));
  auto from_gamma = receive(*alpha, subscriber);
  REQUIRE(from_gamma.contains("group_event"));
  CHECK(from_gamma["group_event"]["members"][0]["pid"] == remote);

  // A member-and-subscriber on beta dies: its subscription ends, its membership leaves once,
  // the other subscriber and the other member are untouched.
  auto both = beta->spawn();
  // (gamma's join reaches beta's replica in its own time: the subscription's current list is
  // beta's.)
  REQUIRE(eventually([&] {
    return beta->ok("members", {{"scope", scope}, {"group", "room"}})["members"].size() == 1;
  }));
  auto both_sub = beta->ok("subscribe", {{"scope", scope}, {"group", "room"}, {"pid", both}});
  CHECK(both_sub["current"].size() == 1);
  beta->ok("join", args_of(scope, "room", both));
  auto seen_join = receive(*alpha, subscriber);
  CHECK(seen_join["group_event"]["type"] == "join");
  beta->ok("exit", {{"pid", both}, {"reason", "crash"}});
  REQUIRE(eventually([&] { return beta->ok("subscription_active", {{"sub", both_sub["sub"]}})["active"] == false; }));
  auto seen_leave = receive(*alpha, subscriber);
  CHECK(seen_leave["group_event"] ==
        Term{{"type", "leave"}, {"group", "room"}, {"members", {{{"pid", both}, {"meta", nullptr}}}}});
  for (auto* agent : all.agents) {
    REQUIRE(eventually([&] {
      return agent->ok("members", {{"scope", scope}, {"group", "room"}})["members"] ==
             Term{{{"pid", remote}, {"meta", nullptr}}};
    }));
  }
  const auto left = callback("left", scope, "room", both, nullptr, process_exit("crash"));
  REQUIRE(eventually([&] {
    auto seen = recorder->seen();
    return std::count(seen.begin(), seen.end(), left) == 1;
  }));
  // The subscriber itself dies: its subscription ends; the group goes on.
  alpha->ok("exit", {{"pid", subscriber}, {"reason", "done"}});
  REQUIRE(eventually([&] { return alpha->ok("subscription_active", {{"sub", sub["sub"]}})["active"] == false; }));
  gamma->ok("leave", args_of(scope, "room", remote));
  for (auto* agent : all.agents) {
    REQUIRE(eventually([&] { return agent->ok("group_count", {{"scope", scope}})["count"] == 0; }));
  }
}

TEST_CASE("scopes: an agent leaves a scope and adds it again, again and again, while the others keep reading",
          "[process][scopes][remove]") {
  const std::string scope = "pgscope";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  auto owner = alpha->spawn();
  auto reader_pid = beta->spawn();
  beta->ok("register", {{"scope", scope}, {"name", "beta-fixed"}, {"pid", reader_pid}});
  for (int round = 0; round < 5; ++round) {
    INFO("round " << round);
    alpha->ok("register", {{"scope", scope}, {"name", "alpha-name"}, {"pid", owner}});
    alpha->ok("join", args_of(scope, "alpha-group", owner));
    REQUIRE(eventually([&] {
      return gamma->ok("whereis", {{"scope", scope}, {"name", "alpha-name"}})["pid"] == owner;
    }));
    // Beta and gamma read while alpha leaves: every read answers.
    auto leaving = alpha->send_request({{"cmd", "remove_scopes"}, {"scopes", {scope}}});
    for (int i = 0; i < 20; ++i) {
      CHECK(beta->ok("whereis", {{"scope", scope}, {"name", "beta-fixed"}})["pid"] == reader_pid);
      (void)gamma->ok("members", {{"scope", scope}, {"group", "alpha-group"}});
    }
    REQUIRE(alpha->await(leaving, 10s)["ok"] == true);
    CHECK(alpha->call("whereis", {{"scope", scope}, {"name", "beta-fixed"}})["code"] == "invalid_scope");
    for (Agent* peer : {beta.get(), gamma.get()}) {
      REQUIRE(eventually([&] {
        return peer->ok("whereis", {{"scope", scope}, {"name", "alpha-name"}})["pid"].is_null() &&
               peer->ok("member_count", {{"scope", scope}, {"group", "alpha-group"}})["count"] == 0;
      }));
    }
    alpha->ok("add_scopes", {{"scopes", {scope}}});
    REQUIRE(eventually([&] {
      auto found = alpha->call("whereis", {{"scope", scope}, {"name", "beta-fixed"}});
      return found["ok"] == true && found["pid"] == reader_pid;
    }));
    // Every node counts alpha in the scope again before the next round: a node that did not
    // yet would ignore alpha's next writes, and its not_here (which it purges only from a
    // member).
    REQUIRE_SCOPE_MESH(all, scope);
  }
  // The observer saw alpha's entries go each round with remote_scope_node_down(alpha).
  const auto purged = callback("unregistered", scope, "alpha-name", owner, nullptr, node_down("alpha"));
  bool five = eventually([&] {
    auto seen = recorder->seen();
    return std::count(seen.begin(), seen.end(), purged) == 5;
  });
  for (const auto& line : recorder->seen()) {
    if (line.find("alpha-name") != std::string::npos) UNSCOPED_INFO(line);
  }
  REQUIRE(five);
}
