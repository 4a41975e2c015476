#pragma once
// The interface between the generic scope engine and a handler kind (the registry, groups,
// ...), and what a handler is built from. A handler owns its ScopeEngine; the scope directory
// makes one handler of every registered kind per scope (HandlerKind) and knows them only
// through this interface. Every method but engine() and clear() runs on the engine thread.
#include "node/scope_host.hpp"

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

class CallTable;
class ScopeEngine;

/// What a handler of one scope is built from.
struct ScopeContext {
  std::shared_ptr<ScopeHost> host;   ///< the node
  std::string scope;                 ///< the scope's name
  std::shared_ptr<CallTable> calls;  ///< the node's calls to other nodes (one table for all scopes)
};

class ScopeHandler {
 public:
  virtual ~ScopeHandler() = default;

  /// The engine of this handler's scope (any thread; it lives as long as the handler).
  virtual ScopeEngine& engine() = 0;
  /// Node shutdown: drop every entry, with no callbacks (any thread; the engine has stopped),
  /// but those a handler owes its users once (a multicast member's on_left, SPEC 8.1.2).
  virtual void clear() = 0;

  /// Node::remove_node_from_scopes, any thread, before anything else: what must still reach
  /// the peers before this node leaves goes out now (multicast: the local members leave, and
  /// this waits until they are out).
  virtual void before_leaving_scope() {}
  /// Node::remove_node_from_scopes, engine thread: this node's own entries go with callbacks
  /// (reason normal; not replicated: the peers purge this node's entries when it tells them it
  /// left, ScopeEngine::leave_subcluster), the others' are dropped without callbacks. Returns
  /// the last callback it queued (0 if none).
  virtual std::uint64_t leave_scope() = 0;

  /// How many parts a snapshot of this node's local data has (a fixed number, e.g. shards).
  virtual std::size_t snapshot_parts() const = 0;
  /// Writes one part of this node's local data as snapshot chunks; each chunk is one msgpack
  /// value, bounded in bytes (a receiver applies one per message). The engine streams the
  /// parts over several loop turns, so changes made meanwhile reach the peer between chunks
  /// (see ScopeEngine::send_snapshot).
  virtual void write_snapshot_part(std::size_t part, const std::function<void(std::string_view chunk)>& emit_chunk) = 0;
  /// A snapshot from `from` begins (its first chunk arrived).
  virtual void begin_remote_snapshot(std::uint32_t from) = 0;
  /// One chunk of the snapshot of `from`. Throws wire::DecodeError when malformed.
  virtual void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) = 0;
  /// The snapshot of `from` is complete: what it did not contain is stale.
  virtual void end_remote_snapshot(std::uint32_t from) = 0;
  /// `nodes` went down or left the subcluster (several when they went down together):
  /// remove everything of them. A table is scanned once for all of them.
  virtual void purge_nodes(const std::vector<std::uint32_t>& nodes) = 0;
  /// A replicated change from subcluster member `from`. Throws wire::DecodeError when malformed.
  virtual void on_replicated(std::uint32_t from, const msgpack::object& payload) = 0;
  /// A call routed here (this node runs the pid); answer with ScopeEngine::reply.
  /// Throws wire::DecodeError when malformed.
  virtual void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) = 0;

  /// The handler's own table rules, checked (any thread; storm tests and the simulator call
  /// it): one line per broken rule, empty when all hold.
  virtual std::vector<std::string> check_invariants() const { return {}; }

  // ---- membership of the subcluster (engine thread; optional) ----
  /// `node` joined the subcluster: it runs this scope too. Its snapshot follows; changes sent
  /// to members from now on reach it.
  virtual void on_member_added(std::uint32_t /*node*/) {}
  /// `node` left the subcluster (it went down, or its link did), after purge_nodes.
  virtual void on_member_removed(std::uint32_t /*node*/) {}
};

/// A kind of handler: its Kind, and how to make one for a scope. The table of kinds is given
/// to the node's ScopeDirectory (src/api/handler_kinds.cpp): adding a handler is a folder, its
/// Kind value and one line there.
struct HandlerKind {
  Kind kind;
  std::shared_ptr<ScopeHandler> (*make)(const ScopeContext& context);
};

/// HandlerKind::make for a handler class built from a ScopeContext.
template <class Handler>
std::shared_ptr<ScopeHandler> make_handler(const ScopeContext& context) {
  return std::make_shared<Handler>(context);
}

}  // namespace syn::detail
