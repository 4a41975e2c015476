#pragma once
/// \file
/// Registry: unique names cluster-wide within a scope.

#include <syn/pid.hpp>
#include <syn/process.hpp>
#include <syn/result.hpp>
#include <syn/term.hpp>

#include <cstddef>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

namespace syn {

namespace detail {
class RegistryScope;
}

/// A registry entry: the process holding a name, and its metadata.
struct Entry {
  Pid pid{};
  Term meta{};
  friend bool operator==(const Entry&, const Entry&) = default;
};

/// The registry of one scope on one node: a cheap handle, all calls thread-safe.
///
/// Writes are executed by the node running the pid (the authority) and replicated to every
/// node of the scope's subcluster; on the calling node they are visible (and its callbacks have
/// run) when the call returns. Reads use this node's replica only and never block on the
/// network. Get one with Node::registry(scope).
class Registry {
 public:
  /// Registers `name` to `pid` with `meta`.
  /// Errors: not_self (strict mode, use the Process& overload), invalid_remote_scope (the pid's
  /// node is not in the scope), node_down / timeout (cannot reach the pid's node; a timed-out
  /// call may still have happened), not_alive, taken (another pid holds the name).
  /// Registering again with the same pid and meta is a no-op; with another meta, an update.
  Result<void> register_name(const Term& name, const Pid& pid, Term meta = nullptr);
  /// As above, for the calling process itself (allowed in strict mode).
  Result<void> register_name(const Term& name, const Process& self, Term meta = nullptr);
  /// As above; on `taken`, fills `holder` (when not null) with the entry that holds the name:
  /// the authority's own table when the pid runs here, else this node's replica read right
  /// after the answer (the same unless a change of that name is still on its way here).
  Result<void> register_name(const Term& name, const Pid& pid, Term meta, Entry* holder);
  /// Pipelined register: returns at once; the future holds what register_name would return.
  /// Many calls in flight from one thread are batched on the wire (the fast bulk path).
  [[nodiscard]] std::future<Result<void>> register_name_async(const Term& name, const Pid& pid, Term meta = nullptr);

  /// Atomic read-modify-write of the meta: `fn(pid, meta)` runs on this thread against the
  /// authority's current meta and the result is applied by compare-and-set (retried on a
  /// concurrent change). Exceptions of `fn` reach the caller and change nothing.
  /// Errors: undefined (this replica lacks the name), not_alive, taken, not_self, node_down,
  /// timeout, invalid_remote_scope.
  Result<Entry> update(const Term& name, std::function<Term(const Pid&, const Term&)> fn);
  /// As above, for the calling process itself: in strict mode only the holder may update its
  /// own meta (not_self otherwise, also when the name changed hands meanwhile).
  Result<Entry> update(const Term& name, const Process& self, std::function<Term(const Pid&, const Term&)> fn);

  /// Unregisters `name`.
  /// Errors: undefined (not registered here or at the authority), race_condition (the
  /// authority holds it under another pid; nothing changed), node_down, timeout.
  Result<void> unregister_name(const Term& name);
  /// Pipelined unregister; see register_name_async.
  [[nodiscard]] std::future<Result<void>> unregister_name_async(const Term& name);

  /// The entry for `name` in this node's replica; nullopt when absent or when its local
  /// process is already dead.
  std::optional<Entry> lookup(const Term& name) const;
  /// The pid for `name`; see lookup.
  std::optional<Pid> whereis(const Term& name) const;
  /// Sends `message` to the process registered as `name`; false when not registered. Throws
  /// Error{bad_argument} for a name or message over NodeOptions::max_term_bytes, registered
  /// or not (SPEC 7).
  bool send(const Term& name, Term message);

  /// Every name in this node's replica (local processes already dead left out), in no
  /// particular order. Each shard is read at one instant under its lock, briefly.
  std::vector<Term> names() const;
  /// Calls `fn` for every name in this node's replica, as names() sees them. `fn` runs with no
  /// lock held: it may call the API (a write it makes may or may not be seen by this walk).
  void for_each(const std::function<void(const Term& name, const Entry& entry)>& fn) const;

  /// Names in this replica.
  std::size_t count() const;
  /// Names in this replica whose process runs on `node`.
  std::size_t count(std::string_view node) const;
  /// Names whose process runs on this node.
  std::size_t local_count() const;

  /// The scope this handle works on.
  const std::string& scope() const;

  /// Internal: made by Node::registry.
  explicit Registry(std::shared_ptr<detail::RegistryScope> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::RegistryScope> impl_;
};

}  // namespace syn
