#pragma once
// The scopes a node has joined: one handler of every registered kind per scope, each with its
// scope engine; the routing of scope messages from peers to them; and the node's calls to
// other nodes' handlers (one CallTable: a call leaves through a scope engine and its reply
// comes back through this directory). It knows handlers only as ScopeHandler: the kinds come
// from the table it is given (src/api/handler_kinds.cpp).
#include "common/thread_safety.hpp"
#include "node/scope_host.hpp"
#include "scope/scope_handler.hpp"

#include <syn/errors.hpp>
#include <syn/node.hpp>

#include <array>
#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::detail {

class CallTable;
class ScopeEngine;

class ScopeDirectory final : public PeerObserver {
 public:
  /// Plugs into `host` (its routes and peer events): call before the host starts.
  ScopeDirectory(std::shared_ptr<ScopeHost> host, std::vector<HandlerKind> kinds);
  ~ScopeDirectory() override;

  /// Any thread: adds scopes (idempotent) and starts their discovery on the engine thread.
  /// Throws Error{bad_argument} for an empty name.
  void add(const std::vector<std::string>& scopes);
  /// Any thread: this node leaves `scopes` (Node::remove_node_from_scopes); unknown ones are
  /// skipped. Returns once its own entries' callbacks ran and the peers were told.
  void remove(const std::vector<std::string>& scopes);
  std::vector<std::string> names() const;
  /// Every handler's check_invariants, each line prefixed with its scope (any thread).
  std::vector<std::string> check_invariants() const;
  /// The handler of `kind` for `scope`, or null when this node has not added the scope.
  std::shared_ptr<ScopeHandler> handler(Kind kind, std::string_view scope) const;
  /// The same as the handler class of that kind; throws Error{invalid_scope} when not added.
  template <class Handler>
  std::shared_ptr<Handler> get(Kind kind, std::string_view scope) const {
    auto found = handler(kind, scope);
    if (!found) throw Error(Errc::invalid_scope, "this node has not added the scope '" + std::string(scope) + "'");
    return std::static_pointer_cast<Handler>(std::move(found));
  }
  /// The engine of (kind, scope), or null when the scope is not added (metrics).
  const ScopeEngine* find_engine(Kind kind, std::string_view scope) const {
    return engine(static_cast<std::uint32_t>(kind), scope);
  }
  /// The node's calls to other nodes (metrics: their latency).
  const CallTable& calls() const { return *calls_; }
  /// SPEC 9: every scope synced, for every kind, with every connected node that runs it.
  bool all_synced() const;
  /// The (kind, scope) pairs not synced yet, for operators.
  std::vector<std::pair<Kind, std::string>> unsynced() const;
  /// Members of the subcluster; throws Error{invalid_scope}.
  std::vector<std::string> subcluster(Kind kind, std::string_view scope) const;

  // ---- PeerObserver (engine thread) ----
  void on_peer_up(std::uint32_t atom) override;
  void on_peer_down(std::uint32_t atom) override;
  void on_peers_down(const std::vector<std::uint32_t>& atoms) override;
  void on_engine_stopping() override;
  /// Node shutdown: every handler drops its data; the directory lets go of them.
  void on_stopped() override;

 private:
  /// Routes discover / ack_sync / scope / call messages (engine thread).
  void on_scope_message(std::uint32_t from, wire::MsgType type, const msgpack::object& message);
  ScopeEngine* engine(std::uint32_t kind, std::string_view scope) const;
  std::vector<ScopeEngine*> all_engines() const;

  std::shared_ptr<ScopeHost> host_;
  std::vector<HandlerKind> kinds_;
  std::shared_ptr<CallTable> calls_;
  mutable SharedMutex mutex_;
  /// scope -> one handler per kind, in the order of kinds_.
  std::map<std::string, std::vector<std::shared_ptr<ScopeHandler>>, std::less<>> scopes_ SYN_GUARDED_BY(mutex_);
  /// Handlers of scopes this node left: kept until the node stops, because tasks and timers
  /// already queued on the engine thread may still point at them (they find them emptied).
  std::vector<std::shared_ptr<ScopeHandler>> retired_ SYN_GUARDED_BY(mutex_);
  /// scope -> the handlers it had when this node last left it, until it is added again: then
  /// each gets the new handler of its kind as successor, for the handles taken before.
  std::map<std::string, std::vector<std::shared_ptr<ScopeHandler>>, std::less<>> last_left_ SYN_GUARDED_BY(mutex_);
};

}  // namespace syn::detail
