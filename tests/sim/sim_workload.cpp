#include "sim/sim_workload.hpp"

#include "groups/groups_scope.hpp"
#include "registry/registry_scope.hpp"

#include <syn/events.hpp>

#include <algorithm>
#include <future>
#include <iostream>
#include <map>
#include <sstream>

namespace syn::sim {

namespace {

constexpr const char* kScope = "sim";

/// Every callback one node ran, applied to a model of the node's tables as it runs: the
/// callbacks, replayed from empty, must give the node's final state, and each change must come
/// exactly once (a second registration of a name without its removal between is a violation).
class Recorder final : public EventHandler {
 public:
  Recorder(std::string node, std::vector<std::string>& violations) : node_(std::move(node)), violations_(violations) {}

  void on_process_registered(std::string_view, const Term& name, const Pid& pid, const Term& meta,
                             const Reason&) override {
    auto [it, fresh] = names_.try_emplace(name, Entry{pid, meta});
    if (!fresh)
      bad("registered " + name.dump() + " for " + pid.to_string() + " while it shows " + it->second.pid.to_string());
  }
  void on_registry_process_updated(std::string_view, const Term& name, const Pid& pid, const Term& previous,
                                   const Term& meta, const Reason&) override {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.pid != pid) {
      bad("update of " + name.dump() + " for " + pid.to_string() + " which it does not show");
      return;
    }
    if (it->second.meta != previous)
      bad("update of " + name.dump() + ": previous meta " + previous.dump() + " but it showed " +
          it->second.meta.dump());
    it->second.meta = meta;
  }
  void on_process_unregistered(std::string_view, const Term& name, const Pid& pid, const Term&,
                               const Reason&) override {
    auto it = names_.find(name);
    if (it == names_.end() || it->second.pid != pid) {
      bad("unregistered " + name.dump() + " for " + pid.to_string() + " which it does not show");
      return;
    }
    names_.erase(it);
  }
  void on_process_joined(std::string_view, const Term& group, const Pid& pid, const Term& meta,
                         const Reason&) override {
    if (!members_.try_emplace({group, pid}, meta).second) bad("joined " + group.dump() + " twice: " + pid.to_string());
  }
  void on_group_process_updated(std::string_view, const Term& group, const Pid& pid, const Term&, const Term& meta,
                                const Reason&) override {
    auto it = members_.find({group, pid});
    if (it == members_.end()) {
      bad("member update in " + group.dump() + " for a non-member " + pid.to_string());
      return;
    }
    it->second = meta;
  }
  void on_process_left(std::string_view, const Term& group, const Pid& pid, const Term&, const Reason&) override {
    if (!members_.erase({group, pid})) bad("left " + group.dump() + " without being a member: " + pid.to_string());
  }

  const std::map<Term, Entry>& names() const { return names_; }
  const std::map<std::pair<Term, Pid>, Term>& members() const { return members_; }

 private:
  void bad(const std::string& what) { violations_.push_back(node_ + " callbacks: " + what); }

  std::string node_;
  std::vector<std::string>& violations_;
  std::map<Term, Entry> names_;
  std::map<std::pair<Term, Pid>, Term> members_;
};

/// One run: the world, the workload's state, and the checks.
class Scenario {
 public:
  Scenario(std::uint64_t seed, const ScenarioConfig& config) : config_(config), world_(seed) {
    world_.set_tracing(config.trace);
    outcome_.seed = seed;
    for (std::size_t i = 0; i < config.names; ++i) names_.push_back(Term("name-" + std::to_string(i)));
    for (std::size_t i = 0; i < config.groups; ++i) groups_.push_back(Term("group-" + std::to_string(i)));
  }

  Outcome run() {
    for (std::size_t i = 0; i < config_.nodes; ++i) start_node("n" + std::to_string(i + 1));
    world_.run_until(world_.now() + 1'000'000);  // the mesh forms
    std::size_t steps = config_.operations + static_cast<std::size_t>(config_.operations * config_.fault_rate);
    Micros spacing = config_.run_time / static_cast<Micros>(std::max<std::size_t>(steps, 1));
    for (std::size_t i = 0; i < steps; ++i) {
      if (config_.lose_one_frame && i == steps / 2) world_.lose_next_frame();
      world_.run_until(world_.now() + random().between(0, 2 * spacing));
      if (random().chance(config_.fault_rate)) {
        fault();
      } else {
        operation();
      }
    }
    // The heal: everything back, then quiet.
    for (auto& name : node_names_) {
      if (world_.node(name)->crashed()) restart(name);
    }
    world_.heal_all();
    world_.run_until(world_.now() + 5'000'000);
    world_.settle(130'000'000);  // past every call's timeout and late-reply window
    // Quiet means quiet: no frame moves any more (a livelock would go on for ever).
    auto frames = world_.frames_delivered();
    world_.settle(30'000'000);
    if (world_.frames_delivered() != frames) {
      violation("not quiet after the heal: " + std::to_string(world_.frames_delivered() - frames) +
                " frames in the last 30 s of simulated time");
    }
    for (auto* node : world_.nodes()) node->run_callbacks();
    check();
    outcome_.simulated = world_.now();
    outcome_.trace = world_.trace_lines();
    return std::move(outcome_);
  }

 private:
  Random& random() { return world_.random(); }

  void start_node(const std::string& name) {
    NodeOptions options;
    auto recorder = std::make_shared<Recorder>(name, outcome_.violations);
    options.event_handler = recorder;
    options.conflict_resolver = config_.resolver;
    SimNode& node = world_.add_node(name, options, {kScope});
    recorders_[name] = recorder;
    if (std::find(node_names_.begin(), node_names_.end(), name) == node_names_.end()) node_names_.push_back(name);
    for (std::size_t i = 0; i < config_.processes_per_node; ++i) node.spawn();
  }

  void restart(const std::string& name) {
    // A new incarnation starts from empty: so does its model of the callbacks.
    NodeOptions options;
    auto recorder = std::make_shared<Recorder>(name, outcome_.violations);
    options.event_handler = recorder;
    options.conflict_resolver = config_.resolver;
    world_.restart(name, options);
    recorders_[name] = recorder;
    SimNode* node = world_.node(name);
    for (std::size_t i = 0; i < config_.processes_per_node; ++i) node->spawn();
  }

  SimNode* random_live_node() {
    std::vector<SimNode*> live;
    for (auto* n : world_.nodes()) {
      if (!n->crashed()) live.push_back(n);
    }
    return live.empty() ? nullptr : live[random().below(live.size())];
  }

  std::optional<Pid> random_pid(SimNode& on, bool local) {
    SimNode* owner = local ? &on : random_live_node();
    if (!owner) return std::nullopt;
    auto pids = owner->live_processes();
    if (pids.empty()) return std::nullopt;
    return pids[random().below(pids.size())];
  }

  void operation() {
    SimNode* node = random_live_node();
    if (!node) return;
    ++outcome_.operations;
    auto registry = node->scopes().get<detail::RegistryScope>(Kind::registry, kScope);
    auto groups = node->scopes().get<detail::GroupsScope>(Kind::groups, kScope);
    const Term& name = names_[random().below(names_.size())];
    const Term& group = groups_[random().below(groups_.size())];
    Term meta = Term(static_cast<std::int64_t>(random().below(1000)));
    bool local = random().chance(0.7);
    switch (random().below(9)) {
      case 0:
      case 1: {
        auto pid = random_pid(*node, local);
        if (!pid) return;
        world_.trace(node->name() + " registers " + name.dump() + " -> " + pid->to_string());
        if (node->is_local(*pid)) {
          (void)registry->register_name(name, *pid, meta, false);
        } else {
          futures_.push_back(registry->register_name_async(name, *pid, meta));
        }
        return;
      }
      case 2:
        world_.trace(node->name() + " unregisters " + name.dump());
        futures_.push_back(registry->unregister_name_async(name));
        return;
      case 3: {
        auto entry = registry->lookup(name);
        if (!entry || !node->is_local(entry->pid)) return;
        world_.trace(node->name() + " updates " + name.dump());
        (void)registry->update(
            name, [&](const Pid&, const Term&) { return meta; }, nullptr);
        return;
      }
      case 4:
      case 5: {
        auto pid = random_pid(*node, local);
        if (!pid) return;
        world_.trace(node->name() + " joins " + pid->to_string() + " to " + group.dump());
        if (node->is_local(*pid)) {
          (void)groups->join(group, *pid, meta, false);
        } else {
          futures_.push_back(groups->join_async(group, *pid, meta));
        }
        return;
      }
      case 6: {
        auto pid = random_pid(*node, local);
        if (!pid) return;
        world_.trace(node->name() + " removes " + pid->to_string() + " from " + group.dump());
        futures_.push_back(groups->leave_async(group, *pid));
        return;
      }
      case 7: {
        auto pid = random_pid(*node, true);
        if (!pid) return;
        world_.trace(node->name() + " kills " + pid->to_string());
        if (auto process = node->find_local(*pid)) process->kill("boom");
        return;
      }
      default:
        world_.trace(node->name() + " spawns");
        node->spawn();
        return;
    }
  }

  void fault() {
    ++outcome_.faults;
    random_fault(world_, node_names_, FaultMix{config_.crashes, config_.one_way_cuts, false, config_.crash_together},
                 [this](const std::string& name) { restart(name); });
  }

  // ---- the checks -------------------------------------------------------------------------

  void violation(const std::string& what) { outcome_.violations.push_back(what); }

  void check() {
    auto nodes = world_.nodes();
    for (auto* n : nodes) {
      if (n->malformed() != 0) violation(n->name() + " read " + std::to_string(n->malformed()) + " malformed messages");
      for (const auto& broken : n->scopes().check_invariants()) violation(n->name() + ": " + broken);
      if (n->view().size() != nodes.size() - 1) {
        violation(n->name() + " sees " + std::to_string(n->view().size()) + " peers up after the heal, not " +
                  std::to_string(nodes.size() - 1));
      }
    }
    for (std::size_t i = 0; i < futures_.size(); ++i) {
      if (futures_[i].wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
        violation("asynchronous call #" + std::to_string(i) + " never completed");
      }
    }
    SimNode* first = nodes.front();
    auto first_registry = first->scopes().get<detail::RegistryScope>(Kind::registry, kScope);
    auto first_groups = first->scopes().get<detail::GroupsScope>(Kind::groups, kScope);
    for (auto* n : nodes) {
      auto registry = n->scopes().get<detail::RegistryScope>(Kind::registry, kScope);
      auto groups = n->scopes().get<detail::GroupsScope>(Kind::groups, kScope);
      const Recorder& recorder = *recorders_.at(n->name());
      std::size_t shown = 0;
      for (const auto& name : names_) {
        auto entry = registry->lookup(name);
        if (entry != first_registry->lookup(name)) {
          violation(name.dump() + ": " + n->name() + " shows " + show(entry) + ", " + first->name() + " shows " +
                    show(first_registry->lookup(name)));
        }
        auto modelled = recorder.names().find(name);
        std::optional<Entry> replayed;
        if (modelled != recorder.names().end()) replayed = modelled->second;
        if (entry != replayed) {
          violation(n->name() + ": its callbacks replayed give " + name.dump() + " -> " + show(replayed) +
                    " but it shows " + show(entry));
        }
        if (entry) {
          ++shown;
          if (!alive(entry->pid))
            violation(n->name() + ": " + name.dump() + " is held by a dead process " + entry->pid.to_string());
        }
      }
      if (registry->count() != shown) {
        violation(n->name() + ": count() is " + std::to_string(registry->count()) + " for " + std::to_string(shown) +
                  " names shown");
      }
      std::size_t member_total = 0;
      for (const auto& group : groups_) {
        auto members = sorted(groups->members(group));
        if (members != sorted(first_groups->members(group))) {
          violation(group.dump() + ": " + n->name() + " and " + first->name() + " disagree on the members");
        }
        for (const auto& m : members) {
          ++member_total;
          if (!alive(m.pid)) violation(n->name() + ": " + group.dump() + " holds a dead process " + m.pid.to_string());
          auto it = recorder.members().find({group, m.pid});
          if (it == recorder.members().end() || it->second != m.meta) {
            violation(n->name() + ": its callbacks replayed do not give member " + m.pid.to_string() + " of " +
                      group.dump());
          }
        }
      }
      if (recorder.members().size() != member_total) {
        violation(n->name() + ": its callbacks replayed give " + std::to_string(recorder.members().size()) +
                  " memberships, it shows " + std::to_string(member_total));
      }
    }
  }

  bool alive(const Pid& pid) {
    SimNode* owner = world_.node(pid.node());
    return owner && !owner->crashed() && owner->creation() == pid.creation() && owner->is_alive_local(pid);
  }
  static std::string show(const std::optional<Entry>& e) {
    return e ? e->pid.to_string() + " " + e->meta.dump() : std::string("nothing");
  }
  static std::vector<Member> sorted(std::vector<Member> members) {
    std::sort(members.begin(), members.end(), [](const Member& a, const Member& b) { return a.pid < b.pid; });
    return members;
  }

  ScenarioConfig config_;
  World world_;
  Outcome outcome_;
  std::vector<Term> names_;
  std::vector<Term> groups_;
  std::vector<std::string> node_names_;
  std::map<std::string, std::shared_ptr<Recorder>> recorders_;
  std::vector<std::future<Result<void>>> futures_;
};

}  // namespace

std::string Outcome::report(std::size_t trace_lines) const {
  std::ostringstream out;
  out << "seed " << seed << ": " << (ok() ? "ok" : std::to_string(violations.size()) + " violation(s)") << " ("
      << operations << " calls, " << faults << " faults, " << simulated / 1000 << " ms simulated)\n";
  for (const auto& v : violations) out << "  " << v << "\n";
  if (!trace.empty()) {
    std::size_t from = trace.size() > trace_lines ? trace.size() - trace_lines : 0;
    out << "  trace (last " << trace.size() - from << " of " << trace.size() << " steps):\n";
    for (std::size_t i = from; i < trace.size(); ++i) out << "    " << trace[i] << "\n";
  }
  return out.str();
}

Outcome run_scenario(std::uint64_t seed, const ScenarioConfig& config) { return Scenario(seed, config).run(); }

std::size_t run_seed_range(std::uint64_t first, std::uint64_t count,
                           const std::function<Outcome(std::uint64_t seed, bool traced)>& run,
                           const std::string& replay) {
  std::size_t failed = 0;
  for (std::uint64_t seed = first; seed < first + count; ++seed) {
    if (run(seed, false).ok()) continue;
    if (++failed == 1) std::cout << run(seed, true).report() << "replay: " << replay << seed << " --trace\n";
  }
  return failed;
}

void random_fault(World& world, const std::vector<std::string>& names, const FaultMix& mix,
                  const std::function<void(const std::string&)>& restart) {
  Random& random = world.random();
  const auto& a = names[random.below(names.size())];
  const auto& b = names[random.below(names.size())];
  auto choice = random.below(10);
  if (choice < (mix.resets ? 3u : 4u)) {
    world.cut(a, b, !mix.one_way_cuts || random.chance(0.6));
  } else if (choice < 5 && mix.resets) {
    world.reset(a, b);
  } else if (choice < 8) {
    world.heal(a, b);
  } else if (mix.crashes) {
    if (world.node(a)->crashed()) {
      restart(a);
    } else if (mix.crash_together && choice == 9 && a != b && !world.node(b)->crashed()) {
      world.crash_together({a, b});  // no extra draw: seeds without it run as before
    } else {
      world.crash(a);
    }
  }
}

std::optional<ConflictResolver> resolver_named(std::string_view name) {
  using Keep = std::optional<Pid>;
  if (name == "default") return ConflictResolver{};
  if (name == "keep-local") {
    return ConflictResolver([](std::string_view, const Term&, const ConflictCandidate&,
                               const ConflictCandidate& local) { return Keep(local.pid); });
  }
  if (name == "keep-neither") {
    return ConflictResolver(
        [](std::string_view, const Term&, const ConflictCandidate&, const ConflictCandidate&) { return Keep(); });
  }
  if (name == "keep-incoming") {
    return ConflictResolver([](std::string_view, const Term&, const ConflictCandidate& incoming,
                               const ConflictCandidate&) { return Keep(incoming.pid); });
  }
  return std::nullopt;
}

}  // namespace syn::sim
