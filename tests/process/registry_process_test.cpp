// The registry across OS processes: syn-node agents register, look up, update and unregister;
// one is killed with SIGKILL and restarted, one joins late, and a partial net split made with
// disconnect ends in a conflict resolved by the default resolver. Every member's callbacks are
// checked as an exact multiset (agents print theirs with the "events" option).
#include "process/scope_support.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::scoped;
using syn::test::Agent;
using syn::test::agent_sees_exactly;
using syn::test::eventually;
using syn::test::sees_exactly;

namespace {

const std::string kScope = "users";

// A registered name as the tests know it.
struct Named {
  Term name;
  std::string pid;
  Term meta;
};

Term names_of(const std::vector<Named>& all) {
  Term out = Term::array();
  for (const auto& n : all) out.push_back(n.name);
  return out;
}
Term entries_of(const std::vector<Named>& all) {
  Term out = Term::array();
  for (const auto& n : all) out.push_back(entry(n.pid, n.meta));
  return out;
}
std::string registered(const Named& n, const Term& reason) {
  return callback("registered", kScope, n.name, n.pid, n.meta, reason);
}
std::string unregistered(const Named& n, const Term& reason) {
  return callback("unregistered", kScope, n.name, n.pid, n.meta, reason);
}
Term reg_args(const Named& n) { return {{"scope", kScope}, {"name", n.name}, {"pid", n.pid}, {"meta", n.meta}}; }

}  // namespace

TEST_CASE("registry: names registered on several agents are seen, updated and removed on every node",
          "[process][registry]") {
  auto recorder = std::make_shared<Recorder>();
  auto alpha = start("alpha", {}, {kScope});
  auto beta = start("beta", {alpha->endpoint()}, {kScope});
  auto gamma = start("gamma", {alpha->endpoint()}, {kScope});
  auto observer = start_observer({alpha->endpoint()}, {kScope}, recorder);
  Members all{{alpha.get(), beta.get(), gamma.get()}, observer.get()};
  REQUIRE_SCOPE_MESH(all, kScope);
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  // Two names per agent, each for a process of its own.
  std::vector<Named> names;
  for (auto* agent : all.agents) {
    for (int i = 0; i < 2; ++i) {
      Named n{agent->name() + "-" + std::to_string(i), agent->spawn(), {{"owner", agent->name()}, {"i", i}}};
      agent->ok("register", reg_args(n));
      names.push_back(n);
    }
  }
  // A name for a process of beta, registered from gamma (executed by beta, the authority);
  // the name is not a string, and the meta is left out (null).
  Named remote{Term{"remote", 1}, beta->spawn(), nullptr};
  gamma->ok("register", {{"scope", kScope}, {"name", remote.name}, {"pid", remote.pid}});
  names.push_back(remote);
  // And one for a process of the in-test node.
  auto local = observer->spawn();
  Named on_observer{"observer-0", local.pid().to_string(), "obs"};
  REQUIRE(observer->registry(kScope).register_name(on_observer.name, local.pid(), on_observer.meta));
  names.push_back(on_observer);

  CHECK_LOOKUPS(all, kScope, names_of(names), entries_of(names));
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "count", {{"scope", kScope}}) == 8);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "alpha"}}) == 2);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "beta"}}) == 3);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "observer"}}) == 1);
    CHECK(agent->ok("whereis", {{"scope", kScope}, {"name", "gamma-1"}})["pid"] == names[5].pid);
  }
  CHECK(count_of(*alpha, "local_count", {{"scope", kScope}}) == 2);
  CHECK(count_of(*beta, "local_count", {{"scope", kScope}}) == 3);
  CHECK(observer->registry(kScope).count() == 8);
  CHECK(observer->registry(kScope).local_count() == 1);

  std::vector<std::string> expected;
  for (const auto& n : names) expected.push_back(registered(n, normal()));
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("gamma", gamma_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  // Errors come back with their Errc, and change nothing.
  {
    auto taken = beta->call("register", {{"scope", kScope}, {"name", "alpha-0"}, {"pid", remote.pid}});
    CHECK(taken["ok"] == false);
    CHECK(taken["error"] == "taken");
    CHECK(gamma->call("unregister", {{"scope", kScope}, {"name", "nobody"}})["code"] == "undefined");
    CHECK(gamma->call("update", {{"scope", kScope}, {"name", "nobody"}, {"meta", 1}})["code"] == "undefined");
    CHECK(alpha->call("lookup", {{"scope", "no-such-scope"}, {"name", "x"}})["error"] == "invalid_scope");
    // A dead process of gamma, registered from alpha: gamma (the authority) refuses it.
    auto dead = gamma->spawn();
    gamma->ok("exit", {{"pid", dead}, {"reason", "gone"}});
    REQUIRE(eventually([&] { return gamma->ok("is_alive", {{"pid", dead}})["alive"] == false; }));
    CHECK(alpha->call("register", {{"scope", kScope}, {"name", "late"}, {"pid", dead}})["code"] == "not_alive");
    // Nothing of that changed anything anywhere.
    CHECK_LOOKUPS(all, kScope, names_of(names), entries_of(names));
    CHECK(alpha->ok("lookup", {{"scope", kScope}, {"name", "late"}})["entry"].is_null());
  }

  // send by name, update, unregister and process exit reach every node with their reasons.
  {
    // send_name from another OS process reaches the registered process.
    CHECK(gamma->ok("send_name", {{"scope", kScope}, {"name", "alpha-0"}, {"message", "hi"}})["sent"] == true);
    CHECK(alpha->ok("receive", {{"pid", names[0].pid}, {"timeout_ms", 3000}})["message"] == "hi");
    CHECK(gamma->ok("send_name", {{"scope", kScope}, {"name", "nobody"}, {"message", "hi"}})["sent"] == false);

    // beta updates alpha's name: executed by alpha, seen by all with the previous meta.
    Term previous = names[1].meta;
    names[1].meta = {{"owner", "alpha"}, {"i", 1}, {"v", 2}};
    auto updated = beta->ok("update", {{"scope", kScope}, {"name", "alpha-1"}, {"meta", names[1].meta}});
    CHECK(updated["entry"] == entry(names[1].pid, names[1].meta));
    // Read-your-writes on the caller.
    CHECK(beta->ok("lookup", {{"scope", kScope}, {"name", "alpha-1"}})["entry"] == entry(names[1].pid, names[1].meta));
    expected.push_back(callback("updated", kScope, "alpha-1", names[1].pid, names[1].meta, normal(), &previous));

    // gamma unregisters beta's name.
    gamma->ok("unregister", {{"scope", kScope}, {"name", "beta-0"}});
    CHECK(gamma->ok("lookup", {{"scope", kScope}, {"name", "beta-0"}})["entry"].is_null());
    expected.push_back(unregistered(names[2], normal()));

    // alpha's process of alpha-0 dies: removed everywhere with its exit reason.
    Term why = {{"bye", 1}};
    alpha->ok("exit", {{"pid", names[0].pid}, {"reason", why}});
    expected.push_back(unregistered(names[0], process_exit(why)));
    // alpha-1's process dies too, and right away beta registers the name for another process
    // of alpha: the authority (alpha) knows the holder is dead, so there is no window of
    // "taken", whether or not its cleanup has run yet.
    Named next{"alpha-1", alpha->spawn(), "next"};
    alpha->ok("exit", {{"pid", names[1].pid}, {"reason", "replaced"}});
    auto again = beta->call("register", reg_args(next));
    CHECK(again["ok"] == true);
    INFO(again.dump());
    expected.push_back(unregistered(names[1], process_exit("replaced")));
    expected.push_back(registered(next, normal()));
    names[1] = next;

    Term views = entries_of(names);
    views[0] = nullptr;
    views[2] = nullptr;
    CHECK_LOOKUPS(all, kScope, names_of(names), views);
    for (auto* agent : all.agents) CHECK(count_of(*agent, "count", {{"scope", kScope}}) == 6);
    CHECK(observer->registry(kScope).count() == 6);
    CHECK_CALLBACKS("alpha", alpha_log, expected);
    CHECK_CALLBACKS("beta", beta_log, expected);
    CHECK_CALLBACKS("gamma", gamma_log, expected);
    CHECK_CALLBACKS("observer", *recorder, expected);
  }
}

TEST_CASE(
    "registry: a SIGKILLed agent's names vanish everywhere, it comes back as a new incarnation, "
    "and a late joiner gets everything",
    "[process][registry][sigkill]") {
  auto recorder = std::make_shared<Recorder>();
  auto alpha = start("alpha", {}, {kScope});
  auto beta = start("beta", {alpha->endpoint()}, {kScope});
  auto gamma = start("gamma", {alpha->endpoint()}, {kScope});
  auto observer = start_observer({alpha->endpoint()}, {kScope}, recorder);
  Members all{{alpha.get(), beta.get(), gamma.get()}, observer.get()};
  REQUIRE_SCOPE_MESH(all, kScope);
  AgentCallbacks alpha_log(*alpha), beta_log(*beta);

  Named a0{"a-0", alpha->spawn(), "a"};
  Named b0{"b-0", beta->spawn(), "b"};
  Named g0{"g-0", gamma->spawn(), {{"g", 0}}};
  Named g1{"g-1", gamma->spawn(), {{"g", 1}}};
  // Registered by gamma, but for a process of alpha: alpha's entry, it survives gamma.
  Named by_gamma{"by-gamma", alpha->spawn(), "via gamma"};
  alpha->ok("register", reg_args(a0));
  beta->ok("register", reg_args(b0));
  gamma->ok("register", reg_args(g0));
  gamma->ok("register", reg_args(g1));
  gamma->ok("register", reg_args(by_gamma));
  // And a batch through the pipelined path, for one more process of gamma.
  auto bulk_pid = gamma->spawn();
  std::vector<Named> bulk;
  Term batch = Term::array();
  for (int i = 0; i < 10; ++i) {
    bulk.push_back({{"bulk", i}, bulk_pid, i});
    batch.push_back({{"name", bulk.back().name}, {"pid", bulk_pid}, {"meta", i}});
  }
  CHECK(gamma->ok("register_async", {{"scope", kScope}, {"entries", batch}})["results"] ==
        Term(std::vector<std::string>(10, "ok")));
  std::vector<Named> before = {a0, b0, g0, g1, by_gamma};
  CHECK_LOOKUPS(all, kScope, names_of(before), entries_of(before));
  CHECK_LOOKUPS(all, kScope, names_of(bulk), entries_of(bulk));

  auto old_creation = gamma->creation();
  gamma->kill();
  all.agents = {alpha.get(), beta.get()};

  // Promptly (the link drop tells, well before peer_timeout): gamma's names are gone.
  Term after_kill = entries_of(before);
  after_kill[2] = nullptr;
  after_kill[3] = nullptr;
  CHECK_LOOKUPS(all, kScope, names_of(before), after_kill);
  CHECK_LOOKUPS(all, kScope, names_of(bulk), Term(std::vector<Term>(10, nullptr)));
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "count", {{"scope", kScope}}) == 3);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "gamma"}}) == 0);
  }
  std::vector<std::string> expected;
  for (const auto& n : before) expected.push_back(registered(n, normal()));
  expected.push_back(unregistered(g0, node_down("gamma")));
  expected.push_back(unregistered(g1, node_down("gamma")));
  for (const auto& n : bulk) {
    expected.push_back(registered(n, normal()));
    expected.push_back(unregistered(n, node_down("gamma")));
  }
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  // Restarted under the same name: a new incarnation, which gets the others' names (as
  // snapshots) and none of its old ones.
  gamma = start("gamma", {beta->endpoint()}, {kScope});
  CHECK(gamma->creation() != old_creation);
  AgentCallbacks gamma_log(*gamma);
  all.agents = {alpha.get(), beta.get(), gamma.get()};
  REQUIRE_SCOPE_MESH(all, kScope);
  CHECK_LOOKUPS(all, kScope, names_of(before), after_kill);
  CHECK_CALLBACKS("restarted gamma", gamma_log,
                  (std::vector<std::string>{registered(a0, node_up("alpha")), registered(b0, node_up("beta")),
                                            registered(by_gamma, node_up("alpha"))}));

  // Its new registrations replicate; an old name is free to take again.
  Named g_new{"g-new", gamma->spawn(), "new"};
  Named g0_again{"g-0", gamma->spawn(), "again"};
  gamma->ok("register", reg_args(g_new));
  gamma->ok("register", reg_args(g0_again));
  std::vector<Named> now = {a0, b0, g0_again, g_new, by_gamma};
  CHECK_LOOKUPS(all, kScope, names_of(now), entries_of(now));
  expected.push_back(registered(g_new, normal()));
  expected.push_back(registered(g0_again, normal()));
  CHECK_CALLBACKS("alpha", alpha_log, expected);
  CHECK_CALLBACKS("beta", beta_log, expected);
  CHECK_CALLBACKS("observer", *recorder, expected);

  // A late joiner (seeded with gamma) gets everything, each name from its owner's snapshot.
  auto delta = start("delta", {gamma->endpoint()}, {kScope});
  AgentCallbacks delta_log(*delta);
  all.agents.push_back(delta.get());
  REQUIRE_SCOPE_MESH(all, kScope);
  CHECK_LOOKUPS(all, kScope, names_of(now), entries_of(now));
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "count", {{"scope", kScope}}) == 5);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "gamma"}}) == 2);
  }
  CHECK(count_of(*delta, "local_count", {{"scope", kScope}}) == 0);
  CHECK_CALLBACKS("delta", delta_log,
                  (std::vector<std::string>{registered(a0, node_up("alpha")), registered(b0, node_up("beta")),
                                            registered(g0_again, node_up("gamma")), registered(g_new, node_up("gamma")),
                                            registered(by_gamma, node_up("alpha"))}));
}

TEST_CASE(
    "registry: both sides of a partial split register the same name, and after the heal the newer "
    "wins everywhere and the loser is killed",
    "[process][registry][conflict]") {
  // Which side registers "clash" last, and whether the first side then updates its meta (an
  // update restamps the entry: the first side's becomes the newer one).
  enum class Variant { beta_later, alpha_later, alpha_updates_after_beta };
  auto variant = GENERATE(Variant::beta_later, Variant::alpha_later, Variant::alpha_updates_after_beta);
  // With auto_connect off, every link is made by the seeds (a full mesh all the same).
  auto auto_connect = GENERATE(true, false);
  CAPTURE(static_cast<int>(variant), auto_connect);

  auto recorder = std::make_shared<Recorder>();
  Term link = {{"auto_connect", auto_connect}};
  auto alpha = start("alpha", {}, {kScope}, link);
  auto beta = start("beta", {alpha->endpoint()}, {kScope}, link);
  auto gamma = start("gamma", {alpha->endpoint(), beta->endpoint()}, {kScope}, link);
  auto observer =
      start_observer({alpha->endpoint(), beta->endpoint(), gamma->endpoint()}, {kScope}, recorder, auto_connect);
  Members all{{alpha.get(), beta.get(), gamma.get()}, observer.get()};
  REQUIRE_SCOPE_MESH(all, kScope);
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  Named shared{"before", gamma->spawn(), "everyone"};
  Named pre_alpha{"pre-alpha", alpha->spawn(), "pa"};
  Named pre_beta{"pre-beta", beta->spawn(), "pb"};
  gamma->ok("register", reg_args(shared));
  alpha->ok("register", reg_args(pre_alpha));
  beta->ok("register", reg_args(pre_beta));
  CHECK_LOOKUPS(all, kScope, names_of({shared, pre_alpha, pre_beta}), entries_of({shared, pre_alpha, pre_beta}));

  // The split: alpha and beta lose each other (and each other's names); gamma and the observer
  // still see both.
  alpha->ok("disconnect", {{"node", "beta"}});
  REQUIRE(eventually([&] {
    return agent_sees_exactly(*alpha, {"gamma", "observer"}) && agent_sees_exactly(*beta, {"gamma", "observer"}) &&
           agent_sees_exactly(*gamma, {"alpha", "beta", "observer"}) &&
           sees_exactly(*observer, {"alpha", "beta", "gamma"});
  }));
  Term pre_names = names_of({pre_alpha, pre_beta});
  CHECK(eventually([&] {
    return lookups(*alpha, kScope, pre_names) == Term{entry(pre_alpha.pid, pre_alpha.meta), nullptr} &&
           lookups(*beta, kScope, pre_names) == Term{nullptr, entry(pre_beta.pid, pre_beta.meta)};
  }));

  Named alpha_clash{"clash", alpha->spawn(), "from-alpha"};
  Named beta_clash{"clash", beta->spawn(), "from-beta"};
  Named only_alpha{"only-alpha", alpha->spawn(), "a"};
  Named only_beta{"only-beta", beta->spawn(), "b"};
  bool alpha_first = variant != Variant::alpha_later;
  Agent& first = alpha_first ? *alpha : *beta;
  Agent& second = alpha_first ? *beta : *alpha;
  Named& first_clash = alpha_first ? alpha_clash : beta_clash;
  Named& second_clash = alpha_first ? beta_clash : alpha_clash;
  Named first_registered = first_clash;  // first_clash.meta changes on an update
  auto witness_holds = [&](const Named& n) {
    Term want = Term::array({entry(n.pid, n.meta)});
    return lookups(*gamma, kScope, names_of({n})) == want && lookups(*observer, kScope, names_of({n})) == want;
  };
  // Each step is seen by the witnesses before the next one: the times are in that order.
  first.ok("register", reg_args(first_clash));
  CHECK(eventually([&] { return witness_holds(first_clash); }));
  second.ok("register", reg_args(second_clash));  // the second side does not see the first's
  CHECK(eventually([&] { return witness_holds(second_clash); }));
  Term previous = first_clash.meta;
  if (variant == Variant::alpha_updates_after_beta) {
    first_clash.meta = "from-alpha, updated";
    first.ok("update", {{"scope", kScope}, {"name", "clash"}, {"meta", first_clash.meta}});
    CHECK(eventually([&] { return witness_holds(first_clash); }));
  }
  alpha->ok("register", reg_args(only_alpha));
  beta->ok("register", reg_args(only_beta));
  Named& winner = variant == Variant::alpha_updates_after_beta ? first_clash : second_clash;
  Named& loser = variant == Variant::alpha_updates_after_beta ? second_clash : first_clash;
  Agent& loser_owner = &loser == &alpha_clash ? *alpha : *beta;

  // Views are not transitive: each side sees its own, the witnesses see the newer.
  Term names = names_of({shared, pre_alpha, pre_beta, alpha_clash, only_alpha, only_beta});
  CHECK(eventually([&] {
    return lookups(*alpha, kScope, names) ==
               Term{entry(shared.pid, shared.meta),           entry(pre_alpha.pid, pre_alpha.meta),   nullptr,
                    entry(alpha_clash.pid, alpha_clash.meta), entry(only_alpha.pid, only_alpha.meta), nullptr} &&
           lookups(*beta, kScope, names) ==
               Term{entry(shared.pid, shared.meta),         nullptr, entry(pre_beta.pid, pre_beta.meta),
                    entry(beta_clash.pid, beta_clash.meta), nullptr, entry(only_beta.pid, only_beta.meta)} &&
           lookups(*gamma, kScope, names) == entries_of({shared, pre_alpha, pre_beta, winner, only_alpha, only_beta}) &&
           lookups(*observer, kScope, names) ==
               entries_of({shared, pre_alpha, pre_beta, winner, only_alpha, only_beta});
  }));
  auto ref = gamma->ok("monitor", {{"pid", loser.pid}})["ref"].get<std::int64_t>();
  {
    // The watch reaches the loser's node before the heal can kill it (else the down reason is
    // noproc): a message sent after it on the same link arrives after it.
    std::string probe = loser_owner.ok("spawn")["pid"].get<std::string>();
    gamma->ok("send", {{"to", probe}, {"message", "sync"}});
    REQUIRE(loser_owner.ok("receive", {{"pid", probe}, {"timeout_ms", 10000}})["message"] == "sync");
  }

  // The heal.
  alpha->ok("connect", {{"endpoint", beta->endpoint()}});
  REQUIRE_SCOPE_MESH(all, kScope);

  // The newer registration wins everywhere; the loser's process is killed.
  CHECK_LOOKUPS(all, kScope, names, entries_of({shared, pre_alpha, pre_beta, winner, only_alpha, only_beta}));
  auto down = gamma->wait_down(ref);
  REQUIRE(down);
  CHECK(down->at("reason") == Term{"syn_resolve_kill", "clash", loser.meta});
  CHECK(loser_owner.ok("processes")["processes"][loser.pid] == false);
  for (auto* agent : all.agents) {
    CHECK(count_of(*agent, "count", {{"scope", kScope}}) == 6);
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "alpha"}}) == (&winner == &alpha_clash ? 3 : 2));
    CHECK(count_of(*agent, "count", {{"scope", kScope}, {"node", "beta"}}) == (&winner == &beta_clash ? 3 : 2));
  }
  CHECK(observer->registry(kScope).count() == 6);

  // Exactly these callbacks, with these reasons, on each node.
  std::vector<std::string> common = {registered(shared, normal()), registered(pre_alpha, normal()),
                                     registered(pre_beta, normal())};
  auto owner_callbacks = [&](Named& own_clash, const Named& other_pre, const std::string& other, const Named& own_only,
                             const Named& other_only) {
    auto out = common;
    // The split and the heal: the other side's names go and come back with its snapshot.
    out.push_back(unregistered(other_pre, node_down(other)));
    out.push_back(registered(other_pre, node_up(other)));
    out.push_back(registered(own_only, normal()));
    out.push_back(registered(other_only, node_up(other)));
    bool own_is_first = &own_clash == &first_clash;
    out.push_back(registered(own_is_first ? first_registered : own_clash, normal()));
    if (own_is_first && variant == Variant::alpha_updates_after_beta) {
      out.push_back(callback("updated", kScope, "clash", own_clash.pid, own_clash.meta, normal(), &previous));
    }
    // The loser's owner resolves: its entry goes, the winner's comes (conflict_resolution).
    // The winner's owner keeps its entry without a callback.
    if (&own_clash == &loser) {
      out.push_back(unregistered(loser, conflict()));
      out.push_back(registered(winner, conflict()));
    }
    return out;
  };
  CHECK_CALLBACKS("alpha", alpha_log, owner_callbacks(alpha_clash, pre_beta, "beta", only_alpha, only_beta));
  CHECK_CALLBACKS("beta", beta_log, owner_callbacks(beta_clash, pre_alpha, "alpha", only_beta, only_alpha));
  // The witnesses owned neither: each newer registration replaced the older one during the
  // split (with the replicated call's reason); the heal changes nothing for them.
  auto witness = common;
  witness.push_back(registered(first_registered, normal()));
  witness.push_back(unregistered(first_registered, normal()));
  witness.push_back(registered(second_clash, normal()));
  if (variant == Variant::alpha_updates_after_beta) {
    witness.push_back(unregistered(second_clash, normal()));
    witness.push_back(registered(first_clash, normal()));
  }
  witness.push_back(registered(only_alpha, normal()));
  witness.push_back(registered(only_beta, normal()));
  CHECK_CALLBACKS("gamma", gamma_log, witness);
  CHECK_CALLBACKS("observer", *recorder, witness);
}

TEST_CASE("registry: the same name registered at once from four agents ends with one holder everywhere",
          "[process][registry][conflict][race]") {
  auto a1 = start("race1", {}, {kScope});
  auto a2 = start("race2", {a1->endpoint()}, {kScope});
  auto a3 = start("race3", {a1->endpoint()}, {kScope});
  auto a4 = start("race4", {a1->endpoint()}, {kScope});
  Members all{{a1.get(), a2.get(), a3.get(), a4.get()}, nullptr};
  REQUIRE_SCOPE_MESH(all, kScope);

  // Rounds of one name each: every agent registers it for a process of its own, all requests
  // sent before any answer is read. Each authority checks its own replica, so several may
  // succeed; the conflicts that follow must leave one of them, everywhere.
  constexpr int kRounds = 8;
  Term names = Term::array();
  for (int round = 0; round < kRounds; ++round) {
    Term name = "hot-" + std::to_string(round);
    names.push_back(name);
    std::vector<std::string> pids;
    std::vector<std::int64_t> ids;
    for (auto* agent : all.agents) pids.push_back(agent->spawn());
    for (std::size_t i = 0; i < all.agents.size(); ++i) {
      ids.push_back(all.agents[i]->send_request(
          {{"cmd", "register"}, {"scope", kScope}, {"name", name}, {"pid", pids[i]}, {"meta", all.agents[i]->name()}}));
    }
    std::vector<std::size_t> succeeded;
    for (std::size_t i = 0; i < all.agents.size(); ++i) {
      auto response = all.agents[i]->await(ids[i]);
      if (response["ok"] == true) {
        succeeded.push_back(i);
      } else {
        CHECK(response["code"] == "taken");
      }
    }
    CAPTURE(round, succeeded.size());
    REQUIRE_FALSE(succeeded.empty());

    // One holder, the same everywhere, among those that succeeded, and alive.
    Term holder;
    CHECK(eventually([&] {
      holder = lookups(*a1, kScope, Term{name})[0];
      return !holder.is_null() && all.all_lookups(kScope, Term{name}, Term{holder});
    }));
    INFO(all.lookup_views(kScope, Term{name}));
    REQUIRE(holder.is_object());
    auto winner = std::find(pids.begin(), pids.end(), holder["pid"].get<std::string>());
    REQUIRE(winner != pids.end());
    auto w = static_cast<std::size_t>(winner - pids.begin());
    CHECK(std::find(succeeded.begin(), succeeded.end(), w) != succeeded.end());
    CHECK(holder["meta"] == all.agents[w]->name());
    // The other winners of their authority's check lost the conflict and were killed with the
    // default resolver's reason; the refused ones live on.
    for (std::size_t i = 0; i < all.agents.size(); ++i) {
      Term expected_reason = nullptr;
      if (i != w && std::find(succeeded.begin(), succeeded.end(), i) != succeeded.end()) {
        expected_reason = {"syn_resolve_kill", name, all.agents[i]->name()};
      }
      CHECK(eventually([&] {
        return all.agents[i]->ok("exit_reason", {{"pid", pids[i]}})["reason"] == expected_reason;
      }));
    }
  }
  for (auto* agent : all.agents) CHECK(count_of(*agent, "count", {{"scope", kScope}}) == kRounds);
}
