#include "sim/multicast_workload.hpp"

#include "multicast/member_state.hpp"
#include "multicast/multicast_scope.hpp"
#include "support/multicast_checker.hpp"

#include <syn/multicast.hpp>

#include <algorithm>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>

namespace syn::sim {

namespace {

constexpr const char* kScope = "mc";

using detail::MemberState;
using detail::MulticastScope;

Term view_term(const View& view) {
  Term members = Term::array();
  for (const auto& pid : view.members) members.push_back(pid.to_string());
  return {{"coordinator", view.id.coordinator.to_string()}, {"number", view.id.number}, {"members", members}};
}

/// One member's callbacks, in the checker's record format ({views, received, left}), and the
/// order rules of SPEC 8.1.3 checked as they come: on_joined first and once, nothing after
/// on_left.
class Recorder final : public MulticastHandler {
 public:
  Recorder(std::string pid, std::vector<std::string>& violations) : pid_(std::move(pid)), violations_(violations) {}

  void on_joined(const View& view) override {
    if (joined_) bad("on_joined twice");
    joined_ = true;
    remember(view);
  }
  void on_view(const ViewChange& change) override {
    if (!joined_) bad("on_view before on_joined");
    check_change(change);
    remember(change.view);
  }
  void on_message(const Pid& from, const Term& message) override {
    if (!joined_) bad("on_message before on_joined");
    received_.push_back({{"from", from.to_string()}, {"message", message}, {"view", current_}});
  }
  void on_left(LeaveReason reason) override {
    if (!joined_) bad("on_left before on_joined");
    left_ = std::string(to_string(reason));
  }

  Term record() const {
    Term views = Term::array(), received = Term::array();
    for (const auto& v : views_) views.push_back(v);
    for (const auto& r : received_) received.push_back(r);
    return {{"views", views}, {"received", received}, {"left", left_ ? Term(*left_) : Term(nullptr)}};
  }
  /// The last view it installed (empty before its first).
  const std::string& current_view() const { return current_; }
  /// Whether it received `message` from `from`.
  bool received(const std::string& from, const Term& message) const { return view_of(from, message).has_value(); }
  /// The view (as current_view() says it) it received `message` from `from` in, if it did.
  std::optional<std::string> view_of(const std::string& from, const Term& message) const {
    for (const auto& r : received_) {
      if (r.at("from") == Term(from) && r.at("message") == message) return r.at("view").get<std::string>();
    }
    return std::nullopt;
  }
  /// Whether `pid` is a member of every view it installed from `view` (as current_view() says
  /// it) on: false when it never installed `view`.
  bool in_every_view_since(const std::string& view, const std::string& pid) const {
    bool since = false;
    for (const auto& v : views_) {
      since = since || key_of(v) == view;
      if (!since) continue;
      const auto& members = v.at("members");
      if (std::find(members.begin(), members.end(), Term(pid)) == members.end()) return false;
    }
    return since;
  }
  /// How many of `from`'s messages tagged `tag` it received.
  std::size_t received_from(const std::string& from, const std::string& tag) const {
    return static_cast<std::size_t>(std::count_if(received_.begin(), received_.end(), [&](const Term& r) {
      return r.at("from").get<std::string>() == from && r.at("message")[0].get<std::string>() == tag;
    }));
  }

 private:
  static std::string key_of(const Term& view) {
    return view.at("coordinator").get<std::string>() + "#" + std::to_string(view.at("number").get<std::int64_t>());
  }
  void remember(const View& view) {
    if (left_) bad("a view after on_left");
    views_.push_back(view_term(view));
    current_ = key_of(views_.back());
    members_ = view.members;
  }
  /// API.md: `joined` lists the members new in the view, `left` those gone since the previous
  /// one (SPEC 8.1.4: every member gone is reported, with its reason).
  void check_change(const ViewChange& change) {
    auto sorted = [](std::vector<Pid> pids) {
      std::sort(pids.begin(), pids.end());
      return pids;
    };
    std::vector<Pid> before = sorted(members_), after = sorted(change.view.members), gone, added;
    std::set_difference(before.begin(), before.end(), after.begin(), after.end(), std::back_inserter(gone));
    std::set_difference(after.begin(), after.end(), before.begin(), before.end(), std::back_inserter(added));
    std::vector<Pid> told;
    for (const auto& [pid, reason] : change.left) told.push_back(pid);
    if (sorted(told) != gone) bad("view " + key_of(view_term(change.view)) + ": `left` is not the members gone");
    if (sorted(change.joined) != added)
      bad("view " + key_of(view_term(change.view)) + ": `joined` is not the members new");
  }
  void bad(const std::string& what) { violations_.push_back(pid_ + " callbacks: " + what); }

  std::string pid_;
  std::vector<std::string>& violations_;
  bool joined_ = false;
  std::vector<Term> views_, received_;
  std::vector<Pid> members_;  ///< of the last view it installed
  std::string current_;
  std::optional<std::string> left_;
};

/// One member as the workload holds it.
struct Member {
  std::string node;
  Term group;
  std::shared_ptr<MemberState> state;
  std::shared_ptr<Recorder> recorder;
  /// Numbers of its pid's ["m", n] broadcasts so far, shared by its memberships of the group
  /// (a member that left and joined again goes on numbering where it stopped).
  std::shared_ptr<std::int64_t> published;
};

bool phase_is(const MemberState& m, MemberState::Phase phase) {
  detail::MutexLock lock(m.mutex);
  return m.phase == phase;
}

/// multicast_max_in_flight of the seeds at the limit: two or three of the workload's messages.
constexpr std::size_t kTightInFlight = 16;

class MulticastScenario {
 public:
  MulticastScenario(std::uint64_t seed, const MulticastScenarioConfig& config) : config_(config), world_(seed) {
    world_.set_tracing(config.trace);
    world_.after_each_event([this] { check_confirmations(); });
    // A third of the seeds run at the flow-control limit (SPEC 8.3.3): a few small messages in
    // flight per node, so that broadcasts are refused (`timeout`: a simulated node cannot
    // block) and every confirmation must give its bytes back, or the last broadcasts fail.
    if (random().below(3) == 0) max_in_flight_ = kTightInFlight;
    outcome_.seed = seed;
    for (std::size_t i = 0; i < config.groups; ++i) groups_.push_back(Term("g" + std::to_string(i)));
  }

  Outcome run() {
    for (std::size_t i = 0; i < config_.nodes; ++i) {
      node_names_.push_back("m" + std::to_string(i + 1));
      world_.add_node(node_names_.back(), options(), {kScope});
      spawn(node_names_.back());
    }
    world_.run_until(world_.now() + 1'000'000);  // the mesh forms
    std::size_t steps = config_.operations + static_cast<std::size_t>(config_.operations * config_.fault_rate);
    Micros spacing = config_.run_time / static_cast<Micros>(std::max<std::size_t>(steps, 1));
    for (std::size_t i = 0; i < steps; ++i) {
      world_.run_until(world_.now() + random().between(0, 2 * spacing));
      if (random().chance(config_.fault_rate)) {
        fault();
      } else {
        operation();
      }
    }
    // The heal: everything back, time for failure detection, view changes and merges.
    for (const auto& name : node_names_) {
      if (world_.node(name)->crashed()) restart(name);
    }
    world_.heal_all();
    for (auto* node : world_.nodes()) node->set_callback_delay(0);
    slow_.clear();
    world_.run_until(world_.now() + 60'000'000);
    // A last broadcast from every member: each must reach every member.
    // (Refused while the node is over the flow-control limit: again once confirmations came. A
    // node whose confirmations never give their bytes back refuses them all, and fails below.)
    for (auto& [pid, m] : members_) {
      for (int attempt = 0; live_active(m) && attempt < 20 && !broadcast(m, Term::array({"final", 1})); ++attempt) {
        world_.run_until(world_.now() + 500'000);
      }
    }
    world_.run_until(world_.now() + 10'000'000);
    for (auto* node : world_.nodes()) node->run_callbacks();
    check();
    outcome_.simulated = world_.now();
    outcome_.trace = world_.trace_lines();
    return std::move(outcome_);
  }

 private:
  Random& random() { return world_.random(); }

  NodeOptions options() const {
    NodeOptions o;
    o.view_change_timeout = std::chrono::milliseconds(1000);
    o.multicast_max_lag = std::chrono::milliseconds(5000);
    if (max_in_flight_) o.multicast_max_in_flight = *max_in_flight_;
    return o;
  }

  /// A broadcast of `m`: false when flow control refused it (nothing was queued).
  bool broadcast(Member& m, const Term& message) {
    auto r = scope(m.node)->broadcast(m.state, message);
    if (!r && r.error() == Errc::timeout) {
      world_.trace(m.state->pid.to_string() + " broadcast refused: over multicast_max_in_flight");
      return false;
    }
    return true;
  }

  std::shared_ptr<MulticastScope> scope(const std::string& node) {
    return world_.node(node)->scopes().get<MulticastScope>(Kind::multicast, kScope);
  }

  void spawn(const std::string& node) {
    for (std::size_t i = 0; i < config_.processes_per_node; ++i) world_.node(node)->spawn();
  }

  void restart(const std::string& name) {
    world_.restart(name, options());
    spawn(name);
  }

  bool live_active(const Member& m) {
    SimNode* node = world_.node(m.node);
    return node && !node->crashed() && node->is_local(m.state->pid) && m.state->in_group();
  }

  /// A random member on a live node that is in its group now.
  Member* random_active() {
    std::vector<Member*> active;
    for (auto& [pid, m] : members_) {
      if (live_active(m)) active.push_back(&m);
    }
    return active.empty() ? nullptr : active[random().below(active.size())];
  }

  std::string random_live_node() {
    std::vector<std::string> live;
    for (const auto& name : node_names_) {
      if (!world_.node(name)->crashed()) live.push_back(name);
    }
    return live.empty() ? std::string() : live[random().below(live.size())];
  }

  void operation() {
    ++outcome_.operations;
    auto choice = random().below(20);
    if (choice < 4) return join();
    Member* m = random_active();
    if (!m) return join();
    if (choice < 5) {
      world_.trace(m->state->pid.to_string() + " leaves " + m->group.dump());
      (void)scope(m->node)->leave(m->state, false);
      if (random().below(3) == 0) {
        // As leave() does past its deadline, here at the worst moment: before any view change.
        world_.trace(m->state->pid.to_string() + " gives up its leave");
        scope(m->node)->give_up_leave(m->state);
      }
    } else if (choice < 6) {
      world_.trace("kill " + m->state->pid.to_string());
      if (auto process = world_.node(m->node)->find_local(m->state->pid)) process->kill("boom");
      world_.node(m->node)->spawn();
    } else if (choice < 8) {
      auto n = ++*m->published;
      world_.trace(m->state->pid.to_string() + " confirmed_broadcast m " + std::to_string(n));
      // Who must have it once it is confirmed: the members in its group now that are still in
      // it then (they were in the view it was published in: SPEC 8.3.2).
      std::vector<Member> audience;
      for (const auto& [key, other] : members_) {
        if (other.group == m->group && live_active(other)) audience.push_back(other);
      }
      auto future = scope(m->node)->confirmed(m->state, Term::array({"m", n}));
      if (future) {
        unchecked_.push_back(confirmations_.size());
        confirmations_.push_back({m->node, world_.node(m->node)->creation(), std::move(*future),
                                  m->state->pid.to_string(), *m, n, std::move(audience)});
      }
      if (!future && future.error() == Errc::timeout) world_.trace("  refused: over multicast_max_in_flight");
    } else {
      // A burst, as publishers send them.
      auto count = random().between(1, 5);
      for (std::int64_t i = 0; i < count; ++i) {
        auto n = ++*m->published;
        world_.trace(m->state->pid.to_string() + " broadcast m " + std::to_string(n));
        if (!broadcast(*m, Term::array({"m", n}))) break;  // the rest of the burst would be refused too
      }
    }
  }

  void join() {
    std::string node = random_live_node();
    if (node.empty()) return;
    auto pids = world_.node(node)->live_processes();
    if (pids.empty()) return;
    Pid pid = pids[random().below(pids.size())];
    const Term& group = groups_[random().below(groups_.size())];
    std::string key = pid.to_string() + " " + group.dump();
    if (auto it = members_.find(key); it != members_.end() && !phase_is(*it->second.state, MemberState::Phase::left)) {
      return;  // a member of it already, or joining
    }
    auto recorder = std::make_shared<Recorder>(pid.to_string() + " in " + group.dump(), outcome_.violations);
    auto state = scope(node)->begin_join(group, pid, recorder, MulticastOptions{});
    world_.trace(pid.to_string() + " joins " + group.dump() + (state ? "" : " (refused)"));
    if (!state) return;
    // A member that left and joins again is a new member: its old record is kept aside.
    auto published = std::make_shared<std::int64_t>(0);
    if (auto it = members_.find(key); it != members_.end()) {
      published = it->second.published;
      retired_.push_back(std::move(it->second));
    }
    members_[key] = Member{node, group, *state, recorder, published};
  }

  /// SPEC 8.3.2 at each instant: a confirmation that came back ok came after every member of
  /// the message's view that has not left it received it. "Not left": a member of that view
  /// and of every view the publisher installed since (a split or a leave is leaving).
  void check_confirmations() {
    std::erase_if(unchecked_, [&](std::size_t i) {
      Confirmation& c = confirmations_[i];
      if (c.future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
      c.checked = true;
      Result<void> answer;
      try {
        answer = c.future.get();
      } catch (const std::future_error&) {
        // Its promise went without an answer: only a crashed node (its handler gone) may do that.
        SimNode* node = world_.node(c.node);
        if (!node->crashed() && node->creation() == c.creation) {
          violation("a confirmed_broadcast of " + c.publisher + " was dropped without an answer");
        }
        return true;
      }
      world_.trace(c.publisher + " confirmed m " + std::to_string(c.n) + ": " +
                   (answer ? std::string("ok") : std::string(to_string(answer.error()))));
      if (!answer) return true;  // failed: nothing promised
      // A publisher that left since: its record ends there, and the views its node went
      // through after (which may drop a member: a split) are nobody's to read here.
      if (!live_active(c.publisher_member)) return true;
      const Term message = Term::array({"m", c.n});
      // Its view: where the publisher received it (its own messages come back to it).
      const auto& publisher_recorder = c.publisher_member.recorder;
      auto view = publisher_recorder->view_of(c.publisher, message);
      if (!view) return true;
      for (const Member& member : c.audience) {
        const std::string pid = member.state->pid.to_string();
        if (!live_active(member) || !publisher_recorder->in_every_view_since(*view, pid)) continue;  // left it
        if (!member.recorder->received(c.publisher, message)) {
          violation("confirmed_broadcast m " + std::to_string(c.n) + " of " + c.publisher + " came back ok before " +
                    pid + ", in its view " + *view + " and every view since, received it");
        }
      }
      return true;
    });
  }

  void fault() {
    ++outcome_.faults;
    if (config_.slow_nodes && random().chance(0.2)) {
      SimNode* node = world_.node(node_names_[random().below(node_names_.size())]);
      auto delay = slow_.count(node->name()) ? 0 : random().between(100'000, 8'000'000);
      world_.trace(node->name() + " callbacks lag " + std::to_string(delay / 1000) + " ms");
      node->set_callback_delay(delay);
      if (delay) {
        slow_.insert(node->name());
      } else {
        slow_.erase(node->name());
      }
      return;
    }
    random_fault(world_, node_names_, FaultMix{config_.crashes, config_.one_way_cuts, true, config_.crash_together},
                 [this](const std::string& name) { restart(name); });
  }

  // ---- the checks -------------------------------------------------------------------------

  void violation(const std::string& what) { outcome_.violations.push_back(what); }

  void check() {
    // How many members were evicted (laggards, silent or cut-off nodes), for the trace.
    std::size_t evicted = 0;
    for (const auto& [key, m] : members_) evicted += m.recorder->record().at("left") == Term("evicted") ? 1 : 0;
    for (const auto& m : retired_) evicted += m.recorder->record().at("left") == Term("evicted") ? 1 : 0;
    world_.trace(std::to_string(evicted) + " member(s) evicted");
    for (auto* n : world_.nodes()) {
      if (n->malformed() != 0) violation(n->name() + " read " + std::to_string(n->malformed()) + " malformed frames");
    }
    // SPEC 8.1 and 8.2 over every member's log (per group: views are per group).
    for (const auto& group : groups_) {
      std::map<std::string, Term> records;
      auto add = [&](const Member& m, std::size_t incarnation) {
        if (m.group != group) return;
        records[m.state->pid.to_string() + (incarnation ? "/" + std::to_string(incarnation) : "")] =
            m.recorder->record();
      };
      for (const auto& [key, m] : members_) add(m, 0);
      for (std::size_t i = 0; i < retired_.size(); ++i) add(retired_[i], i + 1);
      for (const auto& broken : test::multicast::check_multicast_logs(records)) {
        violation(group.dump() + ": " + broken);
      }
      check_healed(group);
    }
    // A confirmed broadcast of a node that did not crash has its answer once all healed.
    for (auto& c : confirmations_) {
      SimNode* node = world_.node(c.node);
      if (node->creation() != c.creation) continue;  // its node crashed: nobody is left to answer
      if (!c.checked && c.future.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        violation("a confirmed_broadcast on " + c.node + " has no answer after the heal");
      }
    }
  }

  /// After the heal: the group is one view of exactly its live members, every join on a live
  /// node has ended, and every member's last broadcast reached every member.
  void check_healed(const Term& group) {
    std::set<std::string> live;
    std::map<std::string, const Member*> by_pid;
    for (const auto& [key, m] : members_) {
      if (m.group != group) continue;
      SimNode* node = world_.node(m.node);
      if (!node || node->crashed() || !node->is_local(m.state->pid)) continue;
      if (phase_is(*m.state, MemberState::Phase::joining)) {
        violation(group.dump() + ": " + m.state->pid.to_string() + "'s join never ended");
      }
      if (!live_active(m)) continue;
      live.insert(m.state->pid.to_string());
      by_pid[m.state->pid.to_string()] = &m;
    }
    std::set<std::string> views;
    for (const auto& [pid, m] : by_pid) views.insert(m->recorder->current_view());
    if (views.size() > 1) {
      std::string all;
      for (const auto& v : views) all += " " + v;
      violation(group.dump() + ": the live members end in " + std::to_string(views.size()) + " views:" + all);
      return;
    }
    if (views.empty()) return;
    auto view = scope(by_pid.begin()->second->node)->view(group);
    std::set<std::string> in_view;
    if (view) {
      for (const auto& pid : view->members) in_view.insert(pid.to_string());
    }
    if (in_view != live) {
      violation(group.dump() + ": the final view holds " + std::to_string(in_view.size()) + " members, " +
                std::to_string(live.size()) + " are live");
    }
    for (const auto& [to, m] : by_pid) {
      for (const auto& from : live) {
        if (m->recorder->received_from(from, "final") != 1) {
          violation(group.dump() + ": " + to + " did not get " + from + "'s last broadcast once");
        }
      }
    }
  }

  struct Confirmation {
    std::string node;
    std::uint32_t creation;
    std::future<Result<void>> future;
    std::string publisher;
    Member publisher_member;
    std::int64_t n = 0;
    std::vector<Member> audience;  ///< who must have it once it is confirmed ok
    bool checked = false;          ///< its answer was looked at (a future gives it once)
  };

  MulticastScenarioConfig config_;
  World world_;
  /// NodeOptions::multicast_max_in_flight of this seed's nodes (the default when empty).
  std::optional<std::size_t> max_in_flight_;
  Outcome outcome_;
  std::vector<std::string> node_names_;
  std::vector<Term> groups_;
  std::map<std::string, Member> members_;  ///< "pid group" -> its latest membership
  std::vector<Member> retired_;            ///< earlier memberships of a pid that joined again
  std::vector<Confirmation> confirmations_;
  std::vector<std::size_t> unchecked_;  ///< confirmations_ whose answer has not come yet
  std::set<std::string> slow_;          ///< nodes whose callbacks lag now
};

}  // namespace

Outcome run_multicast_scenario(std::uint64_t seed, const MulticastScenarioConfig& config) {
  return MulticastScenario(seed, config).run();
}

}  // namespace syn::sim
