#pragma once
// Helpers shared by the groups cluster tests (tests/cluster/groups_*_test.cpp): clusters with
// chosen links, an EventHandler that records every group callback, a subscription log, and
// convergence checks of every read of the groups API.
#include "cluster/scope_helpers.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::grp {

using namespace std::chrono_literals;

using test::cut;
using test::EngineBlock;
using test::linked;
using test::Nodes;
using test::reason_text;
using test::sorted;
using test::sync_engine;
using test::unlinked;

// ---- callbacks ---------------------------------------------------------------------------

/// One group callback as a readable string, so that multisets of them compare and print well.
inline std::string ev_join(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                           const Reason& r) {
  return test::event_text("join", scope, group, pid, meta, r);
}
inline std::string ev_upd(std::string_view scope, const Term& group, const Pid& pid, const Term& previous,
                          const Term& meta, const Reason& r) {
  return test::update_text(scope, group, pid, previous, meta, r);
}
inline std::string ev_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                           const Reason& r) {
  return test::event_text("left", scope, group, pid, meta, r);
}

/// Records every group callback, thread-safe; optionally runs a hook inside the callback.
class Recorder : public EventHandler {
 public:
  using Hook = std::function<void(const std::string& event)>;
  /// Runs `hook` inside every later callback (set under the recorder's lock: callbacks run on
  /// the node's callback thread).
  void set_hook(Hook hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }

  void on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                         const Reason& reason) override {
    add(ev_join(scope, group, pid, meta, reason));
  }
  void on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid, const Term& previous,
                                const Term& meta, const Reason& reason) override {
    add(ev_upd(scope, group, pid, previous, meta, reason));
  }
  void on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                       const Reason& reason) override {
    add(ev_left(scope, group, pid, meta, reason));
  }

  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<std::string> sorted() const {
    auto e = events();
    std::sort(e.begin(), e.end());
    return e;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return events_.size();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    events_.clear();
  }

 private:
  void add(std::string event) {
    Hook hook;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
      hook = hook_;
    }
    if (hook) hook(event);
  }
  mutable std::mutex mutex_;
  Hook hook_;
  std::vector<std::string> events_;
};

/// Waits until `rec` holds exactly the multiset `expected`, checks it, then checks that
/// nothing more arrives for a short while.
inline void expect_events(const Recorder& rec, std::vector<std::string> expected, const std::string& who,
                          std::chrono::milliseconds quiet = 200ms) {
  expected = sorted(std::move(expected));
  eventually([&] { return rec.sorted() == expected; }, 10s);
  INFO("callbacks on " << who);
  CHECK(rec.sorted() == expected);
  CHECK(stays([&] { return rec.size() == expected.size(); }, quiet));
}

// ---- subscriptions -----------------------------------------------------------------------

/// Records the events of a subscription, thread-safe. Make it with std::make_shared and pass
/// callback() to monitor / monitor_scope.
struct SubLog : std::enable_shared_from_this<SubLog> {
  mutable std::mutex mutex;
  std::vector<GroupEvent> events;

  std::function<void(const GroupEvent&)> callback() {
    return [self = shared_from_this()](const GroupEvent& e) {
      std::lock_guard lock(self->mutex);
      self->events.push_back(e);
    };
  }
  std::size_t size() const {
    std::lock_guard lock(mutex);
    return events.size();
  }
  std::vector<GroupEvent> all() const {
    std::lock_guard lock(mutex);
    return events;
  }
  /// The events as text: "join "g" <pid> meta", one per member, in order.
  std::vector<std::string> texts() const {
    std::vector<std::string> out;
    for (const auto& e : all()) {
      const char* type = e.type == GroupEvent::Type::join    ? "join"
                         : e.type == GroupEvent::Type::leave ? "leave"
                                                             : "update";
      for (const auto& m : e.members) {
        out.push_back(std::string(type) + " " + e.group.dump() + " " + m.pid.to_string() + " " + m.meta.dump());
      }
    }
    return out;
  }
};
inline std::string sub_ev(const char* type, const Term& group, const Pid& pid, const Term& meta) {
  return std::string(type) + " " + group.dump() + " " + pid.to_string() + " " + meta.dump();
}

// ---- clusters ----------------------------------------------------------------------------

/// `node` sees exactly `others` as its groups subcluster of `scope`.
inline bool subcluster_is(const Node& node, const std::string& scope, std::vector<std::string> others) {
  return test::subcluster_is(node, Kind::groups, scope, std::move(others));
}

/// Waits until every node in `nodes` has all the others as groups subcluster of `scope`.
inline bool wait_scope_mesh(const std::vector<Node*>& nodes, const std::string& scope,
                            std::chrono::milliseconds timeout = 10s) {
  return test::wait_scope_mesh(nodes, Kind::groups, scope, timeout);
}

/// Links a and b again and waits until each has the other in its groups subcluster of `scope`.
inline bool heal(Node& a, Node& b, const std::string& scope) {
  if (!test::heal(a, b)) return false;
  return eventually([&] {
    auto as = a.subcluster_nodes(Kind::groups, scope);
    auto bs = b.subcluster_nodes(Kind::groups, scope);
    return std::find(as.begin(), as.end(), b.name()) != as.end() &&
           std::find(bs.begin(), bs.end(), a.name()) != bs.end();
  });
}

// ---- views -------------------------------------------------------------------------------

inline std::string members_text(const std::vector<Member>& members) {
  std::string out = "[";
  for (const auto& m : members) out += m.pid.to_string() + "=" + m.meta.dump() + " ";
  return out + "]";
}

inline std::vector<std::string> names_text(std::vector<Term> names) {
  std::vector<std::string> out;
  for (auto& n : names) out.push_back(n.dump());
  std::sort(out.begin(), out.end());
  return out;
}

/// Everything the groups API reads on `node` about `groups`, except what is relative to the
/// node itself (local_*), as text: equal on two nodes when their views agree.
inline std::string view_of(Node& node, const std::string& scope, const std::vector<Term>& groups,
                           const std::vector<std::string>& node_names) {
  auto g = node.groups(scope);
  std::ostringstream out;
  out << "groups=" << g.group_count() << " names=";
  for (auto& n : names_text(g.group_names())) out << n << ",";
  for (auto& nn : node_names) {
    out << " " << nn << ":" << g.group_count(nn) << "{";
    for (auto& n : names_text(g.group_names(nn))) out << n << ",";
    out << "}";
  }
  for (auto& group : groups) {
    out << " " << group.dump() << "#" << g.member_count(group) << members_text(g.members(group));
    for (auto& nn : node_names) out << nn << ":" << g.member_count(group, nn) << " ";
  }
  return out.str();
}

/// Checks that the reads of one node are consistent with each other: counts and names with
/// members, local_* with the node's own name, is_member / member / is_local_member with members.
inline bool self_consistent(Node& node, const std::string& scope, const std::vector<Term>& groups) {
  auto g = node.groups(scope);
  if (g.local_group_count() != g.group_count(node.name())) return false;
  if (names_text(g.local_group_names()) != names_text(g.group_names(node.name()))) return false;
  if (g.group_count() != g.group_names().size()) return false;
  for (auto& group : groups) {
    auto members = g.members(group);
    if (g.member_count(group) != members.size()) return false;
    std::size_t local = 0;
    for (auto& m : members) {
      if (!g.is_member(group, m.pid) || g.member(group, m.pid) != m) return false;
      bool is_local = m.pid.node() == node.name();
      if (g.is_local_member(group, m.pid) != is_local) return false;
      if (is_local) ++local;
    }
    if (g.local_member_count(group) != local || g.local_members(group).size() != local) return false;
  }
  return true;
}

/// Every node in `nodes` returns the same reads for `groups`, each node's reads are
/// consistent, and every member is a live process (checked on its own node, when running).
inline bool converged(const std::vector<Node*>& nodes, const std::string& scope, const std::vector<Term>& groups) {
  std::map<std::string, Node*> by_name;
  std::vector<std::string> node_names;
  for (auto* n : nodes) {
    by_name[n->name()] = n;
    node_names.push_back(n->name());
  }
  std::optional<std::string> first;
  for (auto* n : nodes) {
    auto v = view_of(*n, scope, groups, node_names);
    if (first && *first != v) return false;
    first = v;
    if (!self_consistent(*n, scope, groups)) return false;
    auto g = n->groups(scope);
    for (auto& group : groups) {
      for (auto& m : g.members(group)) {
        auto owner = by_name.find(m.pid.node());
        if (owner == by_name.end() || !owner->second->is_alive(m.pid)) return false;
      }
    }
  }
  return true;
}

inline std::string views(const std::vector<Node*>& nodes, const std::string& scope, const std::vector<Term>& groups) {
  std::vector<std::string> node_names;
  for (auto* n : nodes) node_names.push_back(n->name());
  std::string out;
  for (auto* n : nodes) out += n->name() + ": " + view_of(*n, scope, groups, node_names) + "\n";
  return out;
}

/// Three nodes in scope "s", each with a Recorder, fully meshed.
struct RecordedThree : syn::test::ThreeNodes<Recorder> {
  explicit RecordedThree(const std::string& prefix, bool strict = false) : ThreeNodes(prefix, Kind::groups, strict) {}
  Groups g(int i) { return n[i]->groups("s"); }
};

}  // namespace syn::test::grp
