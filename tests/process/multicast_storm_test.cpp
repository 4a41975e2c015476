// The storm of MULTICAST.md (scenario 14), across OS processes: five syn-node agents, up to
// twenty members of one group, for a minute a random mix of joins, leaves, broadcasts,
// confirmed broadcasts, SIGKILLs, restarts under the same name, splits and heals. Then the
// cluster heals and every member left must end in one view, and the checker (SPEC 8 over every
// member's log, multicast_checker.hpp) must find nothing. A failing run prints its seed:
// SYN_STORM_SEED=<seed> replays the same choices (the timing of a real cluster differs).
// SYN_STORM_SECONDS changes the length (default 60).
//
// In the default run since 2026-12-05: its first runs failed about one time in five (two
// sides that never merged, a request bounced between two nodes that each followed the other,
// followers of a dead incarnation's member, and a follower that resumed the old view after it
// answered a round's FLUSH); each was fixed from a traced failing run, and it then passed 11
// runs in a row (6, then 5 more with a simulator busy on the other core).
#include "support/multicast_checker.hpp"
#include "process/multicast_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::multicast;
using syn::test::Agent;
using syn::test::eventually;
using syn::test::scoped::start;

namespace {

constexpr std::size_t kAgents = 5;
constexpr std::size_t kMembersPerAgent = 4;

std::uint64_t env_or(const char* name, std::uint64_t fallback) {
  const char* v = std::getenv(name);
  return v ? std::strtoull(v, nullptr, 10) : fallback;
}

/// The cluster under the storm: agents that may be dead, cut pairs, members, and the logs of
/// members whose agent was killed (taken just before the kill).
class Storm {
 public:
  explicit Storm(std::uint64_t seed) : rng_(seed), agents_(start_agents("w", kAgents, options())) {
    members_.resize(kAgents);
    for (std::size_t i = 0; i < kAgents; ++i) join(i);
  }

  /// One random step.
  void step() {
    auto roll = pick(100);
    if (roll < 35) return broadcast();
    if (roll < 45) return confirmed_broadcast();
    if (roll < 62) return join(live_agent());
    if (roll < 72) return leave();
    if (roll < 82) return split_or_heal();
    if (roll < 90) return kill();
    return restart();
  }

  /// Heals every cut, restarts every dead agent, and gives each agent a member.
  void settle() {
    heal();
    for (std::size_t i = 0; i < kAgents; ++i) {
      if (!agents_[i]) restart_agent(i);
    }
    for (std::size_t i = 0; i < kAgents; ++i) join(i);
  }

  /// The pids of the members still in the group (active), by what their agents say.
  std::vector<std::string> active() {
    std::vector<McMember> out;
    for (std::size_t i = 0; i < kAgents; ++i) {
      for (const auto& m : members_[i]) {
        if (record(m)["active"] == true) out.push_back(m);
      }
    }
    return pids_of(out);
  }

  /// Whether every active member's last view holds exactly the active members.
  bool one_view() {
    auto all = active();
    if (all.empty()) return false;
    for (std::size_t i = 0; i < kAgents; ++i) {
      for (const auto& m : members_[i]) {
        if (record(m)["active"] == true && view_members(m) != all) return false;
      }
    }
    return true;
  }

  /// Every member's log: the live ones now, the killed ones as taken before the kill.
  std::map<std::string, Term> logs() {
    auto out = killed_logs_;
    for (std::size_t i = 0; i < kAgents; ++i) {
      for (const auto& m : members_[i]) out[m.pid] = record(m);
    }
    return out;
  }

  std::string summary() const {
    return std::to_string(steps_) + " steps: " + std::to_string(joins_) + " joins, " + std::to_string(broadcasts_) +
           " broadcasts, " + std::to_string(kills_) + " kills, " + std::to_string(splits_) + " splits";
  }

  McMember any_active_member() {
    for (std::size_t i = 0; i < kAgents; ++i) {
      for (const auto& m : members_[i]) {
        if (record(m)["active"] == true) return m;
      }
    }
    throw std::runtime_error("no active member");
  }

  std::size_t steps_ = 0;
  std::string doing_;  ///< the step under way, for a failure's message

 private:
  static Term options() { return {{"auto_connect", false}}; }

  std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

  std::vector<std::size_t> live() const {
    std::vector<std::size_t> out;
    for (std::size_t i = 0; i < kAgents; ++i) {
      if (agents_[i]) out.push_back(i);
    }
    return out;
  }
  std::size_t live_agent() {
    auto l = live();
    return l[pick(l.size())];
  }

  /// A random member of a live agent, if any (it may have been evicted meanwhile).
  std::optional<McMember> some_member() {
    std::vector<McMember> all;
    for (auto i : live()) all.insert(all.end(), members_[i].begin(), members_[i].end());
    if (all.empty()) return std::nullopt;
    return all[pick(all.size())];
  }

  void join(std::size_t i) {
    if (!agents_[i] || members_[i].size() >= kMembersPerAgent) return;
    McMember m{agents_[i].get(), agents_[i]->spawn()};
    doing_ = "join " + m.pid + " on " + m.agent->name();
    // Joins may fail while the cluster is torn (timeout, node_down): then it is no member.
    auto r = m.agent->call("multicast_join", member_args(m, {{"join_timeout_ms", 3000}}), 15s);
    if (r["ok"] == true) {
      members_[i].push_back(m);
      ++joins_;
    } else {
      INFO("join on " << m.agent->name() << ": " << r.dump());
      CHECK((r["code"] == "timeout" || r["code"] == "node_down"));
    }
  }

  void leave() {
    if (auto m = some_member()) {
      doing_ = "leave " + m->pid;
      m->agent->call("multicast_leave", member_args(*m), 15s);
    }
  }

  void broadcast() {
    auto m = some_member();
    if (!m) return;
    auto count = 20 + pick(300);
    auto tag = "t" + std::to_string(++broadcasts_);
    doing_ = "broadcast " + std::to_string(count) + " from " + m->pid;
    auto r = m->agent->call("multicast_broadcast_many", member_args(*m, {{"count", count}, {"prefix", tag}}), 30s);
    if (r["ok"] != true) CHECK(r["code"] == "not_in_group");  // evicted or left meanwhile
  }

  void confirmed_broadcast() {
    auto m = some_member();
    if (!m) return;
    auto tag = "c" + std::to_string(++broadcasts_);
    doing_ = "confirmed_broadcast from " + m->pid;
    auto r = m->agent->call("multicast_confirmed_broadcast",
                            member_args(*m, {{"message", {tag, 1}}, {"timeout_ms", 5000}}), 15s);
    if (r["ok"] != true) CHECK((r["code"] == "not_in_group" || r["code"] == "timeout"));
  }

  void split_or_heal() {
    if (!cut_.empty()) return heal();
    auto l = live();
    if (l.size() < 2) return;
    std::shuffle(l.begin(), l.end(), rng_);
    doing_ = "split";
    auto side = 1 + pick(l.size() - 1);  // l[0..side) against the rest
    for (std::size_t a = 0; a < side; ++a) {
      for (std::size_t b = side; b < l.size(); ++b) {
        agents_[l[a]]->ok("disconnect", {{"node", agents_[l[b]]->name()}});
        cut_.insert({l[a], l[b]});
      }
    }
    ++splits_;
  }

  void heal() {
    doing_ = "heal";
    for (auto [a, b] : cut_) {
      if (agents_[a] && agents_[b]) agents_[a]->ok("connect", {{"endpoint", agents_[b]->endpoint()}});
    }
    cut_.clear();
  }

  void kill() {
    auto l = live();
    if (l.size() <= 2) return;  // a majority of the storm stays up
    auto i = l[pick(l.size())];
    doing_ = "kill " + agents_[i]->name();
    for (const auto& m : members_[i]) killed_logs_[m.pid] = record(m);
    agents_[i]->kill();
    agents_[i].reset();
    members_[i].clear();
    ++kills_;
  }

  void restart() {
    for (std::size_t i = 0; i < kAgents; ++i) {
      if (!agents_[i]) {
        heal();  // a restarted node dials everyone it is given: no split meanwhile
        restart_agent(i);
        join(i);
        return;
      }
    }
  }

  void restart_agent(std::size_t i) {
    doing_ = "restart w" + std::to_string(i + 1);
    std::vector<std::string> seeds;
    for (auto j : live()) seeds.push_back(agents_[j]->endpoint());
    agents_[i] = start("w" + std::to_string(i + 1), seeds, {kScope}, options());
    auto expected = seeds.size();
    REQUIRE(eventually([&] {
      return agents_[i]->ok("subcluster", {{"kind", "multicast"}, {"scope", kScope}})["nodes"].size() == expected;
    }));
  }

  std::mt19937_64 rng_;
  std::vector<std::unique_ptr<Agent>> agents_;
  std::vector<std::vector<McMember>> members_;         // by agent
  std::set<std::pair<std::size_t, std::size_t>> cut_;  // agent pairs disconnected
  std::map<std::string, Term> killed_logs_;
  std::size_t joins_ = 0, broadcasts_ = 0, kills_ = 0, splits_ = 0;
};

}  // namespace

TEST_CASE(
    "multicast: a storm of joins, leaves, broadcasts, kills, restarts, splits and heals on five nodes keeps "
    "SPEC 8 in every member's log, and the group ends in one view",
    "[process][multicast][storm]") {
  auto seed = env_or("SYN_STORM_SEED", static_cast<std::uint64_t>(std::random_device{}()));
  auto seconds = env_or("SYN_STORM_SECONDS", 60);
  INFO("SYN_STORM_SEED=" << seed);
  Storm storm(seed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      storm.step();
    } catch (const std::exception& e) { FAIL("step " << storm.steps_ << " (" << storm.doing_ << "): " << e.what()); }
    ++storm.steps_;
  }
  INFO(storm.summary());
  storm.settle();
  bool whole = eventually([&] { return storm.one_view(); }, 90s);
  auto logs = storm.logs();
  INFO("active: " << Term(storm.active()).dump());
  if (!whole) {
    for (const auto& [pid, rec] : logs) UNSCOPED_INFO(pid << ": " << rec["views"].dump());
  }
  REQUIRE(whole);
  // The group works: a confirmed broadcast reaches every member.
  auto m = storm.any_active_member();
  m.agent->ok("multicast_confirmed_broadcast", member_args(m, {{"message", {"final", 1}}, {"timeout_ms", 10000}}), 15s);
  logs = storm.logs();
  for (const auto& pid : storm.active()) CHECK(logs[pid]["received"].back()["message"] == Term::array({"final", 1}));
  auto broken = check_multicast_logs(logs);
  for (const auto& line : broken) FAIL_CHECK(line);
  std::size_t messages = 0;
  for (const auto& [pid, rec] : logs) messages += rec["received"].size();
  WARN("storm seed " << seed << ": " << storm.summary() << "; " << logs.size() << " member logs, " << messages
                     << " deliveries checked, " << broken.size() << " broken");
}
