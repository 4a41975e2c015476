#pragma once
// The messages of guaranteed multicast (SPEC 8; src/multicast): the view protocol between the
// view machines of one group, the data path (batches of a node's stream, acknowledgements,
// the stable point, flush retransmissions) and announcements of the view a node holds. Each
// travels as the payload of a scope message of the multicast handler, with the group (a
// canonical term) first. Pids travel whole (node name, creation, id): a view names members of
// many nodes. Nodes travel by name and are interned on receipt (NodeId is the interned index).
#include "wire/buffer.hpp"
#include "wire/fields.hpp"

#include <syn/multicast.hpp>
#include <syn/pid.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace syn::wire::multicast {

/// The first protocol version whose nodes acknowledge each view once their members' callbacks
/// of the views before it ran: a confirmation across a view change waits for them (SPEC
/// 8.3.2), and for no older node (which would never say so).
inline constexpr std::uint32_t settled_views_since = 6;

/// A node, by its interned name (Pid::node_atom()).
using NodeId = std::uint32_t;

// ---- the view protocol ----------------------------------------------------------------------
/// One round of one coordinator: the member that runs it and its attempt counter. A node
/// answers the newest proposal of the coordinator it follows.
struct Proposal {
  Pid coordinator;
  std::uint64_t attempt = 0;
  friend bool operator==(const Proposal&, const Proposal&) = default;
};

/// Per stream (a publishing node of the old view), the highest sequence number held without a gap.
using Digest = std::map<NodeId, std::uint64_t>;

/// Where a stream of the old view ends, and the node that sends the others what they lack.
struct StreamEnd {
  NodeId stream = 0;
  std::uint64_t last = 0;
  NodeId retransmitter = 0;
  friend bool operator==(const StreamEnd&, const StreamEnd&) = default;
};

struct InstalledView {
  ViewId id;
  std::vector<Pid> members;
  friend bool operator==(const InstalledView&, const InstalledView&) = default;
};

// ---- messages between the machines of one group ----
struct JoinRequest {
  Pid member;
};
struct LeaveRequest {
  Pid member;
  LeaveReason reason = LeaveReason::left;
};
struct Prepare {
  Proposal proposal;
  std::optional<InstalledView> base;   ///< the view being changed (none: a new group)
  std::vector<Pid> members;            ///< the proposed view
  std::optional<InstalledView> other;  ///< a merge: the junior view that joins this one
};
struct PrepareOk {
  Proposal proposal;
  /// The last view the answering node installed, as its INSTALL said (none: a joiner). A new
  /// coordinator that finds a newer one than its own adopts it before going on.
  std::optional<InstalledView> installed;
  std::vector<std::pair<Pid, LeaveReason>> installed_left;  ///< that INSTALL's `left`
  Digest digest;                                            ///< per stream of `installed`
  std::vector<Pid> members;                                 ///< the answering node's members (in a view or joining)
};
struct Refuse {
  Proposal proposal;
  /// The coordinator the refusing node follows; none when it follows none (it reaches no
  /// node of its view that holds one, or it holds no view yet).
  std::optional<Pid> following;
  std::optional<InstalledView> installed;  ///< the refusing node's view
};
struct Flush {
  Proposal proposal;
  std::vector<StreamEnd> ends;
  std::map<NodeId, Digest> digests;  ///< what every node of the old view holds
};
struct FlushOk {
  Proposal proposal;
};
struct Install {
  Proposal proposal;
  InstalledView view;
  std::vector<std::pair<Pid, LeaveReason>> left;  ///< members of the base (and merged) view not in it
  bool merged = false;                            ///< two views became this one
};
/// To a node dropped from the view it was in (silent in a round): its members are out.
struct Evicted {
  Proposal proposal;  ///< the round that dropped it
  ViewId view;        ///< the view installed without it
};
/// From a junior coordinator to the senior one: merge my view into yours.
struct MergeRequest {
  InstalledView view;
};
/// From a junior coordinator to its nodes: take the senior's next round over this view.
struct Yield {
  Pid senior;   ///< the senior coordinator
  ViewId view;  ///< the junior view it is about
};
/// From a node to its coordinator: the nodes of `view` it does not reach now (empty: it
/// reaches them all again). Partial connectivity (SPEC 8.3.5) is settled by the coordinator.
struct Unreachable {
  ViewId view;
  std::vector<NodeId> nodes;
};
using Message = std::variant<JoinRequest, LeaveRequest, Prepare, PrepareOk, Refuse, Flush, FlushOk, Install, Evicted,
                             MergeRequest, Yield, Unreachable>;

// ---- the data path ----------------------------------------------------------------------------
/// One broadcast: the publishing member (its id; its node is the stream's) and the message.
struct Published {
  std::uint64_t member = 0;
  std::string message;  ///< canonical term
  friend bool operator==(const Published&, const Published&) = default;
};
/// Consecutive messages of the sender's stream in `view`, numbered from `first`.
struct Data {
  ViewId view;
  std::uint64_t first = 1;
  std::vector<Published> messages;
};
/// Messages of `stream` (another node's) that a flush told the sender to pass on.
struct Resend {
  ViewId view;
  NodeId stream = 0;
  std::uint64_t first = 1;
  std::vector<Published> messages;
};
/// Per stream of `view`, the highest number the sender holds without a gap (cumulative).
struct Ack {
  ViewId view;
  Digest held;
};
/// From a stream's node: every node of `view` holds its messages up to `seq`.
struct Stable {
  ViewId view;
  std::uint64_t seq = 0;
};
/// The view the sender holds of the group (none: it holds none), and how the last change left.
struct Announce {
  std::optional<InstalledView> view;
  std::vector<std::pair<Pid, LeaveReason>> left;
};

/// Everything a node sends about one group.
using Body = std::variant<Message, Data, Resend, Ack, Stable, Announce>;

/// One multicast payload: the group (canonical term) and what is said about it.
struct Envelope {
  std::string group;
  Body body;
};

void encode(OutBuffer& out, const Envelope& envelope);
/// Reads a peer's payload: every field checked, DecodeError otherwise (never trusted).
Envelope decode_envelope(const msgpack::object& o);

}  // namespace syn::wire::multicast
