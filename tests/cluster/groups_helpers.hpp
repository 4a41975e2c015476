#pragma once
// Helpers shared by the groups cluster tests (tests/cluster/groups_*_test.cpp): clusters with
// chosen links, an EventHandler that records every group callback, a subscription log, and
// convergence checks of every read of the groups API.
#include "node/node_core.hpp"  // white-box: EngineBlock holds a node's network thread
#include "support/cluster.hpp"

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

// ---- callbacks ---------------------------------------------------------------------------

/// A reason as text: "normal", "process_exit("bye")", "remote_scope_node_down(n2)".
inline std::string reason_text(const Reason& r) {
  std::string out(to_string(r.kind));
  if (r.kind == Reason::Kind::process_exit) out += "(" + r.exit_reason.dump() + ")";
  if (r.kind == Reason::Kind::remote_scope_node_up || r.kind == Reason::Kind::remote_scope_node_down) {
    out += "(" + r.node + ")";
  }
  return out;
}
/// One group callback as a readable string, so that multisets of them compare and print well.
inline std::string ev_join(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                           const Reason& r) {
  return "join " + std::string(scope) + " " + group.dump() + " " + pid.to_string() + " " + meta.dump() + " " +
         reason_text(r);
}
inline std::string ev_upd(std::string_view scope, const Term& group, const Pid& pid, const Term& previous,
                          const Term& meta, const Reason& r) {
  return "upd " + std::string(scope) + " " + group.dump() + " " + pid.to_string() + " " + previous.dump() + "->" +
         meta.dump() + " " + reason_text(r);
}
inline std::string ev_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                           const Reason& r) {
  return "left " + std::string(scope) + " " + group.dump() + " " + pid.to_string() + " " + meta.dump() + " " +
         reason_text(r);
}

/// Records every group callback, thread-safe; optionally runs a hook inside the callback.
class Recorder : public EventHandler {
 public:
  std::function<void(const std::string& event)> hook;

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
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
    }
    if (hook) hook(event);
  }
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

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
      const char* type = e.type == GroupEvent::Type::join ? "join" : e.type == GroupEvent::Type::leave ? "leave" : "update";
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

// ---- holding a node's network thread ------------------------------------------------------

/// White-box: occupies `node`'s engine (network) thread until release() or destruction, so
/// that the node applies nothing from its peers meanwhile. Keep it well under peer_timeout.
class EngineBlock {
 public:
  explicit EngineBlock(Node& node) {
    auto started = std::make_shared<std::promise<void>>();
    auto started_future = started->get_future();
    auto gate = gate_.get_future().share();
    node.core()->engine().post([started, gate] {
      started->set_value();
      gate.wait();
    });
    started_future.wait();
  }
  EngineBlock(const EngineBlock&) = delete;
  ~EngineBlock() { release(); }
  void release() {
    if (!released_) {
      released_ = true;
      gate_.set_value();
    }
  }

 private:
  std::promise<void> gate_;
  bool released_ = false;
};

// ---- clusters ----------------------------------------------------------------------------

/// Nodes made one by one. With auto_connect each is seeded with the first; without it, with
/// every node made before it, so the links form a full mesh that tests then cut.
class Nodes {
 public:
  Nodes() = default;
  Nodes(const Nodes&) = delete;

  Node& add(const std::string& name, std::vector<std::string> scopes, bool auto_connect = true,
            const std::function<void(NodeOptions&)>& tweak = {}) {
    auto o = test_options(name, std::move(scopes));
    o.auto_connect = auto_connect;
    if (!nodes_.empty()) {
      if (auto_connect) {
        for (auto& n : nodes_) {
          if (n) {
            o.seeds.push_back(n->endpoint());
            break;
          }
        }
      } else {
        for (auto& n : nodes_) {
          if (n) o.seeds.push_back(n->endpoint());
        }
      }
    }
    if (tweak) tweak(o);
    nodes_.push_back(std::make_unique<Node>(std::move(o)));
    return *nodes_.back();
  }
  Node& operator[](std::size_t i) { return *nodes_.at(i); }
  std::size_t size() const { return nodes_.size(); }
  void stop(std::size_t i) { nodes_.at(i).reset(); }
  bool running(std::size_t i) const { return nodes_.at(i) != nullptr; }
  std::vector<Node*> running_nodes() {
    std::vector<Node*> out;
    for (auto& n : nodes_) {
      if (n) out.push_back(n.get());
    }
    return out;
  }

 private:
  std::vector<std::unique_ptr<Node>> nodes_;
};

/// `node` sees exactly `others` as its groups subcluster of `scope`.
inline bool subcluster_is(const Node& node, const std::string& scope, std::vector<std::string> others) {
  std::sort(others.begin(), others.end());
  auto actual = node.subcluster_nodes(Kind::groups, scope);
  std::sort(actual.begin(), actual.end());
  return actual == others;
}

/// Waits until every node in `nodes` has all the others as groups subcluster of `scope`.
inline bool wait_scope_mesh(const std::vector<Node*>& nodes, const std::string& scope,
                            std::chrono::milliseconds timeout = 10s) {
  return eventually(
      [&] {
        for (auto* n : nodes) {
          std::vector<std::string> others;
          for (auto* o : nodes) {
            if (o != n) others.push_back(o->name());
          }
          if (!subcluster_is(*n, scope, others)) return false;
        }
        return true;
      },
      timeout);
}

inline bool linked(const Node& a, const Node& b) {
  auto an = a.nodes();
  auto bn = b.nodes();
  return std::find(an.begin(), an.end(), b.name()) != an.end() && std::find(bn.begin(), bn.end(), a.name()) != bn.end();
}

inline bool unlinked(const Node& a, const Node& b) {
  auto an = a.nodes();
  auto bn = b.nodes();
  return std::find(an.begin(), an.end(), b.name()) == an.end() && std::find(bn.begin(), bn.end(), a.name()) == bn.end();
}

/// Cuts the link between a and b (both sides drop it and do not redial).
inline bool cut(Node& a, Node& b) {
  a.disconnect(b.name());
  return eventually([&] { return unlinked(a, b); });
}

/// Links a and b again and waits until each has the other in its groups subcluster of `scope`.
inline bool heal(Node& a, Node& b, const std::string& scope) {
  a.connect(b.endpoint());
  return eventually([&] {
    if (!linked(a, b)) return false;
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

}  // namespace syn::test::grp
