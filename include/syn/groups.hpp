#pragma once
/// \file
/// Groups: named sets of processes per scope, pub/sub, scatter/gather and subscriptions.

#include <syn/pid.hpp>
#include <syn/process.hpp>
#include <syn/result.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

namespace syn {

namespace detail {
class GroupsScope;
struct SubscriptionState;
}  // namespace detail

/// A group member: a process and its meta in that group.
struct Member {
  Pid pid{};
  Term meta{};
  friend bool operator==(const Member&, const Member&) = default;
};

/// What Groups::multi_call returns.
struct MultiCallResult {
  std::vector<std::pair<Member, Term>> replies{};  ///< each reply with the member that sent it
  std::vector<Member> bad_replies{};               ///< no reply in time, or died first
};

/// A change of a group, as seen by a Subscription.
struct GroupEvent {
  enum class Type { join, leave, update } type;
  Term group{};
  std::vector<Member> members{};  ///< the members that joined, left or changed (new meta)
};

/// Move-only RAII handle of a subscription (Groups::monitor / monitor_scope).
/// Destroying it (or cancel()) ends the subscription: no event is delivered after that returns,
/// also when called from inside the subscription's own callback.
class Subscription {
 public:
  Subscription() = default;
  Subscription(Subscription&&) noexcept = default;
  Subscription& operator=(Subscription&& other) noexcept;
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;
  ~Subscription();
  /// Ends the subscription now.
  void cancel();
  /// True until cancelled or moved from; for a mailbox subscription, also until its
  /// subscriber dies.
  bool active() const;

  /// Internal: made by Groups::monitor.
  explicit Subscription(std::shared_ptr<detail::SubscriptionState> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<detail::SubscriptionState> state_;
};

/// The groups of one scope on one node: a cheap handle, all calls thread-safe.
///
/// Writes are executed by the node running the pid and replicated to the scope's subcluster;
/// reads use this node's replica only. Get one with Node::groups(scope).
class Groups {
 public:
  /// Adds `pid` to `group` with `meta`; joining again with another meta updates it, with the
  /// same meta it is a no-op. Errors: not_self, invalid_remote_scope, node_down, timeout,
  /// not_alive.
  Result<void> join(const Term& group, const Pid& pid, Term meta = nullptr);
  /// As above, for the calling process itself (allowed in strict mode).
  Result<void> join(const Term& group, const Process& self, Term meta = nullptr);
  /// Pipelined join: returns at once; the future holds what join would return.
  [[nodiscard]] std::future<Result<void>> join_async(const Term& group, const Pid& pid, Term meta = nullptr);
  /// Joins every pid of `pids` to `group` with `meta` (OTP pg's multi-join): one result per
  /// pid, in input order, each what join() would return for it. The pids of one node are
  /// joined there together: one replicated change and one subscription event per node (a
  /// callback per pid), every node's at once. In strict mode: not_self for every pid.
  std::vector<Result<void>> join(const Term& group, const std::vector<Pid>& pids, Term meta = nullptr);
  /// Removes `pid` from `group`. Errors: not_in_group, invalid_remote_scope, node_down, timeout.
  Result<void> leave(const Term& group, const Pid& pid);
  /// Removes every pid of `pids` from `group`: one result per pid, in input order, one change
  /// and one event per node, as join of a list (a pid listed twice: not_in_group the second
  /// time).
  std::vector<Result<void>> leave(const Term& group, const std::vector<Pid>& pids);
  /// Pipelined leave; see join_async.
  [[nodiscard]] std::future<Result<void>> leave_async(const Term& group, const Pid& pid);
  /// Counted join (OTP pg's join): the membership exists from the first counted join to the
  /// leave_counted that brings its count back to 0. Only the first join changes the group
  /// (replicated, callbacks, with `meta`); later ones only count, on the pid's node (their
  /// meta is ignored: change it with join or update_member). A plain join of a non-member
  /// counts 1. Returns the count after the call. Errors as join; a pid whose node runs an
  /// older protocol (below 3): bad_argument.
  Result<std::size_t> join_counted(const Term& group, const Pid& pid, Term meta = nullptr);
  /// As above, for the calling process itself (allowed in strict mode).
  Result<std::size_t> join_counted(const Term& group, const Process& self, Term meta = nullptr);
  /// Counted leave: one less; the membership goes (replicated, callbacks) when the count
  /// reaches 0. Returns the count after the call (0: left). A plain leave removes the
  /// membership whatever its count. Errors as leave.
  Result<std::size_t> leave_counted(const Term& group, const Pid& pid);
  /// Atomic read-modify-write of a member's meta (compare-and-set on the authority; `fn` runs
  /// on this thread; its exceptions reach the caller). Errors: not_alive, undefined (not a
  /// member), invalid_remote_scope, node_down, timeout.
  Result<Member> update_member(const Term& group, const Pid& pid, std::function<Term(const Term&)> fn);

  /// Members of `group` in this replica, ordered by pid.
  std::vector<Member> members(const Term& group) const;
  /// The pids of `group`'s members in this replica, ordered by pid, without copying their
  /// metas (OTP pg's get_members): cheaper than members() when the metas are not needed.
  std::vector<Pid> member_pids(const Term& group) const;
  /// The member `pid` of `group`, if it is one.
  std::optional<Member> member(const Term& group, const Pid& pid) const;
  bool is_member(const Term& group, const Pid& pid) const;
  /// Members of `group` running on this node.
  std::vector<Member> local_members(const Term& group) const;
  /// True only for a member running on this node.
  bool is_local_member(const Term& group, const Pid& pid) const;
  std::size_t member_count(const Term& group) const;
  /// Members of `group` running on `node`.
  std::size_t member_count(const Term& group, std::string_view node) const;
  std::size_t local_member_count(const Term& group) const;
  /// Groups with at least one member.
  std::size_t group_count() const;
  /// Groups with at least one member on `node`.
  std::size_t group_count(std::string_view node) const;
  std::size_t local_group_count() const;
  std::vector<Term> group_names() const;
  std::vector<Term> group_names(std::string_view node) const;
  std::vector<Term> local_group_names() const;

  /// Sends `message` to every member in this replica; returns how many. Unknown group: 0.
  /// Throws Error{bad_argument} when the group or the message is over max_term_bytes.
  std::size_t publish(const Term& group, const Term& message);
  /// Sends `message` to the members running on this node; returns how many.
  std::size_t local_publish(const Term& group, const Term& message);
  /// Scatter/gather: every member gets a Message with is_multi_call() and answers with reply().
  /// Lasts about `timeout` at most, whatever the number of members. Throws Error{bad_argument}
  /// when the group or the message is over max_term_bytes (and reply() when its answer is).
  MultiCallResult multi_call(const Term& group, const Term& message,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Subscribes to one group: fills `current` with its members, atomically, then calls
  /// `on_event` for every join, leave and meta update of this node's view, in order.
  Subscription monitor(const Term& group, std::function<void(const GroupEvent&)> on_event,
                       std::vector<Member>* current = nullptr);
  /// Subscribes to every group of the scope; see monitor.
  Subscription monitor_scope(std::function<void(const GroupEvent&)> on_event,
                             std::map<Term, std::vector<Member>>* current = nullptr);
  /// Mailbox subscription to one group (OTP pg's monitor): as monitor, but each event arrives
  /// as a Message in `subscriber`'s mailbox (Message::group_event() non-null, null body), in
  /// the order applied, among its other messages. The subscription ends when the subscriber
  /// dies (at once when it is dead already); cancel() also drops its events still waiting in
  /// the mailbox.
  Subscription monitor(const Term& group, const Process& subscriber, std::vector<Member>* current = nullptr);
  /// Mailbox subscription to every group of the scope; see the one above.
  Subscription monitor_scope(const Process& subscriber, std::map<Term, std::vector<Member>>* current = nullptr);

  /// The scope this handle works on.
  const std::string& scope() const;

  /// Internal: made by Node::groups.
  explicit Groups(std::shared_ptr<detail::GroupsScope> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<detail::GroupsScope> impl_;
};

}  // namespace syn
