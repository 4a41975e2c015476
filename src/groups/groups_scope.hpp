#pragma once
// The groups handler of one scope: the replica (GroupsTable), the authority's write path for
// local processes, replication from peers, snapshots, purges, hooks and subscriptions.
// SPEC.md sections 2, 4 and 5. Locking as in the registry: a change and everything that must
// follow it in order (broadcast, callbacks, subscription events) happen under its shard lock.
#include "groups/groups_table.hpp"
#include "groups/subscription_state.hpp"
#include "node/process_control.hpp"
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
  /// Ends a subscription (Subscription::cancel).
  void unsubscribe(const std::shared_ptr<SubscriptionState>& state);

  /// Node shutdown: drop every membership (no callbacks).
  void clear() override;
  std::vector<std::string> check_invariants() const override { return table_.check_invariants(node_->atom()); }

  // ---- ScopeHandler (engine thread) ----
  std::size_t snapshot_parts() const override { return GroupsTable::kShards; }
  void write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) override;
  void begin_remote_snapshot(std::uint32_t from) override;
  void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) override;
  void end_remote_snapshot(std::uint32_t from) override;
  void purge_node(std::uint32_t node) override;
  void on_replicated(std::uint32_t from, const msgpack::object& payload) override;
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) override;

  // ---- the authority's writes (groups_scope.cpp; scope/entry_writes.hpp calls them) ----
  /// `caller` is 0 for this node (any thread), else the remote caller (engine thread), which
  /// the function answers itself, under the shard lock (scope/authority_write.hpp).
  WriteOutcome authority_put(const std::string& key, const Pid& pid, std::string meta, std::uint32_t caller,
                             std::uint64_t request_id = 0);
  WriteOutcome authority_remove(const std::string& key, const Pid& pid, std::uint32_t caller,
                                std::uint64_t request_id = 0);
  WriteOutcome authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time, std::string meta,
                                std::uint32_t caller, std::uint64_t request_id = 0);
  /// The change a remote authority returned to this caller, applied here (read-your-writes).
  std::uint64_t apply_reply_change(std::uint32_t authority, const wire::entries::Change& change);

  // ---- ExitObserver ----
  void on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) override;

 private:
  enum class Change { joined, updated, left };

  using WriteLock = std::unique_lock<SharedMutex>;
  /// leave(_async): the member's authority removes it.
  template <class R>
  R leave_key(const Term& group, const Pid& pid);

  // replication (groups_replication.cpp)
  std::uint64_t apply_put(std::uint32_t from, const wire::entries::Put& put, const Reason& reason);
  std::uint64_t apply_del(std::uint32_t from, const wire::entries::Del& del, const Reason& reason);

  // events (groups_events.cpp): hooks and subscriptions, queued under the shard lock.
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
  EngineThread engine_thread_;
  // Snapshots being received: memberships of that node held before it.
  std::unordered_map<std::uint32_t, std::set<std::pair<std::string, std::uint64_t>>> stale_candidates_
      SYN_GUARDED_BY(engine_thread_);
};

}  // namespace syn::detail
