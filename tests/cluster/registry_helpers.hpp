#pragma once
// Helpers shared by the registry cluster tests (tests/cluster/registry_*_test.cpp): clusters
// with chosen links, an EventHandler that records every callback, and convergence checks.
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
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::reg {

using namespace std::chrono_literals;

// ---- callbacks ---------------------------------------------------------------------------

/// One registry callback as a readable string, so that multisets of them compare and print
/// well: "reg s x <n1.5.1> {meta} normal", "upd s x <pid> {prev}->{meta} normal",
/// "unreg s x <pid> {meta} process_exit("bye")", "... remote_scope_node_down(n2)".
inline std::string reason_text(const Reason& r) {
  std::string out(to_string(r.kind));
  if (r.kind == Reason::Kind::process_exit) out += "(" + r.exit_reason.dump() + ")";
  if (r.kind == Reason::Kind::remote_scope_node_up || r.kind == Reason::Kind::remote_scope_node_down) {
    out += "(" + r.node + ")";
  }
  return out;
}
inline std::string ev_reg(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                          const Reason& r) {
  return "reg " + std::string(scope) + " " + name.dump() + " " + pid.to_string() + " " + meta.dump() + " " +
         reason_text(r);
}
inline std::string ev_unreg(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                            const Reason& r) {
  return "unreg " + std::string(scope) + " " + name.dump() + " " + pid.to_string() + " " + meta.dump() + " " +
         reason_text(r);
}
inline std::string ev_upd(std::string_view scope, const Term& name, const Pid& pid, const Term& previous,
                          const Term& meta, const Reason& r) {
  return "upd " + std::string(scope) + " " + name.dump() + " " + pid.to_string() + " " + previous.dump() + "->" +
         meta.dump() + " " + reason_text(r);
}

/// Records every registry callback, thread-safe, as text (events()) and structured (log()).
/// Optionally runs a hook inside the callback (to call the API from a callback, or to throw).
class Recorder : public EventHandler {
 public:
  struct Event {
    char kind;  ///< 'r' registered, 'u' updated, 'x' unregistered
    Term name;
    Pid pid;
    Term previous;  ///< updated only
    Term meta;
    Reason reason;
  };
  using Hook = std::function<void(const std::string& event, const Term& name, const Pid& pid)>;
  /// Runs `hook` inside every later callback (set under the lock: callbacks run on other threads).
  void set_hook(Hook hook) {
    std::lock_guard lock(mutex_);
    hook_ = std::move(hook);
  }

  void on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                             const Reason& reason) override {
    add(ev_reg(scope, name, pid, meta, reason), {'r', name, pid, nullptr, meta, reason});
  }
  void on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid,
                                   const Term& previous, const Term& meta, const Reason& reason) override {
    add(ev_upd(scope, name, pid, previous, meta, reason), {'u', name, pid, previous, meta, reason});
  }
  void on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                               const Reason& reason) override {
    add(ev_unreg(scope, name, pid, meta, reason), {'x', name, pid, nullptr, meta, reason});
  }

  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  std::vector<Event> log() const {
    std::lock_guard lock(mutex_);
    return log_;
  }
  /// The events so far, sorted (a multiset).
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
    log_.clear();
  }

 private:
  void add(std::string event, Event structured) {
    Term name = structured.name;
    Pid pid = structured.pid;
    Hook hook;
    {
      std::lock_guard lock(mutex_);
      events_.push_back(event);
      log_.push_back(std::move(structured));
      hook = hook_;
    }
    if (hook) hook(event, name, pid);
  }
  mutable std::mutex mutex_;
  Hook hook_;
  std::vector<std::string> events_;
  std::vector<Event> log_;
};

/// Replays a node's callbacks in order from an empty registry: each one must make sense
/// (registered: the name was free; updated: same pid and previous meta; unregistered: same
/// pid and meta). Returns the resulting state, and the first inconsistency in `error`.
inline std::map<Term, Entry> replay(const std::vector<Recorder::Event>& log, std::string& error) {
  std::map<Term, Entry> state;
  for (std::size_t i = 0; i < log.size() && error.empty(); ++i) {
    const auto& e = log[i];
    auto it = state.find(e.name);
    std::string where = "event " + std::to_string(i) + " on " + e.name.dump() + ": ";
    if (e.kind == 'r') {
      if (it != state.end()) error = where + "registered while held by " + it->second.pid.to_string();
      state[e.name] = Entry{e.pid, e.meta};
    } else if (e.kind == 'u') {
      if (it == state.end() || it->second.pid != e.pid || it->second.meta != e.previous) {
        error = where + "updated from a state it was not in";
      } else {
        it->second.meta = e.meta;
      }
    } else {
      if (it == state.end() || it->second.pid != e.pid || it->second.meta != e.meta) {
        error = where + "unregistered " + e.pid.to_string() + " from a state it was not in";
      } else {
        state.erase(it);
      }
    }
  }
  return state;
}

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// Waits until `rec` holds exactly the multiset `expected`, checks it, then checks that
/// nothing more arrives for a short while.
inline void expect_events(const Recorder& rec, std::vector<std::string> expected, const std::string& who,
                          std::chrono::milliseconds quiet = 300ms) {
  expected = sorted(std::move(expected));
  eventually([&] { return rec.sorted() == expected; }, 10s);
  INFO("callbacks on " << who);
  CHECK(rec.sorted() == expected);
  CHECK(stays([&] { return rec.size() == expected.size(); }, quiet));
}

/// As expect_events, when timing allows several outcomes: waits until `rec` holds one of them.
inline void expect_events_one_of(const Recorder& rec, std::vector<std::vector<std::string>> options,
                                 const std::string& who, std::chrono::milliseconds quiet = 300ms) {
  for (auto& o : options) o = sorted(std::move(o));
  auto matching = [&]() -> const std::vector<std::string>* {
    auto now = rec.sorted();
    for (auto& o : options) {
      if (now == o) return &o;
    }
    return nullptr;
  };
  eventually([&] { return matching() != nullptr; }, 10s);
  INFO("callbacks on " << who);
  const auto* found = matching();
  if (!found) {
    std::ostringstream out;
    for (auto& e : rec.sorted()) out << "  " << e << "\n";
    FAIL("none of the expected outcomes; got:\n" << out.str());
    return;
  }
  std::size_t n = found->size();
  CHECK(stays([&] { return rec.size() == n; }, quiet));
}

// ---- holding a node's network thread ------------------------------------------------------

/// White-box: occupies `node`'s engine (network) thread until release() or destruction, so
/// that the node applies nothing from its peers meanwhile and its replica stays as it was.
/// Keep it short (well under peer_timeout). Calls from that node stay queued until release.
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

/// White-box: returns once `node`'s network thread has run everything posted to it so far (so
/// that calls and messages posted before are in its outgoing frames, ahead of anything it
/// receives afterwards).
inline void sync_engine(Node& node) {
  node.core()->engine().call([] { return true; });
}

// ---- clusters ----------------------------------------------------------------------------

/// Nodes made one by one. With auto_connect each is seeded with the first; without it, with
/// every node made before it, so the links form a full mesh that tests then cut.
class Nodes {
 public:
  Nodes() = default;
  Nodes(const Nodes&) = delete;

  /// Adds a node; `tweak` adjusts its options (scopes, handler, resolver, strict mode...).
  Node& add(const std::string& name, std::vector<std::string> scopes, bool auto_connect = true,
            const std::function<void(NodeOptions&)>& tweak = {}) {
    auto o = test_options(name, std::move(scopes));
    o.auto_connect = auto_connect;
    if (!nodes_.empty()) {
      if (auto_connect) {
        o.seeds.push_back(nodes_.front()->endpoint());
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
  /// The running node called `name`.
  Node* find(const std::string& name) {
    for (auto& n : nodes_) {
      if (n && n->name() == name) return n.get();
    }
    return nullptr;
  }
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

/// `node` sees exactly `others` as its subcluster of the registry of `scope`.
inline bool subcluster_is(const Node& node, const std::string& scope, std::vector<std::string> others) {
  std::sort(others.begin(), others.end());
  auto actual = node.subcluster_nodes(Kind::registry, scope);
  std::sort(actual.begin(), actual.end());
  return actual == others;
}

/// Waits until every running node in `nodes` has all the others as registry subcluster of
/// `scope` (all must be in it).
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

/// Cuts the link between a and b (both sides drop it and do not redial).
inline void cut(Node& a, Node& b) {
  a.disconnect(b.name());
  eventually([&] {
    auto an = a.nodes();
    auto bn = b.nodes();
    return std::find(an.begin(), an.end(), b.name()) == an.end() &&
           std::find(bn.begin(), bn.end(), a.name()) == bn.end();
  });
}

/// Links a and b again.
inline bool heal(Node& a, Node& b) {
  a.connect(b.endpoint());
  return eventually([&] {
    auto an = a.nodes();
    auto bn = b.nodes();
    return std::find(an.begin(), an.end(), b.name()) != an.end() &&
           std::find(bn.begin(), bn.end(), a.name()) != bn.end();
  });
}

/// A readable dump of one node's view of `names` in `scope`, with its counts.
inline std::string view_of(Node& node, const std::string& scope, const std::vector<Term>& names,
                           const std::vector<std::string>& node_names, bool with_local = true) {
  auto r = node.registry(scope);
  std::ostringstream out;
  out << node.name() << ": count=" << r.count();
  if (with_local) out << " local=" << r.local_count();
  for (auto& nn : node_names) out << " " << nn << "=" << r.count(nn);
  for (auto& name : names) {
    auto e = r.lookup(name);
    out << " " << name.dump() << "->" << (e ? e->pid.to_string() + e->meta.dump() : std::string("none"));
  }
  return out.str();
}

/// Every node in `nodes` returns the same lookups for `names` and the same counts, and every
/// entry refers to a live process (checked on the process's own node).
inline bool converged(const std::vector<Node*>& nodes, const std::string& scope, const std::vector<Term>& names) {
  std::map<std::string, Node*> by_name;
  std::vector<std::string> node_names;
  for (auto* n : nodes) {
    by_name[n->name()] = n;
    node_names.push_back(n->name());
  }
  std::optional<std::string> first;
  for (auto* n : nodes) {
    auto v = view_of(*n, scope, names, node_names, false);
    v = v.substr(v.find(':'));  // without the node's own name
    if (first && *first != v) return false;
    first = v;
    auto r = n->registry(scope);
    // local_count is count(self), so one more figure that must agree with the view.
    if (r.local_count() != r.count(n->name())) return false;
    std::size_t per_node = 0;
    for (auto& nn : node_names) per_node += r.count(nn);
    if (per_node != r.count()) return false;
    for (auto& name : names) {
      auto e = r.lookup(name);
      if (!e) continue;
      auto owner = by_name.find(e->pid.node());
      if (owner == by_name.end() || !owner->second->is_alive(e->pid)) return false;
    }
  }
  return true;
}

inline std::string views(const std::vector<Node*>& nodes, const std::string& scope, const std::vector<Term>& names) {
  std::vector<std::string> node_names;
  for (auto* n : nodes) node_names.push_back(n->name());
  std::string out;
  for (auto* n : nodes) out += view_of(*n, scope, names, node_names) + "\n";
  return out;
}

}  // namespace syn::test::reg
