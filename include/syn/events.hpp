#pragma once
/// \file
/// Event hooks (EventHandler, Reason) and registry conflict resolution (ConflictResolver).

#include <syn/pid.hpp>
#include <syn/term.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace syn {

/// The kinds of scope handler; each kind has its own subcluster per scope.
enum class Kind { registry, groups, multicast };

/// "registry", "groups" or "multicast".
std::string_view to_string(Kind kind);

/// Why an entry or membership changed; passed to every EventHandler callback.
struct Reason {
  enum class Kind {
    normal,                  ///< an API call (on this node or another)
    process_exit,            ///< the process died; exit_reason says why
    remote_scope_node_up,    ///< applying a peer's snapshot (new, changed or stale entries)
    remote_scope_node_down,  ///< a peer went down or left; node says which
    conflict_resolution,     ///< a registry conflict was resolved after a net split
    undefined,               ///< a local entry found dead while the node could not watch it
  };
  Kind kind = Kind::normal;
  Term exit_reason{};  ///< process_exit: the reason the process died with
  std::string node{};  ///< remote_scope_node_up/down: the remote node

  /// e.g. "normal", "process_exit(\"killed\")", "remote_scope_node_down(beta)".
  std::string to_string() const;

  static Reason normal() { return {}; }
  static Reason process_exit(Term why) { return {Kind::process_exit, std::move(why), {}}; }
  static Reason node_up(std::string node) { return {Kind::remote_scope_node_up, nullptr, std::move(node)}; }
  static Reason node_down(std::string node) { return {Kind::remote_scope_node_down, nullptr, std::move(node)}; }
  static Reason conflict() { return {Kind::conflict_resolution, nullptr, {}}; }
};

/// The snake_case name of a reason kind, e.g. "remote_scope_node_up".
std::string_view to_string(Reason::Kind kind);

/// Receives registry and group changes. Every callback is optional.
///
/// Callbacks run on every node of the subcluster after its replica changed, exactly once per
/// node per change, in the order applied, on a dedicated thread of the node (never the
/// network thread). They may call any API, writes included. Exceptions are caught and logged.
/// On the node that made a call, the callbacks of that call have run before the call returns.
class EventHandler {
 public:
  virtual ~EventHandler() = default;
  /// A name was registered (also: won a conflict, arrived in a snapshot).
  virtual void on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                     const Reason& reason);
  /// The meta of a registered name changed (same pid).
  virtual void on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid,
                                           const Term& previous_meta, const Term& meta, const Reason& reason);
  /// A name was unregistered (also: process died, node down, lost a conflict).
  virtual void on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                       const Reason& reason);
  /// A process joined a group.
  virtual void on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                                 const Reason& reason);
  /// The meta of a group member changed.
  virtual void on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid,
                                        const Term& previous_meta, const Term& meta, const Reason& reason);
  /// A process left a group (also: died, node down).
  virtual void on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                               const Reason& reason);

  // ---- lifecycle (SPEC 9): always the node's handler, never a scope's ----
  /// A link to `node` came up (its handshake completed).
  virtual void on_node_up(const std::string& node);
  /// The link to `node` went down; `reason` is one of "connection_lost", "timeout", "left",
  /// "disconnected", "reset", "overflow", "restarted".
  virtual void on_node_down(const std::string& node, const std::string& reason);
  /// This node has applied the whole snapshot of `node` for (kind, scope), after the
  /// callbacks of that snapshot's entries. Goes to the scope's handler when it has one.
  virtual void on_scope_synced(Kind kind, std::string_view scope, const std::string& node);
};

/// One side of a registry conflict, as given to a ConflictResolver.
struct ConflictCandidate {
  Pid pid{};
  Term meta{};
  std::int64_t time{};  ///< registration time, nanoseconds of the authority's wall clock
};

/// Chooses the pid that keeps a name registered on both sides of a healed split.
///
/// Called on the node that runs `local.pid`, from the network thread: keep it short and do not
/// call the API from it. Returns the pid to keep. nullopt, a pid that is neither candidate, or
/// an exception: keep neither (the name is freed everywhere). A custom resolver kills nothing.
using ConflictResolver = std::function<std::optional<Pid>(
    std::string_view scope, const Term& name, const ConflictCandidate& incoming, const ConflictCandidate& local)>;

}  // namespace syn
