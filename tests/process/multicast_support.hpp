#pragma once
// Shared by the multicast multi-process tests: syn-node agents with members of one group "g"
// in scope "mc", what each member's callbacks recorded (syn-node's multicast_member), and
// clusters of three and five agents whose members are all in one view.
#include "process/scope_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace syn::test::multicast {

using namespace std::chrono_literals;
using syn::test::Agent;
using syn::test::eventually;
using syn::test::scoped::start;

inline const std::string kScope = "mc";

/// One member: its agent and pid.
struct McMember {
  Agent* agent;
  std::string pid;
};

inline Term member_args(const McMember& m, Term more = Term::object()) {
  Term args = {{"scope", kScope}, {"group", "g"}, {"pid", m.pid}};
  for (auto& [k, v] : more.items()) args[k] = v;
  return args;
}

inline Term record(const McMember& m) { return m.agent->ok("multicast_member", member_args(m)); }

/// The members of the view the member's callbacks saw last, sorted.
inline std::vector<std::string> view_members(const McMember& m) {
  auto r = record(m);
  std::vector<std::string> out;
  if (r["views"].empty()) return out;
  for (const auto& pid : r["views"].back()["members"]) out.push_back(pid.get<std::string>());
  std::sort(out.begin(), out.end());
  return out;
}

inline std::vector<std::string> pids_of(const std::vector<McMember>& members) {
  std::vector<std::string> out;
  for (const auto& m : members) out.push_back(m.pid);
  std::sort(out.begin(), out.end());
  return out;
}

/// The numbers of the [prefix, n] messages `from` published, as the member received them.
inline std::vector<std::int64_t> numbers_from(const Term& rec, const std::string& from) {
  std::vector<std::int64_t> out;
  for (const auto& r : rec["received"]) {
    if (r["from"] == from && r["message"].is_array()) out.push_back(r["message"][1].get<std::int64_t>());
  }
  return out;
}

/// 1, 2, ..., n: in publish order, each once, nothing skipped.
inline bool is_prefix_sequence(const std::vector<std::int64_t>& got) {
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != static_cast<std::int64_t>(i + 1)) return false;
  }
  return true;
}

/// Whether the member saw each of `gone` leave with `reason` in its view changes (event lines;
/// one change may report several).
inline bool saw_leaves(Agent& agent, const std::string& member, std::vector<std::string> gone,
                       const std::string& reason) {
  while (!gone.empty()) {
    auto seen = agent.wait_event(
        [&](const Term& e) {
          if (e.value("event", "") != "multicast_view" || e["pid"] != member) return false;
          for (const auto& l : e["left"]) {
            if (l["reason"] == reason && std::find(gone.begin(), gone.end(), l["pid"]) != gone.end()) return true;
          }
          return false;
        },
        20s);
    if (!seen) return false;
    for (const auto& l : (*seen)["left"]) {
      if (l["reason"] == reason) gone.erase(std::remove(gone.begin(), gone.end(), l["pid"]), gone.end());
    }
  }
  return true;
}

/// Whether the member saw `gone` leave with `reason` in some view change (event lines).
inline bool saw_leave(Agent& agent, const std::string& member, const std::string& gone, const std::string& reason) {
  return saw_leaves(agent, member, {gone}, reason);
}

/// Whether the member saw a view change marked merged (SPEC 8.4.3) to a view of `size` members
/// (event lines).
inline bool saw_merge(const McMember& m, std::size_t size) {
  return m.agent
      ->wait_event(
          [&](const Term& e) {
            return e.value("event", "") == "multicast_view" && e["pid"] == m.pid && e["merged"] == true &&
                   e["view"]["members"].size() == size;
          },
          10s)
      .has_value();
}

/// Waits until every member's last view holds exactly all of `members`.
inline bool all_in_one_view(const std::vector<McMember>& members, std::chrono::milliseconds timeout = 20s) {
  auto all = pids_of(members);
  return eventually(
      [&] {
        for (const auto& m : members) {
          if (view_members(m) != all) return false;
        }
        return true;
      },
      timeout);
}

/// Starts `count` agents "<prefix>1".."<prefix><count>" in scope kScope with the node options
/// `more`, each seeded with every earlier one, and waits until each sees all the others in
/// the multicast subcluster.
inline std::vector<std::unique_ptr<Agent>> start_agents(const std::string& prefix, int count,
                                                        Term more = Term::object()) {
  std::vector<std::unique_ptr<Agent>> agents;
  for (int i = 1; i <= count; ++i) {
    std::vector<std::string> seeds;
    for (auto& a : agents) seeds.push_back(a->endpoint());
    agents.push_back(start(prefix + std::to_string(i), seeds, {kScope}, more));
  }
  for (auto& agent : agents) {
    REQUIRE(eventually(
        [&] {
          return agent->ok("subcluster", {{"kind", "multicast"}, {"scope", kScope}})["nodes"].size() ==
                 static_cast<std::size_t>(count - 1);
        },
        20s));
  }
  return agents;
}

/// One new member on each agent, joined in agent order (the first coordinates), all in one view.
inline std::vector<McMember> join_one_each(const std::vector<std::unique_ptr<Agent>>& agents) {
  std::vector<McMember> members;
  for (auto& agent : agents) members.push_back({agent.get(), agent->spawn()});
  for (const auto& m : members) m.agent->ok("multicast_join", member_args(m), 10s);
  REQUIRE(all_in_one_view(members));
  return members;
}

/// Three agents alpha, beta, gamma in scope kScope (node options `more`), one member of "g"
/// on each, joined in that order (alpha's coordinates), all in one view. `c_join` adds
/// arguments to gamma's member's join (e.g. a delay_ms: a slow consumer).
struct ThreeAgents {
  std::unique_ptr<Agent> alpha, beta, gamma;
  McMember a, b, c;
  explicit ThreeAgents(Term more = Term::object(), Term c_join = Term::object()) {
    alpha = start("alpha", {}, {kScope}, more);
    beta = start("beta", {alpha->endpoint()}, {kScope}, more);
    gamma = start("gamma", {alpha->endpoint()}, {kScope}, more);
    for (auto* agent : {alpha.get(), beta.get(), gamma.get()}) {
      REQUIRE(eventually([&] {
        return agent->ok("subcluster", {{"kind", "multicast"}, {"scope", kScope}})["nodes"].size() == 2;
      }));
    }
    a = {alpha.get(), alpha->spawn()};
    b = {beta.get(), beta->spawn()};
    c = {gamma.get(), gamma->spawn()};
    a.agent->ok("multicast_join", member_args(a));
    b.agent->ok("multicast_join", member_args(b));
    c.agent->ok("multicast_join", member_args(c, c_join));
    REQUIRE(all_in_one_view({a, b, c}));
  }
};

}  // namespace syn::test::multicast
