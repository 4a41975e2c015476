#pragma once
// Helpers shared by the registry cluster tests (tests/cluster/registry_*_test.cpp): clusters
// with chosen links, an EventHandler that records every callback, and convergence checks.
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
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::reg {

using namespace std::chrono_literals;

using test::cut;
using test::EngineBlock;
using test::heal;
using test::linked;
using test::Nodes;
using test::reason_text;
using test::sorted;
using test::sync_engine;
using test::unlinked;

// ---- callbacks ---------------------------------------------------------------------------

/// One registry callback as a readable string, so that multisets of them compare and print
/// well: "reg s x <n1.5.1> {meta} normal", "upd s x <pid> {prev}->{meta} normal",
/// "unreg s x <pid> {meta} process_exit("bye")", "... remote_scope_node_down(n2)".
inline std::string ev_reg(std::string_view scope, const Term& name, const Pid& pid, const Term& meta, const Reason& r) {
  return test::event_text("reg", scope, name, pid, meta, r);
}
inline std::string ev_unreg(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                            const Reason& r) {
  return test::event_text("unreg", scope, name, pid, meta, r);
}
inline std::string ev_upd(std::string_view scope, const Term& name, const Pid& pid, const Term& previous,
                          const Term& meta, const Reason& r) {
  return test::update_text(scope, name, pid, previous, meta, r);
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
  void on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid, const Term& previous,
                                   const Term& meta, const Reason& reason) override {
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

// ---- clusters ----------------------------------------------------------------------------

/// `node` sees exactly `others` as its subcluster of the registry of `scope`.
inline bool subcluster_is(const Node& node, const std::string& scope, std::vector<std::string> others) {
  return test::subcluster_is(node, Kind::registry, scope, std::move(others));
}

/// Waits until every running node in `nodes` has all the others as registry subcluster of
/// `scope` (all must be in it).
inline bool wait_scope_mesh(const std::vector<Node*>& nodes, const std::string& scope,
                            std::chrono::milliseconds timeout = 10s) {
  return test::wait_scope_mesh(nodes, Kind::registry, scope, timeout);
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
