// Groups across OS processes: members joined from several syn-node agents, counts and names
// per node, publish with exact deliveries (served processes record what they get), multi_call
// with a member that never answers and one that dies, and a SIGKILLed agent whose members are
// purged everywhere, as the in-test observer's subscriptions see.
#include "process/scope_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <map>
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

// A member as the tests know it: the agent that owns its process (null: the observer's).
struct Joined {
  Agent* owner;
  std::string pid;
  Term meta;
};

Term member_list(std::vector<Joined> members) {
  std::sort(members.begin(), members.end(),
            [](const Joined& a, const Joined& b) { return *Pid::parse(a.pid) < *Pid::parse(b.pid); });
  Term out = Term::array();
  for (const auto& m : members) out.push_back({{"pid", m.pid}, {"meta", m.meta}});
  return out;
}

Term join_args(const std::string& scope, const Term& group, const Joined& m) {
  return {{"scope", scope}, {"group", group}, {"pid", m.pid}, {"meta", m.meta}};
}

std::string joined(const std::string& scope, const Term& group, const Joined& m, const Term& reason) {
  return callback("joined", scope, group, m.pid, m.meta, reason);
}
std::string left(const std::string& scope, const Term& group, const Joined& m, const Term& reason) {
  return callback("left", scope, group, m.pid, m.meta, reason);
}

// What a served process got so far.
Term served(Agent& agent, const std::string& pid) { return agent.ok("served", {{"pid", pid}}); }
bool got(Agent& agent, const std::string& pid, const Term& message) {
  auto messages = served(agent, pid)["messages"];
  return std::find(messages.begin(), messages.end(), message) != messages.end();
}

std::vector<std::string> sorted_strings(const Term& list) {
  std::vector<std::string> out;
  for (const auto& item : list) out.push_back(item.get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE(
    "groups: members joined from several agents, counts and names per node, publish with exact "
    "deliveries",
    "[process][groups][publish]") {
  const std::string scope = "rooms";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  Joined a1{alpha.get(), alpha->spawn(), {{"nick", "a1"}}};
  Joined a2{alpha.get(), alpha->spawn(), {{"nick", "a2"}}};
  Joined b1{beta.get(), beta->spawn(), {{"nick", "b1"}}};
  Joined b2{beta.get(), beta->spawn(), "b2 in games"};
  Joined g1{gamma.get(), gamma->spawn(), nullptr};
  auto local = observer->spawn();
  Joined o1{nullptr, local.pid().to_string(), "o1"};
  for (auto* m : {&a1, &a2, &b1, &b2, &g1}) m->owner->ok("serve", {{"pid", m->pid}});

  std::vector<std::string> expected;
  auto join = [&](Agent& from, const Term& group, const Joined& m) {
    from.ok("join", join_args(scope, group, m));
    expected.push_back(joined(scope, group, m, normal()));
  };
  join(*alpha, "lobby", a1);
  join(*alpha, "lobby", a2);
  join(*beta, "lobby", b1);
  join(*beta, "games", b1);
  join(*gamma, "games", b2);  // a process of beta joined by gamma: executed by beta
  join(*gamma, "games", g1);
  REQUIRE(observer->groups(scope).join("lobby", local, o1.meta));
  expected.push_back(joined(scope, "lobby", o1, normal()));

  Term groups = {"lobby", "games"};
  CHECK_MEMBERS(all, scope, groups, (Term{member_list({a1, a2, b1, o1}), member_list({b1, b2, g1})}));
  for (auto* agent : all.agents) {
    Term args = {{"scope", scope}};
    CHECK(count_of(*agent, "group_count", args) == 2);
    CHECK(sorted_strings(agent->ok("group_names", args)["groups"]) == std::vector<std::string>{"games", "lobby"});
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "lobby"}}) == 4);
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "lobby"}, {"node", "alpha"}}) == 2);
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "games"}, {"node", "beta"}}) == 2);
    CHECK(count_of(*agent, "group_count", {{"scope", scope}, {"node", "gamma"}}) == 1);
    CHECK(agent->ok("group_names", {{"scope", scope}, {"node", "alpha"}})["groups"] == Term{"lobby"});
    CHECK(agent->ok("group_names", {{"scope", scope}, {"node", "observer"}})["groups"] == Term{"lobby"});
  }
  CHECK(count_of(*beta, "local_group_count", {{"scope", scope}}) == 2);
  CHECK(count_of(*gamma, "local_member_count", {{"scope", scope}, {"group", "lobby"}}) == 0);
  CHECK(beta->ok("local_members", {{"scope", scope}, {"group", "games"}})["members"] == member_list({b1, b2}));
  CHECK(observer->groups(scope).member_count("games", "beta") == 2);
  CHECK(observer->groups(scope).local_group_names() == std::vector<Term>{"lobby"});
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("gamma", gamma_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  // publish from gamma (no member of lobby there): one message per member, on three nodes.
  // A second publish is the fence: in order per publisher and member, so once it arrived the
  // first one has arrived everywhere it ever will.
  Term first = {{"n", 1}};
  CHECK(gamma->ok("publish", {{"scope", scope}, {"group", "lobby"}, {"message", first}})["count"] == 4);
  CHECK(gamma->ok("publish", {{"scope", scope}, {"group", "lobby"}, {"message", "fence"}})["count"] == 4);
  for (auto* m : {&a1, &a2, &b1}) {
    CHECK(eventually([&] { return got(*m->owner, m->pid, "fence"); }));
    CHECK(served(*m->owner, m->pid)["messages"] == Term{first, "fence"});
  }
  auto m1 = local.receive(3s);
  REQUIRE(m1);
  CHECK(m1->body == first);
  auto m2 = local.receive(3s);
  REQUIRE(m2);
  CHECK(m2->body == "fence");
  // games got nothing.
  CHECK(served(*b2.owner, b2.pid)["messages"].empty());
  CHECK(served(*g1.owner, g1.pid)["messages"].empty());

  // local_publish from alpha: only alpha's two members.
  CHECK(alpha->ok("local_publish", {{"scope", scope}, {"group", "lobby"}, {"message", "local"}})["count"] == 2);
  CHECK(alpha->ok("publish", {{"scope", scope}, {"group", "lobby"}, {"message", "fence 2"}})["count"] == 4);
  CHECK(eventually([&] {
    return got(*beta, b1.pid, "fence 2") && got(*alpha, a1.pid, "fence 2") && got(*alpha, a2.pid, "fence 2");
  }));
  CHECK(served(*alpha, a1.pid)["messages"] == Term{first, "fence", "local", "fence 2"});
  CHECK(served(*alpha, a2.pid)["messages"] == Term{first, "fence", "local", "fence 2"});
  CHECK(served(*beta, b1.pid)["messages"] == Term{first, "fence", "fence 2"});
  auto m3 = local.receive(3s);
  REQUIRE(m3);
  CHECK(m3->body == "fence 2");

  // publish from the in-test node to games: each member echoes back to the observer's process.
  Term ask = {{"echo_to", o1.pid}};
  CHECK(observer->groups(scope).publish("games", ask) == 3);
  std::set<std::string> echoed;
  for (int i = 0; i < 3; ++i) {
    auto echo = local.receive(3s);
    REQUIRE(echo);
    CHECK(echo->body.at("echo") == ask);
    echoed.insert(echo->body.at("from").get<std::string>());
  }
  CHECK(echoed == std::set<std::string>{b1.pid, b2.pid, g1.pid});
  CHECK(observer->groups(scope).publish("nobody", "x") == 0);

  // update_member from beta of alpha's member, and a remote leave: seen by all.
  Term previous = a1.meta;
  a1.meta = {{"nick", "a1"}, {"away", true}};
  auto updated = beta->ok("update_member", {{"scope", scope}, {"group", "lobby"}, {"pid", a1.pid}, {"meta", a1.meta}});
  CHECK(updated["member"] == Term{{"pid", a1.pid}, {"meta", a1.meta}});
  expected.push_back(callback("group_updated", scope, "lobby", a1.pid, a1.meta, normal(), &previous));
  alpha->ok("leave", {{"scope", scope}, {"group", "games"}, {"pid", b1.pid}});
  expected.push_back(left(scope, "games", b1, normal()));
  auto again = alpha->call("leave", {{"scope", scope}, {"group", "games"}, {"pid", b1.pid}});
  CHECK(again["ok"] == false);
  CHECK(again["error"] == "not_in_group");
  CHECK(alpha->call("update_member", {{"scope", scope}, {"group", "games"}, {"pid", b1.pid}, {"meta", 1}})["code"] ==
        "undefined");

  CHECK_MEMBERS(all, scope, groups, (Term{member_list({a1, a2, b1, o1}), member_list({b2, g1})}));
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("gamma", gamma_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);
}

TEST_CASE("groups: multi_call across agents with a member that never answers and one that dies",
          "[process][groups][multi_call]") {
  const std::string scope = "calls";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  Joined a1{alpha.get(), alpha->spawn(), "worker a1"};
  Joined b1{beta.get(), beta->spawn(), {{"w", "b1"}}};
  Joined silent{gamma.get(), gamma->spawn(), "silent"};
  Joined doomed{gamma.get(), gamma->spawn(), "doomed"};
  alpha->ok("serve", {{"pid", a1.pid}, {"reply", "a1 done"}});
  beta->ok("serve", {{"pid", b1.pid}});  // answers {pid, meta, body}
  gamma->ok("serve", {{"pid", silent.pid}, {"ignore_calls", true}});
  gamma->ok("serve", {{"pid", doomed.pid}, {"exit_on_call", "crashed"}});
  std::vector<std::string> expected;
  for (auto* m : {&a1, &b1, &silent, &doomed}) {
    m->owner->ok("join", join_args(scope, "workers", *m));
    expected.push_back(joined(scope, "workers", *m, normal()));
  }
  CHECK_MEMBERS(all, scope, Term{"workers"}, Term{member_list({a1, b1, silent, doomed})});

  // From beta: two replies; the silent member times out, the doomed one dies first.
  Term job = {{"job", 1}};
  auto result =
      beta->ok("multi_call", {{"scope", scope}, {"group", "workers"}, {"message", job}, {"timeout_ms", 1500}}, 10s);
  std::map<std::string, Term> replies;
  for (const auto& r : result["replies"]) replies[r.at("pid").get<std::string>()] = r;
  REQUIRE(replies.size() == 2);
  CHECK(replies[a1.pid]["reply"] == "a1 done");
  CHECK(replies[a1.pid]["meta"] == a1.meta);
  CHECK(replies[b1.pid]["reply"] == Term{{"pid", b1.pid}, {"meta", b1.meta}, {"body", job}});
  std::set<std::string> bad;
  for (const auto& r : result["bad_replies"]) bad.insert(r.at("pid").get<std::string>());
  CHECK(bad == std::set<std::string>{silent.pid, doomed.pid});
  CHECK(served(*gamma, silent.pid)["calls"] == Term{job});
  CHECK(served(*gamma, doomed.pid)["alive"] == false);

  // The doomed member left everywhere, with its exit reason.
  expected.push_back(left(scope, "workers", doomed, process_exit("crashed")));
  CHECK_MEMBERS(all, scope, Term{"workers"}, Term{member_list({a1, b1, silent})});

  // From the in-test node: the same, without the dead one.
  auto again = observer->groups(scope).multi_call("workers", "again", 1000ms);
  std::set<std::string> answered;
  for (const auto& [member, reply] : again.replies) {
    answered.insert(member.pid.to_string());
    if (member.pid.to_string() == a1.pid) CHECK(reply == "a1 done");
    if (member.pid.to_string() == b1.pid) CHECK(reply == Term{{"pid", b1.pid}, {"meta", b1.meta}, {"body", "again"}});
  }
  CHECK(answered == std::set<std::string>{a1.pid, b1.pid});
  REQUIRE(again.bad_replies.size() == 1);
  CHECK(again.bad_replies[0].pid.to_string() == silent.pid);
  CHECK(again.bad_replies[0].meta == silent.meta);

  // An empty group: nothing to call.
  auto none = alpha->ok("multi_call", {{"scope", scope}, {"group", "nobody"}, {"message", 1}, {"timeout_ms", 1000}});
  CHECK(none["replies"].empty());
  CHECK(none["bad_replies"].empty());

  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("gamma", gamma_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  // A call in flight when the node of two members dies: both are bad replies as soon as the
  // node is seen down (the await below allows far less than the call's timeout).
  gamma->ok("served", {{"pid", silent.pid}, {"clear", true}});
  auto id = beta->send_request(
      {{"cmd", "multi_call"}, {"scope", scope}, {"group", "workers"}, {"message", "last"}, {"timeout_ms", 60000}});
  REQUIRE(eventually([&] { return served(*gamma, silent.pid)["calls"] == Term{"last"}; }));
  gamma->kill();
  auto last = beta->await(id, 20s);
  REQUIRE(last["ok"] == true);
  std::set<std::string> last_replies, last_bad;
  for (const auto& r : last["replies"]) last_replies.insert(r.at("pid").get<std::string>());
  for (const auto& r : last["bad_replies"]) last_bad.insert(r.at("pid").get<std::string>());
  CHECK(last_replies == std::set<std::string>{a1.pid, b1.pid});
  CHECK(last_bad == std::set<std::string>{silent.pid});
}

namespace {

// What a subscription of the in-test node saw: (type, group, pid) triples.
struct SubscriptionLog {
  std::mutex mutex;
  std::multiset<std::string> events;
  std::function<void(const GroupEvent&)> callback() {
    return [this](const GroupEvent& e) {
      std::string type = e.type == GroupEvent::Type::join    ? "join"
                         : e.type == GroupEvent::Type::leave ? "leave"
                                                             : "update";
      std::lock_guard lock(mutex);
      for (const auto& m : e.members) events.insert(type + " " + e.group.dump() + " " + m.pid.to_string());
    };
  }
  std::multiset<std::string> get() {
    std::lock_guard lock(mutex);
    return events;
  }
};

}  // namespace

TEST_CASE("groups: a SIGKILLed agent's members are purged everywhere and subscriptions see the leaves",
          "[process][groups][sigkill][subscriptions]") {
  const std::string scope = "presence";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  AgentCallbacks alpha_log(*alpha), beta_log(*beta);

  // Subscriptions from the start: no current members yet.
  SubscriptionLog room_log, scope_log;
  std::vector<Member> current;
  auto room_sub = observer->groups(scope).monitor("room", room_log.callback(), &current);
  auto scope_sub = observer->groups(scope).monitor_scope(scope_log.callback());
  CHECK(current.empty());

  Joined a1{alpha.get(), alpha->spawn(), "a1"};
  Joined b1{beta.get(), beta->spawn(), "b1"};
  Joined g1{gamma.get(), gamma->spawn(), "g1"};
  Joined g2{gamma.get(), gamma->spawn(), "g2"};
  std::vector<std::string> expected;
  auto join = [&](const Term& group, const Joined& m) {
    m.owner->ok("join", join_args(scope, group, m));
    expected.push_back(joined(scope, group, m, normal()));
  };
  join("room", a1);
  join("room", g1);
  join("room", g2);
  join("hall", g1);
  join("hall", b1);
  Term groups = {"room", "hall"};
  CHECK_MEMBERS(all, scope, groups, (Term{member_list({a1, g1, g2}), member_list({b1, g1})}));
  auto key = [](const std::string& type, const std::string& group, const Joined& m) {
    return type + " \"" + group + "\" " + m.pid;
  };
  std::multiset<std::string> room_expected = {key("join", "room", a1), key("join", "room", g1),
                                              key("join", "room", g2)};
  std::multiset<std::string> scope_expected = room_expected;
  scope_expected.insert({key("join", "hall", g1), key("join", "hall", b1)});
  CHECK(eventually([&] { return room_log.get() == room_expected && scope_log.get() == scope_expected; }));

  gamma->kill();
  all.agents = {alpha.get(), beta.get()};

  CHECK_MEMBERS(all, scope, groups, (Term{member_list({a1}), member_list({b1})}));
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "room"}, {"node", "gamma"}}) == 0);
    CHECK(count_of(*agent, "group_count", {{"scope", scope}, {"node", "gamma"}}) == 0);
    CHECK(count_of(*agent, "group_count", {{"scope", scope}}) == 2);
  }
  for (const auto& [group, m] : std::vector<std::pair<std::string, Joined>>{{"room", g1}, {"room", g2}, {"hall", g1}}) {
    expected.push_back(left(scope, group, m, node_down("gamma")));
  }
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  room_expected.insert({key("leave", "room", g1), key("leave", "room", g2)});
  scope_expected.insert({key("leave", "room", g1), key("leave", "room", g2), key("leave", "hall", g1)});
  CHECK(eventually([&] { return room_log.get() == room_expected && scope_log.get() == scope_expected; }));
  CHECK(room_log.get() == room_expected);
  CHECK(scope_log.get() == scope_expected);

  // The group is usable right after: a new member from beta.
  Joined b2{beta.get(), beta->spawn(), "b2"};
  join("room", b2);
  CHECK_MEMBERS(all, scope, groups, (Term{member_list({a1, b2}), member_list({b1})}));
  room_expected.insert(key("join", "room", b2));
  CHECK(eventually([&] { return room_log.get() == room_expected; }));
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);
}

TEST_CASE("groups: a partial split made with disconnect heals into the same members everywhere",
          "[process][groups][split]") {
  const std::string scope = "split";
  ObservedAgents three(scope);
  auto& [recorder, alpha, beta, gamma, observer, all] = three;
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  Joined a1{alpha.get(), alpha->spawn(), "a1"};
  Joined b1{beta.get(), beta->spawn(), "b1"};
  alpha->ok("join", join_args(scope, "g", a1));
  beta->ok("join", join_args(scope, "g", b1));
  CHECK_MEMBERS(all, scope, Term{"g"}, Term{member_list({a1, b1})});

  // alpha and beta lose each other; gamma and the observer see both.
  alpha->ok("disconnect", {{"node", "beta"}});
  CHECK(eventually([&] {
    return members_of(*alpha, scope, Term{"g"}) == Term{member_list({a1})} &&
           members_of(*beta, scope, Term{"g"}) == Term{member_list({b1})};
  }));
  REQUIRE(syn::test::agent_sees_exactly(*gamma, {"alpha", "beta", "observer"}));

  // Both sides change the group meanwhile.
  Joined a2{alpha.get(), alpha->spawn(), "a2"};
  Joined b2{beta.get(), beta->spawn(), "b2"};
  alpha->ok("join", join_args(scope, "g", a2));
  Joined a1_updated = a1;
  a1_updated.meta = "a1, updated";
  alpha->ok("update_member", join_args(scope, "g", a1_updated));
  beta->ok("join", join_args(scope, "g", b2));
  beta->ok("leave", {{"scope", scope}, {"group", "g"}, {"pid", b1.pid}});
  CHECK(eventually([&] {
    return members_of(*alpha, scope, Term{"g"}) == Term{member_list({a1_updated, a2})} &&
           members_of(*beta, scope, Term{"g"}) == Term{member_list({b2})} &&
           members_of(*gamma, scope, Term{"g"}) == Term{member_list({a1_updated, a2, b2})} &&
           members_of(*observer, scope, Term{"g"}) == Term{member_list({a1_updated, a2, b2})};
  }));

  alpha->ok("connect", {{"endpoint", beta->endpoint()}});
  REQUIRE_SCOPE_MESH(all, scope);
  CHECK_MEMBERS(all, scope, Term{"g"}, Term{member_list({a1_updated, a2, b2})});
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "g"}, {"node", "alpha"}}) == 2);
    CHECK(count_of(*agent, "member_count", {{"scope", scope}, {"group", "g"}, {"node", "beta"}}) == 1);
  }

  Term previous = a1.meta;
  auto updated = callback("group_updated", scope, "g", a1.pid, a1_updated.meta, normal(), &previous);
  std::vector<std::string> common = {joined(scope, "g", a1, normal()), joined(scope, "g", b1, normal())};
  auto on_alpha = common;
  on_alpha.insert(on_alpha.end(), {left(scope, "g", b1, node_down("beta")), joined(scope, "g", a2, normal()), updated,
                                   joined(scope, "g", b2, node_up("beta"))});
  auto on_beta = common;
  on_beta.insert(on_beta.end(), {left(scope, "g", a1, node_down("alpha")), joined(scope, "g", b2, normal()),
                                 left(scope, "g", b1, normal()), joined(scope, "g", a1_updated, node_up("alpha")),
                                 joined(scope, "g", a2, node_up("alpha"))});
  auto witness = common;
  witness.insert(witness.end(), {joined(scope, "g", a2, normal()), updated, joined(scope, "g", b2, normal()),
                                 left(scope, "g", b1, normal())});
  CHECK_CALLBACKS("alpha", alpha_log, on_alpha);
  CHECK_CALLBACKS("beta", beta_log, on_beta);
  CHECK_CALLBACKS("gamma", gamma_log, witness);
  CHECK_CALLBACKS("observer", *recorder, witness);
}
