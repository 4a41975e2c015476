#pragma once
// The groups handler of one scope: the replica (GroupsTable), the authority's write path for
// local processes, replication from peers, snapshots, purges, hooks and subscriptions.
// SPEC.md sections 2, 4 and 5. Locking as in the registry: a change and everything that must
// follow it in order (broadcast, callbacks, subscription events) happen under its shard lock.
#include "groups/groups_table.hpp"
#include "groups/subscription_state.hpp"
#include "node/process_control.hpp"
#include "scope/authority_write.hpp"
#include "scope/entry_calls.hpp"
#include "scope/scope_engine.hpp"
#include "scope/scope_handler.hpp"

#include <syn/groups.hpp>

#include <atomic>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace syn::detail {

/// True for the key under which a mailbox subscription watches its subscriber (never a group).
bool is_subscription_key(std::string_view key);

class GroupsScope final : public ScopeHandler, public ExitObserver, public std::enable_shared_from_this<GroupsScope> {
 public:
  explicit GroupsScope(const ScopeContext& context);
  ~GroupsScope() override;

  const std::string& scope() const { return engine_.scope(); }
  ScopeEngine& engine() override { return engine_; }
  ScopeHost& node() { return *node_; }

  // ---- the API (any thread) ----
  Result<void> join(const Term& group, const Pid& pid, Term meta, bool by_self);
  std::future<Result<void>> join_async(const Term& group, const Pid& pid, Term meta);
  Result<void> leave(const Term& group, const Pid& pid);
  std::future<Result<void>> leave_async(const Term& group, const Pid& pid);
  /// Joins / leaves of a list of pids (groups_lists.cpp): the pids of one node applied there
  /// together, as one replicated change and one event; one call per node, all at once.
  std::vector<Result<void>> join_list(const Term& group, const std::vector<Pid>& pids, const Term& meta);
  std::vector<Result<void>> leave_list(const Term& group, const std::vector<Pid>& pids);
  /// join_counted / leave_counted (groups_counted.cpp): the count after the call.
  Result<std::size_t> join_counted(const Term& group, const Pid& pid, Term meta, bool by_self);
  Result<std::size_t> leave_counted(const Term& group, const Pid& pid);
  Result<Member> update_member(const Term& group, const Pid& pid, const std::function<Term(const Term&)>& fn);

  std::vector<Member> members(const Term& group, std::optional<std::uint32_t> only_node = std::nullopt) const;
  /// The visible members' pids only (no meta copies).
  std::vector<Pid> member_pids(const Term& group) const;
  std::optional<Member> member(const Term& group, const Pid& pid) const;
  std::size_t member_count(const Term& group, std::optional<std::uint32_t> only_node = std::nullopt) const;
  std::size_t group_count(std::optional<std::uint32_t> only_node = std::nullopt) const;
  std::vector<Term> group_names(std::optional<std::uint32_t> only_node = std::nullopt) const;

  std::size_t publish(const Term& group, const Term& message, bool local_only);
  MultiCallResult multi_call(const Term& group, const Term& message, std::chrono::milliseconds timeout);

  Subscription monitor(const Term& group, std::function<void(const GroupEvent&)> on_event,
                       std::vector<Member>* current);
  Subscription monitor_scope(std::function<void(const GroupEvent&)> on_event,
                             std::map<Term, std::vector<Member>>* current);
  /// Mailbox subscriptions (mailbox_subscriptions.cpp): each event becomes a Message in the
  /// subscriber's mailbox; the subscription ends when the subscriber dies.
  Subscription monitor(const Term& group, const Process& subscriber, std::vector<Member>* current);
  Subscription monitor_scope(const Process& subscriber, std::map<Term, std::vector<Member>>* current);
  /// Ends a subscription (Subscription::cancel).
  void unsubscribe(const std::shared_ptr<SubscriptionState>& state);

  /// Node shutdown: drop every membership (no callbacks).
  void clear() override;
  std::uint64_t leave_scope() override;
  std::vector<std::string> check_invariants() const override { return table_.check_invariants(node_->atom()); }

  // ---- ScopeHandler (engine thread) ----
  std::size_t snapshot_parts() const override { return GroupsTable::kShards; }
  void write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) override;
  void begin_remote_snapshot(std::uint32_t from) override;
  void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) override;
  void end_remote_snapshot(std::uint32_t from) override;
  void purge_nodes(const std::vector<std::uint32_t>& nodes) override;
  void on_replicated(std::uint32_t from, const msgpack::object& payload) override;
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) override;

  // ---- the authority's writes (groups_scope.cpp; scope/entry_writes.hpp calls them) ----
  /// `caller` is 0 for this node (any thread), else the remote caller (engine thread), which
  /// the function answers itself, under the shard lock (scope/authority_write.hpp).
  WriteOutcome authority_put(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                             std::uint64_t request_id = 0);
  WriteOutcome authority_remove(const std::string& key, const Pid& pid, std::uint32_t caller,
                                std::uint64_t request_id = 0);
  /// A list join / leave at the authority (all pids local): one shard lock, one change.
  WriteOutcome authority_put_many(const std::string& key, const std::vector<Pid>& pids, std::string meta,
                                  std::uint32_t caller, std::uint64_t request_id = 0);
  WriteOutcome authority_remove_many(const std::string& key, const std::vector<Pid>& pids, std::uint32_t caller,
                                     std::uint64_t request_id = 0);
  /// Counted join / leave at the authority: the outcome carries the count after it; only the
  /// first join and the last leave change the membership (and replicate).
  WriteOutcome authority_join_counted(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                                      std::uint64_t request_id = 0);
  WriteOutcome authority_leave_counted(const std::string& key, const Pid& pid, std::uint32_t caller,
                                       std::uint64_t request_id = 0);
  WriteOutcome authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time, std::string meta,
                                std::uint32_t caller, std::uint64_t request_id = 0);
  /// The change a remote authority returned to this caller, applied here (read-your-writes).
  std::uint64_t apply_reply_change(std::uint32_t authority, const wire::entries::Change& change);

  // ---- ExitObserver ----
  void on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) override;

 private:
  enum class Change { joined, updated, left };
  /// One member's change, for post_changes.
  struct MemberChange {
    Change change;
    Pid pid;
    std::string previous_meta;  ///< updated: the meta before
    std::string meta;
  };

  using WriteLock = std::unique_lock<SharedMutex>;

  /// Adds `state` to the group's (or the scope's) subscribers, filling `current` atomically.
  Subscription subscribe_group(const Term& group, std::shared_ptr<SubscriptionState> state,
                               std::vector<Member>* current);
  Subscription subscribe_scope(std::shared_ptr<SubscriptionState> state, std::map<Term, std::vector<Member>>* current);
  /// A mailbox subscription's state, not subscribed yet.
  std::shared_ptr<SubscriptionState> mailbox_state(const Process& subscriber);
  /// After subscribing: ends the subscription when its subscriber dies (now, if dead already).
  Subscription watch_subscriber(Subscription subscription, const std::shared_ptr<SubscriptionState>& state);
  /// Unsubscribing a mailbox subscription: its subscriber is not watched any more.
  void forget_subscriber(const SubscriptionState& state);
  /// The mailbox subscriptions whose subscriber died: ended.
  void end_subscriptions_of_dead(const std::vector<std::string>& keys);
  /// leave(_async): the member's authority removes it.
  template <class R>
  R leave_key(const Term& group, const Pid& pid);

  /// Adds local process `process` to `group` (`key`'s entry, or end() when the group is new)
  /// and reports the join (change and callbacks); authority_put and the first counted join.
  /// False, with not_alive, when the process died meanwhile.
  bool join_here(AuthorityWrite<WriteLock>& w, GroupsTable::Shard& shard, GroupsTable::Map::iterator group,
                 const std::string& key, const Pid& pid, const std::string& meta, ProcessControl& process)
      SYN_REQUIRES(shard.mutex);
  /// Removes member `m` of `group` (a local process) with reason normal, for authority_remove
  /// and the last counted leave.
  void leave_here(AuthorityWrite<WriteLock>& w, GroupsTable::Shard& shard, GroupsTable::Map::iterator group,
                  absl::btree_map<Pid, MemberRec>::iterator m) SYN_REQUIRES(shard.mutex);
  /// A counted call to a remote authority, settled (its change applied, its callbacks run).
  Result<std::size_t> call_counted(const Pid& pid, const wire::entries::CallRequest& request);
  /// A list write (join_list / leave_list): `pids` grouped by node, each group written by its
  /// node; `results` gets each pid's result at its index.
  void write_list(wire::entries::CallOp op, const std::string& key, const std::vector<Pid>& pids,
                  const std::string& meta, std::vector<Result<void>>& results);
  /// The change of a list write at the authority: put_many or del_many for the caller and
  /// the peers, or one change per pid for peers that cannot read it.
  void list_changed(AuthorityWrite<WriteLock>& w, std::string batched, std::vector<std::string> singles,
                    std::uint64_t event_seq);

  // replication (groups_replication.cpp)
  std::uint64_t apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason);
  std::uint64_t apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason);
  /// A change of `from` that overtakes its part of a snapshot being streamed is current, not
  /// stale: it leaves the stale candidates.
  void not_stale(std::uint32_t from, const wire::entries::Put& put) SYN_REQUIRES(engine_thread_);
  /// Applies the group that `from`'s last snapshot chunk ended with (see IncomingSnapshot),
  /// before anything else of that node is.
  void close_open_group(std::uint32_t from) SYN_REQUIRES(engine_thread_);
  /// Applies snapshot entries of `from`, whole groups in a row: one lock and one event per group.
  void apply_snapshot_entries(std::uint32_t from, std::vector<wire::entries::SnapshotEntry>& entries)
      SYN_REQUIRES(engine_thread_);
  /// A put_many / del_many of `from` (one group): one lock, one event.
  std::uint64_t apply_puts(std::uint32_t from, const std::vector<wire::entries::Put>& puts);
  std::uint64_t apply_dels(std::uint32_t from, const std::vector<wire::entries::Del>& dels);
  /// A peer's Put / Del applied to this replica (its shard's lock held); what changed is
  /// added to `out` (null: nobody listens, see listened).
  void put_replica(GroupsTable::Shard& shard, std::uint32_t from, const wire::entries::Put& put,
                   std::vector<MemberChange>* out) SYN_REQUIRES(shard.mutex);
  void del_replica(GroupsTable::Shard& shard, std::uint32_t from, const wire::entries::Del& del,
                   std::vector<MemberChange>* out) SYN_REQUIRES(shard.mutex);

  // events (groups_events.cpp): hooks and subscriptions, queued under the shard lock.
  /// The changes of one group made under one hold of its shard's lock, queued as one task: a
  /// callback per change, and one subscription event per run of changes of the same kind
  /// (SPEC 4: a list write, a node down or a snapshot is one event per group). Returns the
  /// task's sequence (0 when nobody listens).
  std::uint64_t post_changes(GroupsTable::Shard& shard, std::string_view key, std::vector<MemberChange> changes,
                             const Reason& reason) SYN_REQUIRES(shard.mutex);
  /// Whether a change of group `key` has anyone to tell (an event handler, a subscription).
  /// When not, writers skip recording their changes (copies of pids and metas).
  bool listened(const GroupsTable::Shard& shard, std::string_view key) const SYN_REQUIRES_SHARED(shard.mutex);
  std::uint64_t post_change(GroupsTable::Shard& shard, Change change, std::string_view key, const Pid& pid,
                            std::string_view previous_meta, std::string_view meta, const Reason& reason)
      SYN_REQUIRES(shard.mutex);
  /// Members of a group as the API shows them (dead local ones hidden, unless `include_dead`:
  /// subscriptions need them, see monitor). Shard lock held.
  std::vector<Member> visible_members(const Group& group, std::optional<std::uint32_t> only_node,
                                      bool include_dead = false) const;

  std::shared_ptr<ScopeHost> node_;
  ScopeEngine engine_;
  GroupsTable table_;
  // Scope-wide subscriptions: copied on write, read by writers under their shard lock.
  std::mutex scope_subscribers_mutex_;
  std::shared_ptr<const std::vector<std::shared_ptr<SubscriptionState>>> scope_subscribers_;
  // Mailbox subscriptions by id, to end them when their subscriber dies (an attachment of the
  // subscriber's process under a key that no group key can be: see mailbox_subscriptions.cpp).
  Mutex mailbox_subscriptions_mutex_;
  std::unordered_map<std::uint64_t, std::weak_ptr<SubscriptionState>> mailbox_subscriptions_
      SYN_GUARDED_BY(mailbox_subscriptions_mutex_);
  std::atomic<std::uint64_t> next_subscription_id_{0};
  EngineThread engine_thread_;
  /// A snapshot being received from a node.
  struct IncomingSnapshot {
    /// The memberships of that node held before it: those it lacks are stale.
    std::set<std::pair<std::string, std::uint64_t>> stale_candidates;
    /// The entries of the group the last chunk ended with, not applied yet: a chunk may end
    /// inside a group, and a group is applied whole, one event (SPEC 4). A part is sent in
    /// one go, so the group is closed by the next chunk's first other group, by any other
    /// message of that node, or by the snapshot's end.
    std::vector<wire::entries::SnapshotEntry> open_group;
  };
  std::unordered_map<std::uint32_t, IncomingSnapshot> incoming_ SYN_GUARDED_BY(engine_thread_);
};

}  // namespace syn::detail
