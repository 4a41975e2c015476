#pragma once
// Shared by the registry and groups multi-process tests: agents that print their callbacks
// (syn-node's "events" option), callback logs comparable across agents and the in-test
// observer, and views of a scope read from every member.
#include "process/process_support.hpp"

#include <syn/syn.hpp>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace syn::test::scoped {

using namespace std::chrono_literals;

/// Starts an agent in `scopes` that prints every registry/groups callback from the start;
/// `more` holds further options (e.g. {"strict_mode": true}).
inline std::unique_ptr<Agent> start(const std::string& name, std::vector<std::string> seeds,
                                    std::vector<std::string> scopes, Term more = Term::object()) {
  auto options = agent_options(name, std::move(seeds), std::move(scopes));
  options["events"] = true;
  for (auto& [key, value] : more.items()) options[key] = value;
  return std::make_unique<Agent>(std::move(options), process_agent_config());
}

/// An in-test node in `scopes` seeded with `seeds`, recording callbacks with `handler`.
inline std::unique_ptr<Node> start_observer(std::vector<std::string> seeds, std::vector<std::string> scopes,
                                            std::shared_ptr<EventHandler> handler, bool auto_connect = true) {
  auto options = test_options("observer", std::move(scopes));
  options.seeds = std::move(seeds);
  options.event_handler = std::move(handler);
  options.auto_connect = auto_connect;
  return std::make_unique<Node>(std::move(options));
}

// ---- callbacks as comparable text ----------------------------------------------------------

/// A reason as the text of its JSON form (syn-node's reason lines): "normal",
/// "process_exit(\"bye\")", "remote_scope_node_down(gamma)", "conflict_resolution".
inline std::string reason_text(const Term& reason) {
  std::string out = reason.at("kind").get<std::string>();
  if (reason.contains("exit_reason")) out += "(" + reason["exit_reason"].dump() + ")";
  if (reason.contains("node")) out += "(" + reason["node"].get<std::string>() + ")";
  return out;
}
inline Term normal() { return {{"kind", "normal"}}; }
inline Term node_up(const std::string& node) { return {{"kind", "remote_scope_node_up"}, {"node", node}}; }
inline Term node_down(const std::string& node) { return {{"kind", "remote_scope_node_down"}, {"node", node}}; }
inline Term conflict() { return {{"kind", "conflict_resolution"}}; }
inline Term process_exit(Term why) { return {{"kind", "process_exit"}, {"exit_reason", std::move(why)}}; }

/// One callback as text: "<event> <scope> <name or group> <pid> [<previous> ->] <meta> <reason>".
inline std::string callback(const std::string& event, const std::string& scope, const Term& what,
                            const std::string& pid, const Term& meta, const Term& reason,
                            const Term* previous = nullptr) {
  std::string out = event + " " + scope + " " + what.dump() + " " + pid + " ";
  if (previous) out += previous->dump() + " -> ";
  return out + meta.dump() + " " + reason_text(reason);
}
/// The same text from an event line of syn-node's event printer.
inline std::string callback_of(const Term& e) {
  const auto& what = e.contains("name") ? e["name"] : e.at("group");
  const Term* previous = e.contains("previous") ? &e["previous"] : nullptr;
  return callback(e.at("event").get<std::string>(), e.at("scope").get<std::string>(), what,
                  e.at("pid").get<std::string>(), e.at("meta"), e.at("reason"), previous);
}

inline bool is_callback_event(const Term& e) {
  static const std::vector<std::string> kinds = {"registered", "updated",       "unregistered",
                                                 "joined",     "group_updated", "left"};
  auto name = e.value("event", "");
  return std::find(kinds.begin(), kinds.end(), name) != kinds.end();
}

/// The callbacks one member has run so far, as text, in order.
class Callbacks {
 public:
  virtual ~Callbacks() = default;
  virtual std::vector<std::string> seen() = 0;
  /// seen(), sorted (a multiset).
  std::vector<std::string> multiset() {
    auto all = seen();
    std::sort(all.begin(), all.end());
    return all;
  }
};

/// An agent's callbacks: its event lines (taken from the agent's event queue as they come).
class AgentCallbacks : public Callbacks {
 public:
  explicit AgentCallbacks(Agent& agent) : agent_(&agent) {}
  std::vector<std::string> seen() override {
    while (auto e = agent_->wait_event(is_callback_event, 0ms)) seen_.push_back(callback_of(*e));
    return seen_;
  }

 private:
  Agent* agent_;
  std::vector<std::string> seen_;
};

/// The in-test node's callbacks, in the same text form.
class Recorder : public EventHandler, public Callbacks {
 public:
  std::vector<std::string> seen() override {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  void on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                             const Reason& reason) override {
    add("registered", scope, name, pid, meta, reason);
  }
  void on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid, const Term& previous,
                                   const Term& meta, const Reason& reason) override {
    add("updated", scope, name, pid, meta, reason, &previous);
  }
  void on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                               const Reason& reason) override {
    add("unregistered", scope, name, pid, meta, reason);
  }
  void on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                         const Reason& reason) override {
    add("joined", scope, group, pid, meta, reason);
  }
  void on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid, const Term& previous,
                                const Term& meta, const Reason& reason) override {
    add("group_updated", scope, group, pid, meta, reason, &previous);
  }
  void on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                       const Reason& reason) override {
    add("left", scope, group, pid, meta, reason);
  }

 private:
  void add(const std::string& event, std::string_view scope, const Term& what, const Pid& pid, const Term& meta,
           const Reason& reason, const Term* previous = nullptr) {
    Term r = {{"kind", std::string(to_string(reason.kind))}};
    if (reason.kind == Reason::Kind::process_exit) r["exit_reason"] = reason.exit_reason;
    if (!reason.node.empty()) r["node"] = reason.node;
    auto text = callback(event, std::string(scope), what, pid.to_string(), meta, r, previous);
    std::lock_guard lock(mutex_);
    seen_.push_back(std::move(text));
  }
  std::mutex mutex_;
  std::vector<std::string> seen_;
};

/// Sorted copy (a multiset of callbacks).
inline std::vector<std::string> sorted_texts(std::vector<std::string> texts) {
  std::sort(texts.begin(), texts.end());
  return texts;
}

/// Waits until `log` holds exactly the multiset `expected` (eventually), then checks it, so a
/// failure shows both lists.
#define CHECK_CALLBACKS(who, log, expected)                                 \
  do {                                                                      \
    auto expected_ = ::syn::test::scoped::sorted_texts(expected);           \
    ::syn::test::eventually([&] { return (log).multiset() == expected_; }); \
    INFO("callbacks of " << (who));                                         \
    CHECK((log).multiset() == expected_);                                   \
  } while (false)

// ---- views of a scope --------------------------------------------------------------------

inline Term entry_json(const std::optional<Entry>& e) {
  return e ? Term{{"pid", e->pid.to_string()}, {"meta", e->meta}} : Term(nullptr);
}
inline Term members_json(const std::vector<Member>& members) {
  Term out = Term::array();
  for (const auto& m : members) out.push_back({{"pid", m.pid.to_string()}, {"meta", m.meta}});
  return out;
}

/// lookup of every name, on an agent and on an in-test node, in the same JSON form.
inline Term lookups(Agent& agent, const std::string& scope, const Term& names) {
  return agent.ok("lookup_many", {{"scope", scope}, {"names", names}})["entries"];
}
inline Term lookups(Node& node, const std::string& scope, const Term& names) {
  Term out = Term::array();
  auto registry = node.registry(scope);
  for (const auto& name : names) out.push_back(entry_json(registry.lookup(name)));
  return out;
}
/// members of every group, on an agent and on an in-test node.
inline Term members_of(Agent& agent, const std::string& scope, const Term& groups) {
  return agent.ok("members_many", {{"scope", scope}, {"groups", groups}})["members"];
}
inline Term members_of(Node& node, const std::string& scope, const Term& groups) {
  Term out = Term::array();
  auto handle = node.groups(scope);
  for (const auto& group : groups) out.push_back(members_json(handle.members(group)));
  return out;
}

/// An entry {pid, meta} as lookup_many returns it.
inline Term entry(const std::string& pid, Term meta = nullptr) { return {{"pid", pid}, {"meta", std::move(meta)}}; }

/// An agent's request field "count".
inline std::size_t count_of(Agent& agent, std::string_view cmd, Term args) {
  return agent.ok(cmd, std::move(args))["count"].get<std::size_t>();
}

/// True when every agent lists exactly `expected` as the other members of its subcluster.
inline bool subcluster_is(Agent& agent, const std::string& kind, const std::string& scope,
                          std::vector<std::string> expected) {
  return agent.ok("subcluster", {{"kind", kind}, {"scope", scope}})["nodes"].get<std::vector<std::string>>() ==
         sorted(std::move(expected));
}
inline bool subcluster_is(Node& node, Kind kind, const std::string& scope, std::vector<std::string> expected) {
  auto nodes = node.subcluster_nodes(kind, scope);
  std::sort(nodes.begin(), nodes.end());
  return nodes == sorted(std::move(expected));
}

/// The agents and the in-test node of a test, for checks that go over all of them.
struct Members {
  std::vector<Agent*> agents;
  Node* observer = nullptr;

  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (auto* a : agents) out.push_back(a->name());
    if (observer) out.push_back(observer->name());
    return out;
  }
  std::vector<std::string> others(const std::string& self) const {
    std::vector<std::string> out;
    for (auto& n : names()) {
      if (n != self) out.push_back(n);
    }
    return out;
  }
  /// Every member's registry and groups subclusters of `scope` hold every other member.
  bool scope_meshed(const std::string& scope) const {
    for (auto* a : agents) {
      if (!subcluster_is(*a, "registry", scope, others(a->name())) ||
          !subcluster_is(*a, "groups", scope, others(a->name()))) {
        return false;
      }
    }
    return !observer || (subcluster_is(*observer, Kind::registry, scope, others(observer->name())) &&
                         subcluster_is(*observer, Kind::groups, scope, others(observer->name())));
  }
  /// lookup of `names` on every member equals `expected`.
  bool all_lookups(const std::string& scope, const Term& names, const Term& expected) const {
    for (auto* a : agents) {
      if (lookups(*a, scope, names) != expected) return false;
    }
    return !observer || lookups(*observer, scope, names) == expected;
  }
  /// members of `groups` on every member equals `expected`.
  bool all_members(const std::string& scope, const Term& groups, const Term& expected) const {
    for (auto* a : agents) {
      if (members_of(*a, scope, groups) != expected) return false;
    }
    return !observer || members_of(*observer, scope, groups) == expected;
  }
  /// What every member looks up, for failure messages.
  std::string lookup_views(const std::string& scope, const Term& names) const {
    std::string out;
    for (auto* a : agents) out += a->name() + ": " + lookups(*a, scope, names).dump() + "\n";
    if (observer) out += "observer: " + lookups(*observer, scope, names).dump() + "\n";
    return out;
  }
  std::string member_views(const std::string& scope, const Term& groups) const {
    std::string out;
    for (auto* a : agents) out += a->name() + ": " + members_of(*a, scope, groups).dump() + "\n";
    if (observer) out += "observer: " + members_of(*observer, scope, groups).dump() + "\n";
    return out;
  }
};

}  // namespace syn::test::scoped

/// Requires every member's subclusters of `scope` to be complete within 10 s.
#define REQUIRE_SCOPE_MESH(members, scope)                                                 \
  do {                                                                                     \
    bool meshed_ = ::syn::test::eventually([&] { return (members).scope_meshed(scope); }); \
    if (!meshed_) FAIL("subclusters of " << (scope) << " incomplete after 10 s");          \
  } while (false)

/// Checks (eventually) that every member looks `names` up as `expected`.
#define CHECK_LOOKUPS(members, scope, names, expected)                                                              \
  do {                                                                                                              \
    bool same_ = ::syn::test::eventually([&] { return (members).all_lookups(scope, names, expected); });            \
    if (same_) {                                                                                                    \
      SUCCEED("lookups agree");                                                                                     \
    } else {                                                                                                        \
      FAIL_CHECK("lookups differ; expected " << (expected).dump() << "\n" << (members).lookup_views(scope, names)); \
    }                                                                                                               \
  } while (false)

/// Checks (eventually) that every member lists the members of `groups` as `expected`.
#define CHECK_MEMBERS(members, scope, groups, expected)                                                              \
  do {                                                                                                               \
    bool same_ = ::syn::test::eventually([&] { return (members).all_members(scope, groups, expected); });            \
    if (same_) {                                                                                                     \
      SUCCEED("members agree");                                                                                      \
    } else {                                                                                                         \
      FAIL_CHECK("members differ; expected " << (expected).dump() << "\n" << (members).member_views(scope, groups)); \
    }                                                                                                                \
  } while (false)

namespace syn::test::scoped {

/// Three agents in `scope` (beta and gamma seeded with alpha) and an in-test observer node
/// that records its callbacks, all meshed before the constructor returns.
struct ObservedAgents {
  std::shared_ptr<Recorder> recorder = std::make_shared<Recorder>();
  std::unique_ptr<Agent> alpha, beta, gamma;
  std::unique_ptr<Node> observer;
  Members all;

  explicit ObservedAgents(const std::string& scope)
      : alpha(start("alpha", {}, {scope})),
        beta(start("beta", {alpha->endpoint()}, {scope})),
        gamma(start("gamma", {alpha->endpoint()}, {scope})),
        observer(start_observer({alpha->endpoint()}, {scope}, recorder)),
        all{{alpha.get(), beta.get(), gamma.get()}, observer.get()} {
    REQUIRE_SCOPE_MESH(all, scope);
  }
};

}  // namespace syn::test::scoped
