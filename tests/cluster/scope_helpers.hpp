#pragma once
// Helpers shared by the registry and the groups cluster tests (registry_helpers.hpp and
// groups_helpers.hpp build on them): clusters with chosen links, cutting and healing links,
// subcluster checks, holding a node's network thread, and callbacks as text.
#include "node/node_core.hpp"  // white-box: EngineBlock holds a node's network thread
#include "support/cluster.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <vector>

namespace syn::test {

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

inline std::vector<std::string> sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

/// One callback as text, "<verb> <scope> <key> <pid> <meta> <reason>", so that multisets of
/// them compare and print well (registry_helpers.hpp and groups_helpers.hpp name the verbs).
inline std::string event_line(std::string_view verb, std::string_view scope, const Term& key, const Pid& pid,
                              std::string_view meta_text, const Reason& r) {
  return std::string(verb) + " " + std::string(scope) + " " + key.dump() + " " + pid.to_string() + " " +
         std::string(meta_text) + " " + reason_text(r);
}
inline std::string event_text(std::string_view verb, std::string_view scope, const Term& key, const Pid& pid,
                              const Term& meta, const Reason& r) {
  return event_line(verb, scope, key, pid, meta.dump(), r);
}
/// An update callback as text: "upd <scope> <key> <pid> <previous>-><meta> <reason>".
inline std::string update_text(std::string_view scope, const Term& key, const Pid& pid, const Term& previous,
                               const Term& meta, const Reason& r) {
  return event_line("upd", scope, key, pid, previous.dump() + "->" + meta.dump(), r);
}

inline bool contains(const std::vector<std::string>& events, const std::string& e) {
  return std::find(events.begin(), events.end(), e) != events.end();
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

/// Nodes made one by one. With auto_connect each is seeded with the first running one;
/// without it, with every running node made before it, so the links form a full mesh that
/// tests then cut.
class Nodes {
 public:
  Nodes() = default;
  Nodes(const Nodes&) = delete;

  /// Adds a node; `tweak` adjusts its options (scopes, handler, resolver, strict mode...).
  Node& add(const std::string& name, std::vector<std::string> scopes, bool auto_connect = true,
            const std::function<void(NodeOptions&)>& tweak = {}) {
    auto o = test_options(name, std::move(scopes));
    o.auto_connect = auto_connect;
    for (auto* n : running_nodes()) {
      o.seeds.push_back(n->endpoint());
      if (auto_connect) break;
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

/// `node` sees exactly `others` as its subcluster of the `kind` handler of `scope`.
inline bool subcluster_is(const Node& node, Kind kind, const std::string& scope, std::vector<std::string> others) {
  std::sort(others.begin(), others.end());
  auto actual = node.subcluster_nodes(kind, scope);
  std::sort(actual.begin(), actual.end());
  return actual == others;
}

/// Waits until every node in `nodes` has all the others as `kind` subcluster of `scope`.
inline bool wait_scope_mesh(const std::vector<Node*>& nodes, Kind kind, const std::string& scope,
                            std::chrono::milliseconds timeout = 10s) {
  return eventually(
      [&] {
        for (auto* n : nodes) {
          std::vector<std::string> others;
          for (auto* o : nodes) {
            if (o != n) others.push_back(o->name());
          }
          if (!subcluster_is(*n, kind, scope, others)) return false;
        }
        return true;
      },
      timeout);
}

/// Three nodes in scope "s", each with its own recorder (a `Rec`) as event handler, all in one
/// `kind` subcluster before the constructor returns. `strict` turns strict mode on.
template <class Rec>
struct ThreeNodes {
  std::shared_ptr<Rec> rec[3] = {std::make_shared<Rec>(), std::make_shared<Rec>(), std::make_shared<Rec>()};
  Nodes nodes;
  Node* n[3];
  ThreeNodes(const std::string& prefix, Kind kind, bool strict) {
    for (int i = 0; i < 3; ++i) {
      n[i] = &nodes.add(prefix + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) {
        o.event_handler = rec[i];
        o.strict_mode = strict;
      });
    }
    REQUIRE(wait_scope_mesh({n[0], n[1], n[2]}, kind, "s"));
  }
};

/// Each of a and b lists the other in nodes().
inline bool linked(const Node& a, const Node& b) {
  auto an = a.nodes();
  auto bn = b.nodes();
  return std::find(an.begin(), an.end(), b.name()) != an.end() && std::find(bn.begin(), bn.end(), a.name()) != bn.end();
}

/// Neither of a and b lists the other in nodes().
inline bool unlinked(const Node& a, const Node& b) {
  auto an = a.nodes();
  auto bn = b.nodes();
  return std::find(an.begin(), an.end(), b.name()) == an.end() && std::find(bn.begin(), bn.end(), a.name()) == bn.end();
}

/// Cuts the link between a and b (both sides drop it and do not redial); true once both see it.
inline bool cut(Node& a, Node& b) {
  a.disconnect(b.name());
  return eventually([&] { return unlinked(a, b); });
}

/// Links a and b again; true once both see the link.
inline bool heal(Node& a, Node& b) {
  a.connect(b.endpoint());
  return eventually([&] { return linked(a, b); });
}

}  // namespace syn::test
