#pragma once
/// \file
/// Guaranteed multicast (SPEC 8, after RabbitMQ's gm): groups whose members agree on who is
/// in them (views) and on what they received (virtual synchrony), with per-publisher order.
///
/// Node::multicast(scope) gives a Multicast handle for a scope the node added; a local
/// process joins a group with a MulticastHandler and gets a Membership, through which it
/// broadcasts to the group and leaves it.

#include <syn/pid.hpp>
#include <syn/process.hpp>
#include <syn/result.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn {

namespace detail {
class MulticastScope;
struct MemberState;
}  // namespace detail

/// Why a member left a view (ViewChange::left) or its group (MulticastHandler::on_left).
enum class LeaveReason {
  left,          ///< Membership::leave, or the Membership was destroyed
  process_exit,  ///< the member's process died
  node_down,     ///< its node went down, left, or is on the other side of a split
  evicted,       ///< removed by the coordinator: lagging, unreachable from an older member, silent
};

/// "left", "process_exit", "node_down" or "evicted".
std::string_view to_string(LeaveReason reason);

/// Names one installed view of a group: the member that installed it and its number. Numbers
/// grow by one at each change and go above both sides' at a merge; a number may come back with
/// another coordinator (a view that no node installed is abandoned), which is why the
/// coordinator is part of the name. A regular value type (copy, ==, <=>, std::hash).
struct ViewId {
  Pid coordinator{};         ///< the member that installed it
  std::uint64_t number = 0;  ///< +1 at each change; above both sides at a merge

  friend bool operator==(const ViewId&, const ViewId&) = default;
  /// By number first, then by coordinator.
  friend std::strong_ordering operator<=>(const ViewId& a, const ViewId& b) {
    if (auto c = a.number <=> b.number; c != 0) return c;
    return a.coordinator <=> b.coordinator;
  }
};

/// A group's member list as installed on every node of it.
struct View {
  Term group{};
  ViewId id{};
  std::vector<Pid> members{};  ///< in join order; members.front() coordinates

  friend bool operator==(const View&, const View&) = default;
};

/// A view change as one member sees it (MulticastHandler::on_view).
struct ViewChange {
  View view{};                                      ///< the view now installed
  std::vector<Pid> joined{};                        ///< members new in it
  std::vector<std::pair<Pid, LeaveReason>> left{};  ///< members gone since the previous view
  bool merged = false;                              ///< two sides of a net split became one view

  friend bool operator==(const ViewChange&, const ViewChange&) = default;
};

/// One member's callbacks. They run one at a time, in order, off the network thread;
/// exceptions are caught and logged (the message counts as received). A callback may call the
/// API (not the calls that would wait on the member's own deliveries: SPEC 8.1.3, 8.3.2).
class MulticastHandler {
 public:
  virtual ~MulticastHandler() = default;
  /// The member's first view (the first callback).
  virtual void on_joined(const View& /*view*/) {}
  /// Every later view, in order.
  virtual void on_view(const ViewChange& /*change*/) {}
  /// A message published in the current view by `from` (this member too, unless
  /// MulticastOptions::receive_own is false).
  virtual void on_message(const Pid& from, const Term& message) = 0;
  /// The member is out of the group (the last callback).
  virtual void on_left(LeaveReason /*reason*/) {}
};

/// How a member joins.
struct MulticastOptions {
  bool receive_own = true;  ///< on_message for this member's own broadcasts
  /// How long join() waits for a first view with the member (then `timeout`, not a member).
  /// Once that view is installed on its node, join() waits for its on_joined, however long.
  std::chrono::milliseconds join_timeout{5000};
};

/// One local process's membership of a multicast group. Move-only; destroying it leaves the
/// group (without waiting for on_left). Every call is thread-safe.
class Membership {
 public:
  Membership(Membership&&) noexcept;
  Membership& operator=(Membership&&) noexcept;
  Membership(const Membership&) = delete;
  Membership& operator=(const Membership&) = delete;
  ~Membership();

  /// The group joined.
  const Term& group() const;
  /// The member's process.
  const Pid& pid() const;
  /// False once on_left has run (and for a moved-from Membership).
  bool active() const;
  /// The view this member is in now: the one its last on_joined/on_view showed.
  View view() const;
  /// Publishes `message` to the group (SPEC 8.3.1): queues it and returns. Blocks while this
  /// node's unconfirmed broadcasts in the group exceed NodeOptions::multicast_max_in_flight (inside a
  /// multicast callback it returns Errc::timeout instead, queuing nothing). Errors:
  /// not_in_group, bad_argument (over max_term_bytes).
  Result<void> broadcast(Term message);
  /// Publishes `message` and waits until every member of the view it was published in received
  /// it (on_message returned) or left that view (SPEC 8.3.2). Errors: timeout (it may still be
  /// received), not_in_group (this member left first: outcome unknown), bad_argument (over the
  /// limits, or called from a multicast callback).
  Result<void> confirmed_broadcast(Term message, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// confirmed_broadcast without a deadline: the future is ready once confirmed, or with
  /// not_in_group when the member left first. It may be called from a multicast callback (it
  /// publishes as broadcast does there), but never waited on there: the confirmation needs
  /// the deliveries that callback holds back.
  std::future<Result<void>> confirmed_broadcast_async(Term message);
  /// Leaves the group: returns once on_left(left) ran (from the member's own callback: at
  /// once, on_left running after that callback). not_in_group when already out.
  Result<void> leave();
  /// Replaces the handler (gm's {become, ...}): callbacks from the next one on go to it.
  void set_handler(std::shared_ptr<MulticastHandler> handler);

 private:
  friend class Multicast;
  Membership(std::shared_ptr<detail::MulticastScope> scope, std::shared_ptr<detail::MemberState> state);

  std::shared_ptr<detail::MulticastScope> scope_;
  std::shared_ptr<detail::MemberState> state_;
};

/// The multicast groups of one scope on this node (Node::multicast). A cheap handle: copy it
/// freely; every call is thread-safe.
class Multicast {
 public:
  /// `self` joins `group` with `handler` (SPEC 8.1.3): returns once the first view containing
  /// it is installed and on_joined ran. Errors: not_alive; taken (already a member of that
  /// group); timeout (not a member; no callback ran); bad_argument (a group over the limits,
  /// a null handler, or called from a callback of a member of the same group on this node).
  Result<Membership> join(const Term& group, const Process& self, std::shared_ptr<MulticastHandler> handler,
                          MulticastOptions options = {});
  /// The view installed for `group` on this node, while a local member is in it.
  std::optional<View> view(const Term& group) const;
  /// The groups with a member on this node.
  std::vector<Term> group_names() const;
  /// The scope this handle is for.
  const std::string& scope() const;

 private:
  friend class Node;
  explicit Multicast(std::shared_ptr<detail::MulticastScope> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<detail::MulticastScope> impl_;
};

}  // namespace syn

template <>
struct std::hash<syn::ViewId> {
  std::size_t operator()(const syn::ViewId& id) const noexcept {
    return std::hash<syn::Pid>{}(id.coordinator) * 0x9e3779b97f4a7c15ULL ^ std::hash<std::uint64_t>{}(id.number);
  }
};
