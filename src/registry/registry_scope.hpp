#pragma once
// The registry handler of one scope: the replica (RegistryTable), the authority's write path
// for local processes, replication from peers, snapshots, purges, conflict resolution, and the
// event callbacks. SPEC.md sections 2, 3, 5 and 6.
//
// Locking: every change of an entry happens under its shard's lock, and everything that must
// follow the change in order (the broadcast, the callbacks) is queued before that lock is
// released. Writes for local processes run on the caller's thread; replication, calls from
// other nodes and conflict resolution run on the engine thread. Processes are killed only
// after every lock is released (their death takes the locks again).
#include "scope/call_table.hpp"
#include "node/process_control.hpp"
#include "registry/registry_table.hpp"
#include "scope/entry_calls.hpp"
#include "scope/scope_engine.hpp"
#include "scope/scope_handler.hpp"
#include "wire/entry_messages.hpp"

#include <syn/events.hpp>
#include <syn/registry.hpp>

#include <algorithm>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace syn::detail {

class RegistryScope final : public ScopeHandler, public ExitObserver {
 public:
  explicit RegistryScope(const ScopeContext& context);
  ~RegistryScope() override;

  const std::string& scope() const { return engine_.scope(); }
  ScopeEngine& engine() override { return engine_; }
  ScopeHost& node() { return *node_; }

  // ---- the API (any thread) ----
  /// A registration that finds the name taken puts its holder, as the authority saw it, in
  /// `holder` (if any; none from a peer of before holders travelled).
  Result<void> register_name(const Term& name, const Pid& pid, Term meta, bool by_self, HolderSlot holder = nullptr);
  std::future<Result<void>> register_name_async(const Term& name, const Pid& pid, Term meta);
  Result<Entry> update(const Term& name, const std::function<Term(const Pid&, const Term&)>& fn, const Pid* self);
  Result<void> unregister_name(const Term& name);
  std::future<Result<void>> unregister_name_async(const Term& name);
  std::optional<Entry> lookup(const Term& name) const;
  std::optional<Pid> whereis(const Term& name) const;
  /// Every entry of the replica as stored bytes (local processes already dead left out): each
  /// shard copied under its read lock, then `fn` called for its entries with no lock held.
  void for_each(const std::function<void(std::string_view key, const Pid& pid, std::string_view meta)>& fn) const;
  std::size_t count() const { return table_.size(); }
  std::size_t count(std::uint32_t node_atom) const { return table_.count(node_atom); }

  std::vector<std::string> check_invariants() const override { return table_.check_invariants(node_->atom()); }

  /// Node shutdown: drop every entry (no callbacks).
  void clear() override;
  std::uint64_t leave_scope() override;

  // ---- the authority's writes (registry_scope.cpp; scope/entry_writes.hpp calls them) ----
  /// `caller` is 0 for this node (any thread), else the remote caller (engine thread), which
  /// the function answers itself, under the shard lock (scope/authority_write.hpp).
  WriteOutcome authority_put(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                             std::uint64_t request_id = 0);
  WriteOutcome authority_remove(const std::string& key, const Pid& pid, std::uint32_t caller,
                                std::uint64_t request_id = 0);
  WriteOutcome authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time, std::string meta,
                                std::uint32_t caller, std::uint64_t request_id = 0);
  /// The change a remote authority returned to this caller: applied here as the authority
  /// applied it (read-your-writes). Engine thread.
  std::uint64_t apply_reply_change(std::uint32_t authority, const wire::entries::Change& change);

  // ---- ScopeHandler (engine thread) ----
  std::size_t snapshot_parts() const override { return RegistryTable::kShards; }
  void write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) override;
  void begin_remote_snapshot(std::uint32_t from) override;
  void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) override;
  void end_remote_snapshot(std::uint32_t from) override;
  void purge_nodes(const std::vector<std::uint32_t>& nodes) override;
  void on_replicated(std::uint32_t from, const msgpack::object& payload) override;
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) override;

  // ---- ExitObserver (the killing thread) ----
  void on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) override;

 private:
  struct Kill {
    std::shared_ptr<ProcessControl> process;
    Term reason;
  };
  /// Finds `name` in this replica (hiding a dead local holder) and returns read(entry).
  template <class Read>
  auto read_entry(const Term& name, Read&& read) const
      -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))>;
  /// The same for a name already in canonical bytes (`Key`: std::string_view, or the ShortKey
  /// of a short one).
  template <class Key, class Read>
  auto read_key(const Key& key, Read&& read) const
      -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))>;

  using WriteLock = RegistryTable::Shard::WriteLock;
  /// unregister_name(_async): the holder's authority removes it.
  template <class R>
  R unregister_key(const Term& name);
  Answer<Entry> update_remote(const std::string& key, const Pid& pid, std::string meta, std::int64_t time,
                              const std::function<Term(const Pid&, const Term&)>& fn, const Pid* self);
  void wait_for_callbacks(std::uint64_t seq);

  // replication (registry_replication.cpp)
  /// Applies a registration of `pid` (a process of node `from`) arriving from elsewhere.
  void apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason, std::vector<Kill>& kills,
                 std::uint64_t* event_seq = nullptr);
  void apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason,
                 std::uint64_t* event_seq = nullptr);
  /// A registration of node `from` for a name shown here under a pid of another node, this
  /// node owning neither: the newer one shows, the other stays hidden. Lock held.
  void apply_foreign_put(RegistryTable::Shard& shard, RegistryTable::Map::iterator it, std::uint32_t from,
                         RegEntry incoming, const Reason& reason, std::uint64_t* event_seq) SYN_REQUIRES(shard.mutex);
  /// Removes the shown entry with callback `reason`; the newest hidden registration of the
  /// name, if any, shows instead (callback with conflict_resolution). Returns the last
  /// callback's sequence. Lock held.
  std::uint64_t remove_shown(RegistryTable::Shard& shard, RegistryTable::Map::iterator it, const Reason& reason)
      SYN_REQUIRES(shard.mutex);
  /// Drops the hidden registration of `node` for `key`: any, or (pid given) only that pid's
  /// if not newer than `not_after`. Lock held.
  void drop_hidden(RegistryTable::Shard& shard, std::string_view key, std::uint32_t node, const Pid* pid,
                   std::int64_t not_after) SYN_REQUIRES(shard.mutex);
  void run_kills(std::vector<Kill>& kills);
  std::optional<Pid> resolve_conflict(const Term& name, const ConflictCandidate& incoming,
                                      const ConflictCandidate& local, bool& default_resolver);
  /// The default resolver's choice: the newer time, equal times the greater pid (both owners
  /// compute the same).
  static Pid default_choice(const ConflictCandidate& incoming, const ConflictCandidate& local);
  /// How many rounds in a row the two owners of `key` each kept their own under a custom
  /// resolver, counting this one (0: a new conflict). Engine thread.
  std::uint32_t disagreeing_rounds(const std::string& key, const Reason& reason);
  /// The time of a change to a local registration: this node's clock, but never older than
  /// the time the registration had. A conflict this node won may have stamped it ahead of
  /// the clock (past the other owner's time); a change stamped older than that would be
  /// dropped as stale by every peer that holds the newer time (an update never applied, a
  /// removal that leaves a dead process's name behind).
  std::int64_t newer_time(const RegEntry& entry) { return std::max(node_->unique_time_ns(), entry.time + 1); }

  // events (registry_events.cpp)
  std::uint64_t post_registered(std::string_view key, const Pid& pid, std::string_view meta, const Reason& reason);
  std::uint64_t post_updated(std::string_view key, const Pid& pid, std::string_view previous, std::string_view meta,
                             const Reason& reason);
  std::uint64_t post_unregistered(std::string_view key, const Pid& pid, std::string_view meta, const Reason& reason);

  std::shared_ptr<ScopeHost> node_;
  ScopeEngine engine_;
  RegistryTable table_;
  EngineThread engine_thread_;
  // Snapshots being received: keys of that node held before the snapshot and not seen in it
  // yet.
  std::unordered_map<std::uint32_t, std::unordered_set<std::string>> stale_candidates_ SYN_GUARDED_BY(engine_thread_);
  /// After this many rounds in which custom resolvers on the two owners each kept their own,
  /// both apply the default choice (SPEC 6: no livelock).
  static constexpr std::uint32_t kMaxDisagreeingRounds = 3;
  // Names in conflict whose owners' resolvers keep disagreeing: rounds so far (erased when the
  // conflict ends here).
  std::unordered_map<std::string, std::uint32_t> disagreements_ SYN_GUARDED_BY(engine_thread_);
};

}  // namespace syn::detail
