// A storm (SPEC 2, 4, 5): 4 nodes, threads on every node doing random joins, leaves, meta
// updates, kills and spawns over a few groups, from local and remote callers, for a bounded
// time; then quiescence: every node agrees on members and counts, no member refers to a dead
// process, and on every node the callbacks and a scope subscription, replayed, give exactly
// that node's members (one callback per change, none lost or doubled).
#include "cluster/cluster_helpers.hpp"
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <random>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;

namespace {

/// Replays the group callbacks of one node into a replica of its own and notes any callback
/// that does not fit (a join of a present member, a leave or update of an absent one, an
/// update whose previous meta is not the current one).
class ReplayHandler : public EventHandler {
 public:
  void on_process_joined(std::string_view, const Term& group, const Pid& pid, const Term& meta,
                         const Reason&) override {
    std::lock_guard lock(mutex_);
    auto& g = groups_[group.dump()];
    if (g.count(pid)) note("join of a present member " + pid.to_string() + " in " + group.dump());
    g[pid] = meta;
  }
  void on_group_process_updated(std::string_view, const Term& group, const Pid& pid, const Term& previous,
                                const Term& meta, const Reason&) override {
    std::lock_guard lock(mutex_);
    auto& g = groups_[group.dump()];
    auto it = g.find(pid);
    if (it == g.end()) {
      note("update of an absent member " + pid.to_string() + " in " + group.dump());
    } else if (it->second != previous) {
      note("update from " + previous.dump() + " but the meta was " + it->second.dump());
    }
    g[pid] = meta;
  }
  void on_process_left(std::string_view, const Term& group, const Pid& pid, const Term& meta, const Reason&) override {
    std::lock_guard lock(mutex_);
    auto& g = groups_[group.dump()];
    auto it = g.find(pid);
    if (it == g.end()) {
      note("leave of an absent member " + pid.to_string() + " in " + group.dump());
    } else {
      if (it->second != meta) note("leave with meta " + meta.dump() + " but the meta was " + it->second.dump());
      g.erase(it);
    }
  }
  std::vector<Member> members(const Term& group) const {
    std::lock_guard lock(mutex_);
    std::vector<Member> out;
    auto it = groups_.find(group.dump());
    if (it == groups_.end()) return out;
    for (auto& [pid, meta] : it->second) out.push_back(Member{pid, meta});
    return out;
  }
  std::vector<std::string> errors() const {
    std::lock_guard lock(mutex_);
    return errors_;
  }

 private:
  void note(std::string e) {
    if (errors_.size() < 20) errors_.push_back(std::move(e));
  }
  mutable std::mutex mutex_;
  std::map<std::string, std::map<Pid, Term>> groups_;
  std::vector<std::string> errors_;
};

/// The same replay for a scope subscription.
struct SubReplay {
  std::mutex mutex;
  std::map<std::string, std::map<Pid, Term>> groups;
  std::vector<std::string> errors;
  void start(const std::map<Term, std::vector<Member>>& current) {
    std::lock_guard lock(mutex);
    for (auto& [group, members] : current) {
      for (auto& m : members) groups[group.dump()][m.pid] = m.meta;
    }
  }
  void apply(const GroupEvent& e) {
    std::lock_guard lock(mutex);
    auto& g = groups[e.group.dump()];
    for (auto& m : e.members) {
      bool present = g.count(m.pid) != 0;
      if (e.type == GroupEvent::Type::join) {
        if (present && errors.size() < 20) errors.push_back("join of a present member " + m.pid.to_string());
        g[m.pid] = m.meta;
      } else if (e.type == GroupEvent::Type::leave) {
        if (!present && errors.size() < 20) errors.push_back("leave of an absent member " + m.pid.to_string());
        g.erase(m.pid);
      } else {
        if (!present && errors.size() < 20) errors.push_back("update of an absent member " + m.pid.to_string());
        g[m.pid] = m.meta;
      }
    }
  }
  std::vector<Member> members(const Term& group) {
    std::lock_guard lock(mutex);
    std::vector<Member> out;
    for (auto& [pid, meta] : groups[group.dump()]) out.push_back(Member{pid, meta});
    return out;
  }
};

}  // namespace

namespace {

/// The storm; with `split`, the link between the first two nodes is cut during the middle
/// third of it (auto_connect off: the others keep seeing both) and healed after.
void run_storm(const std::string& prefix, bool split) {
  constexpr int kNodes = 4;
  constexpr int kThreadsPerNode = 2;
  const auto storm_time = std::chrono::milliseconds(split ? 3500 : 2500);
  const std::vector<Term> groups = {"a", "b", "c", Term::array({"d", 1}), 5};

  std::shared_ptr<ReplayHandler> handlers[kNodes];
  Nodes nodes;
  std::vector<Node*> all;
  for (int i = 0; i < kNodes; ++i) {
    handlers[i] = std::make_shared<ReplayHandler>();
    all.push_back(&nodes.add(prefix + std::to_string(i + 1), {"s"}, !split,
                             [&](NodeOptions& o) { o.event_handler = handlers[i]; }));
  }
  REQUIRE(wait_scope_mesh(all, "s"));
  // A scope subscription on every node, from the start.
  std::shared_ptr<SubReplay> sub_replays[kNodes];
  std::vector<Subscription> subs;
  for (int i = 0; i < kNodes; ++i) {
    sub_replays[i] = std::make_shared<SubReplay>();
    std::map<Term, std::vector<Member>> current;
    auto r = sub_replays[i];
    subs.push_back(all[i]->groups("s").monitor_scope([r](const GroupEvent& e) { r->apply(e); }, &current));
    r->start(current);
  }

  // The process pool: handles per node (kept alive here), pids shared by all threads.
  std::mutex pool_mutex;
  std::vector<std::unique_ptr<Process>> handles;
  std::vector<Pid> pids;
  auto spawn_on = [&](int node) {
    auto p = std::make_unique<Process>(all[node]->spawn());
    std::lock_guard lock(pool_mutex);
    pids.push_back(p->pid());
    handles.push_back(std::move(p));
  };
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < 6; ++k) spawn_on(i);
  }
  auto random_pid = [&](std::mt19937& rng) {
    std::lock_guard lock(pool_mutex);
    return pids[std::uniform_int_distribution<std::size_t>(0, pids.size() - 1)(rng)];
  };

  const auto deadline = std::chrono::steady_clock::now() + storm_time;
  std::atomic<long> ops{0}, unexpected_errors{0};
  std::mutex error_mutex;
  std::vector<std::string> error_samples;
  auto unexpected = [&](const std::string& what, Errc e) {
    ++unexpected_errors;
    std::lock_guard lock(error_mutex);
    if (error_samples.size() < 10) error_samples.push_back(what + ": " + std::string(to_string(e)));
  };
  std::vector<std::thread> threads;
  for (int node = 0; node < kNodes; ++node) {
    for (int t = 0; t < kThreadsPerNode; ++t) {
      threads.emplace_back([&, node, t] {
        std::mt19937 rng(static_cast<unsigned>(node * 100 + t + 1));
        auto g = all[node]->groups("s");
        std::vector<std::future<Result<void>>> pipelined;
        while (std::chrono::steady_clock::now() < deadline) {
          int op = std::uniform_int_distribution<int>(0, 99)(rng);
          const Term& group = groups[std::uniform_int_distribution<std::size_t>(0, groups.size() - 1)(rng)];
          Pid pid = random_pid(rng);
          int meta = std::uniform_int_distribution<int>(0, 3)(rng);
          ++ops;
          // node_down is expected across the cut, and for a call caught by it.
          auto expected = [&](Errc e, Errc also) { return e == also || (split && e == Errc::node_down); };
          if (op < 35) {
            auto r = g.join(group, pid, meta);
            if (!r && !expected(r.error(), Errc::not_alive)) unexpected("join", r.error());
          } else if (op < 45) {
            pipelined.push_back(g.join_async(group, pid, meta));
          } else if (op < 65) {
            auto r = g.leave(group, pid);
            if (!r && !expected(r.error(), Errc::not_in_group)) unexpected("leave", r.error());
          } else if (op < 70) {
            pipelined.push_back(g.leave_async(group, pid));
          } else if (op < 85) {
            auto r = g.update_member(
                group, pid, [](const Term& m) { return m.is_number_integer() ? Term(m.get<int>() + 10) : Term(0); });
            if (!r && !expected(r.error(), Errc::not_alive) && r.error() != Errc::undefined) {
              unexpected("update", r.error());
            }
          } else if (op < 93) {
            all[std::uniform_int_distribution<int>(0, kNodes - 1)(rng)]->exit(pid, "storm");
          } else {
            spawn_on(node);
          }
          if (pipelined.size() > 20) {
            for (auto& f : pipelined) {
              auto r = f.get();
              if (!r && !expected(r.error(), Errc::not_alive) && r.error() != Errc::not_in_group) {
                unexpected("async", r.error());
              }
            }
            pipelined.clear();
          }
        }
        for (auto& f : pipelined) (void)f.get();
      });
    }
  }
  if (split) {
    // Cut once the storm is well under way, heal a few thousand operations later; the storm
    // goes on meanwhile. (CHECK, not REQUIRE: the threads must be joined.)
    eventually([&] { return ops >= 2000; }, storm_time);
    CHECK(cut(*all[0], *all[1]));
    long at_cut = ops;
    eventually([&] { return ops >= at_cut + 3000; }, storm_time);
    CHECK(heal(*all[0], *all[1], "s"));
  }
  for (auto& th : threads) th.join();
  INFO(ops << " operations");
  {
    std::lock_guard lock(error_mutex);
    for (auto& e : error_samples) UNSCOPED_INFO(e);
  }
  CHECK(unexpected_errors == 0);

  // Quiescence: the same view everywhere, only live processes.
  bool ok = eventually([&] { return converged(all, "s", groups); }, 20s);
  INFO(views(all, "s", groups));
  REQUIRE(ok);
  std::size_t total = 0;
  for (auto& group : groups) total += all[0]->groups("s").member_count(group);
  CHECK(total > 0);
  for (auto* node : all) syn::test::check_invariants(*node);
  for (int i = 0; i < kNodes; ++i) {
    INFO("node " << all[i]->name());
    auto g = all[i]->groups("s");
    // Callbacks and subscription events are asynchronous: wait until they caught up.
    bool hooks_ok = eventually([&] {
      for (auto& group : groups) {
        if (handlers[i]->members(group) != g.members(group) || sub_replays[i]->members(group) != g.members(group)) {
          return false;
        }
      }
      return true;
    });
    CHECK(hooks_ok);
    for (auto& e : handlers[i]->errors()) UNSCOPED_INFO("hook: " << e);
    CHECK(handlers[i]->errors().empty());
    std::lock_guard lock(sub_replays[i]->mutex);
    for (auto& e : sub_replays[i]->errors) UNSCOPED_INFO("subscription: " << e);
    CHECK(sub_replays[i]->errors.empty());
  }
}

}  // namespace

TEST_CASE("groups: a storm of joins, leaves, updates and kills converges", "[groups][storm]") {
  run_storm("gstorm", false);
}

TEST_CASE("groups: a storm with a partial net split in the middle converges", "[groups][storm][split]") {
  run_storm("gsplit", true);
}
