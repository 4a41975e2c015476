#pragma once
/// \file
/// Guaranteed multicast (SPEC 8, after RabbitMQ's gm): groups whose members agree on who is
/// in them (views) and on what they received (virtual synchrony), with per-publisher order.
///
/// This header holds the value types and the handler interface. The calls (Multicast,
/// Membership, Node::multicast) arrive with the multicast scope handler (issue 12, in
/// progress); until then nothing in the library produces these values.

#include <syn/pid.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>
#include <utility>
#include <vector>

namespace syn {

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
  Pid coordinator;           ///< the member that installed it
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
  Term group;
  ViewId id;
  std::vector<Pid> members;  ///< in join order; members.front() coordinates

  friend bool operator==(const View&, const View&) = default;
};

/// A view change as one member sees it (MulticastHandler::on_view).
struct ViewChange {
  View view;                                      ///< the view now installed
  std::vector<Pid> joined;                        ///< members new in it
  std::vector<std::pair<Pid, LeaveReason>> left;  ///< members gone since the previous view
  bool merged = false;                            ///< two sides of a net split became one view

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
  std::chrono::milliseconds join_timeout{5000};
};

}  // namespace syn

template <>
struct std::hash<syn::ViewId> {
  std::size_t operator()(const syn::ViewId& id) const noexcept {
    return std::hash<syn::Pid>{}(id.coordinator) * 0x9e3779b97f4a7c15ULL ^ std::hash<std::uint64_t>{}(id.number);
  }
};
