#pragma once
// One multicast group on one node, without threads or sockets: the view machine, the streams
// and the data path between them. The handler calls it on the engine thread and carries out
// what each call returns (Effects): frames to peers, events for the local members (delivered
// by the handler, each member's one at a time and off the engine thread), confirmations.
//
// The data path (SPEC 8.2, 8.3; MULTICAST.md "The data path"):
// - A broadcast is numbered in this node's stream of the installed view and sent to every
//   other node of the view; while a view change is under way (publishing paused) or before
//   the first view, it waits and is published in the next view.
// - A node delivers a stream's messages in order, each once; a gap is a protocol error (links
//   are FIFO and lossless while up): the handler counts it and resets the link.
// - Nodes acknowledge cumulatively what their members received (callbacks ran; the handler
//   reports it with processed()), to every node of the view; a message every node's members
//   received is stable: its buffers go, and a broadcast of this node is confirmed. When the
//   view changes, the flush has given every survivor the same messages of the old view, but
//   each delivers them at its own install, and its members' callbacks run after that. So a
//   node, once its members' callbacks of the old view ran (the handler reports it with
//   settled()), acknowledges the new view to every node of it, and a broadcast of this node
//   published in the old view is confirmed once every node of both views did (SPEC 8.3.2).
//   Nothing else in the new view is acknowledged before that: any acknowledgement of a view
//   says its sender settled the view before.
// - Data for a view not installed here yet (its INSTALL comes from another node) waits for it.
// - Once this node has told a round what it holds (its PREPARE_OK, or the coordinator's FLUSH),
//   what arrives after is held back, not delivered: the round's FLUSH fixes where each stream
//   of the view ends, and every survivor delivers exactly up to there (what is past it, from
//   a node the round drops, is dropped everywhere). Held messages up to the ends are delivered
//   just before the next view; if the round is given up without a view, all of them are.
#include "multicast/streams.hpp"
#include "multicast/view_machine.hpp"
#include "wire/multicast_messages.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <set>
#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace syn::detail::multicast {

using wire::multicast::Body;

/// A frame for another node.
struct Outgoing {
  NodeId to = 0;
  Body body;
  std::size_t data_bytes = 0;  ///< a Data frame's: the bytes of its messages
};

/// A Data frame carries messages up to about this many bytes: a burst of broadcasts goes to a
/// node in few frames, and a burst of big terms in several, so that no frame holds a link long.
constexpr std::size_t kMaxDataFrameBytes = 64 * 1024;
/// The most of this node's stream that goes to a node of the view ahead of its
/// acknowledgements (GroupNode's `send_window`): a node that keeps up never waits on it. At
/// 100k 1 kB messages a second that is 40 ms of stream; 1 MB cost 1 kB terms 10% of their
/// throughput on 2 loaded cores, where a receiver's strand can wait for a CPU for milliseconds
/// (docs/benchmarks.md), and would cap a link with a 50 ms round trip at 20 MB/s.
constexpr std::size_t kMaxSendWindowBytes = std::size_t{4} << 20;

// ---- events for local members, in the order they happened ----
/// `member`'s first view.
struct Joined {
  Pid member;
  InstalledView view;
};
/// A later view of `member`: the view, who joined and left since the previous one, merged.
struct ViewChanged {
  Pid member;
  InstallView change;
};
/// A message for every local member of the installed view (its publisher's own included).
/// Once the members' callbacks ran, the handler reports it with GroupNode::processed.
struct Delivered {
  Pid from;
  std::string message;  ///< canonical term
  ViewId view;          ///< the view it was published in
  NodeId stream = 0;    ///< its publisher's node
  std::uint64_t seq = 0;
};
/// `member` is out of the group (its last event).
struct Left {
  Pid member;
  LeaveReason reason = LeaveReason::left;
};
/// A broadcast of this node (by its token) reached every member (ok), or never will be known
/// to (its member left first).
struct Confirmed {
  std::uint64_t token = 0;
  bool ok = true;
  /// Every node of the view acknowledged it: the members' callbacks ran everywhere, this
  /// node's too, so nothing local is left to wait for (not so for a confirmation by a view
  /// change, which may come before this node's callbacks of the message ran).
  bool acknowledged = false;
};
/// This node installed a view (or, view empty, holds none any more): what follows belongs to
/// it. Before the member events of that view.
struct Installed {
  std::optional<InstalledView> view;
};
/// Every message of the views before `view` was delivered here (the events before this one):
/// once the local members' callbacks of those ran, the handler reports it with
/// GroupNode::settled.
struct Settle {
  ViewId view;
};
using Event = std::variant<Joined, ViewChanged, Delivered, Left, Confirmed, Installed, Settle>;

/// What one call asks of the handler.
struct Effects {
  std::vector<Outgoing> out;
  std::vector<Event> events;
  bool announce = false;  ///< the view changed: announce it to every node of the scope
  /// The sender broke the protocol (a gap, a stranger): why, for the log; its link is reset.
  /// Empty when all was well.
  std::string protocol_error;
};

class GroupNode {
 public:
  /// `max_lag`: a node of the view that leaves a message this node holds unacknowledged for
  /// longer is evicted when this node coordinates (SPEC 8.3.4); zero turns that off.
  /// `creation_delay`: see ViewMachine. `send_window`: the bytes of this node's stream that
  /// go to a node ahead of what it acknowledged (at least one message goes all the same); the
  /// rest waits in the stream's log, which holds it anyway until it is stable, and goes as
  /// acknowledgements come back. So a slow or stopped node costs the publisher no second copy
  /// of its backlog queued on the link (MULTICAST.md: 32 bytes per buffered message).
  GroupNode(NodeId self, std::chrono::milliseconds view_change_timeout,
            std::chrono::milliseconds max_lag = std::chrono::milliseconds(0),
            std::chrono::milliseconds creation_delay = std::chrono::milliseconds(0),
            std::size_t send_window = kMaxSendWindowBytes);
  GroupNode(const GroupNode&) = delete;
  GroupNode& operator=(const GroupNode&) = delete;

  Effects join(const Pid& member, Micros now, Micros reach_deadline = 0);
  Effects leave(const Pid& member, LeaveReason reason, Micros now);
  /// See ViewMachine::give_up_leave.
  Effects give_up_leave(const Pid& member, Micros now);
  /// A local member broadcasts `message` (canonical term). Returns the broadcast's token.
  std::uint64_t broadcast(const Pid& member, std::string message, Effects& fx);
  /// A frame about this group from node `from`.
  Effects receive(NodeId from, const Body& body, Micros now);
  /// `creation`: see ViewMachine::peer_up. `settles`: the node acknowledges each view once
  /// its callbacks of the views before ran (its build does; see settled()). A broadcast's
  /// confirmation across a view change waits for no node that does not.
  Effects peer_up(NodeId node, Micros now, std::uint32_t creation = 0, bool settles = true);
  Effects peer_down(NodeId node, Micros now);
  Effects tick(Micros now);
  /// The local members received the messages of `stream` in `view` up to `seq` (their
  /// callbacks ran): acknowledged by the next send_acks(). Ignored once the view changed.
  void processed(const ViewId& view, NodeId stream, std::uint64_t seq);
  /// The local members' callbacks of every message before `view` ran (the handler's answer to
  /// a Settle event): the next send_acks() acknowledges `view` to every node of it.
  void settled(const ViewId& view);
  /// The acknowledgements owed since the last call (once per engine turn: one frame per node
  /// however many batches came). Only the urgent ones go now; the rest wait for a tick or
  /// for more (see the private overload).
  Effects send_acks();

  /// What this node says of the group in announcements.
  wire::multicast::Announce announcement() const;
  /// The view this node delivers and publishes in (the last it installed).
  const std::optional<InstalledView>& view() const { return current_; }
  const ViewMachine& machine() const { return machine_; }
  /// Bytes of this node's broadcasts not yet stable, plus those waiting for a view (flow control).
  std::size_t unconfirmed_bytes() const { return streams_.own_unstable_bytes() + waiting_bytes_; }
  /// True while nothing is owed to anyone: no broadcast unconfirmed or waiting.
  bool idle() const { return pending_.empty() && waiting_.empty() && settling_.empty(); }

 private:
  struct Waiting {
    std::uint64_t token;
    Pid member;
    Published message;
  };
  /// Broadcasts of one member published one after the other in the installed view, not yet
  /// stable: numbers `seq` to `seq + count - 1` of this node's stream, tokens `token` to
  /// `token + count - 1`. A run, not a record per message: a burst of one member's broadcasts
  /// costs one record, whatever its length (MULTICAST.md: 32 bytes per buffered message).
  struct Unconfirmed {
    std::uint64_t seq;
    std::uint64_t token;
    std::uint64_t count;
    Pid member;  ///< its broadcasts fail if it leaves first
  };
  /// Adds broadcast `token` of `member`, number `seq`, to the runs (extending the last one
  /// when it follows on from it).
  void add_unconfirmed(std::uint64_t seq, std::uint64_t token, const Pid& member);
  /// Confirms every broadcast of `runs` with `ok`, in token order (not yet acknowledged by
  /// every node: the handler lets this node's callbacks before it run first).
  static void confirm_runs(const std::deque<Unconfirmed>& runs, bool ok, Effects& fx);
  /// At the install of `view`: this node's broadcasts of the old view (`old_members`) wait for
  /// the nodes with a member in both views to settle; the older ones that waited go on
  /// waiting for those still in the view.
  void settle_after_install(const std::vector<Pid>& old_members, const InstalledView& view, Effects& fx);
  /// Every broadcast waiting to be settled or stable fails (this node is out of the view).
  void fail_unsettled(Effects& fx);
  /// `node` acknowledged the installed view: it settled the views before.
  void heard_settled(NodeId node, Effects& fx);
  /// Confirms what no node is waited for any more.
  void confirm_settled(Effects& fx);
  void run(std::vector<Action> actions, Effects& fx);
  /// A view is installed here: the streams start again, what this node published in the old
  /// view waits for the nodes that stay to settle it, what waited is published;
  /// `member_events` for the local members.
  void install(const InstallView& install, bool member_events, Effects& fx);
  /// After run()'s actions: what waited for the view install() set up (this node's waiting
  /// broadcasts, data that came early), once the members that left in that round are out.
  void deliver_into_new_view(Effects& fx);
  /// Publishes the broadcasts that waited whose member is in the current view.
  void publish_waiting(Effects& fx);
  void publish(std::uint64_t token, const Pid& member, Published message, Effects& fx);
  /// Message `seq` of this node's stream for node `to`: added to the last frame `fx` holds for
  /// `to` when that is Data of the installed view ending just before it (with room), else in a
  /// new frame. Nothing moves across another frame to that node.
  void send_data(NodeId to, std::uint64_t seq, Published message, Effects& fx) const;
  void on_data(NodeId from, NodeId stream, std::uint64_t first, const std::vector<Published>& messages, Effects& fx);
  void on_ack(NodeId from, const wire::multicast::Ack& ack, Effects& fx);
  void confirm_stable(Effects& fx);
  /// The pid of a member of `stream`'s node in the installed view (its creation is the view's).
  std::optional<Pid> publisher(NodeId stream, std::uint64_t member) const;

  /// The coordinator evicts the nodes that lag (tick); its own node lagging, it takes its own
  /// members out (evicted).
  void evict_laggards(Effects& fx);
  /// After a link to `node` came back: this node's messages it has not acknowledged, again.
  void resume_stream_to(NodeId node, Effects& fx);
  /// A flush's retransmission: what a node lacks of a stream, in Resend frames.
  void retransmit(const Retransmit& resend, Effects& fx) const;
  /// This node's stream to `node` from where it went up to, as far as the send window allows.
  void send_stream_to(NodeId node, Effects& fx);
  /// Messages after `after` up to `last` of this node's stream to `node`, from the log.
  void send_range(NodeId node, std::uint64_t after, std::uint64_t last, Effects& fx);

  NodeId self_;
  Micros max_lag_ = 0;
  std::size_t send_window_;
  /// A coordinator announces its view again this often (view_change_timeout): without it,
  /// two sides that missed each other's last announcement (a heal whose links came back in
  /// the wrong order, a node restarted under the same name) would never merge.
  Micros announce_every_ = 0;
  Micros announced_at_ = 0;
  bool was_creating_ = false;  ///< the machine was about to start the group after the last event
  /// Local members this coordinating node asked to take out for its own lag (evict_laggards),
  /// asked once per view.
  std::set<Pid> evicting_self_;
  Micros now_ = 0;  ///< the latest time a call gave (broadcast has none)
  Streams streams_;
  ViewMachine machine_;
  bool paused_ = false;
  bool deliver_into_new_view_ = false;  ///< install() ran in this run(): deliver_into_new_view
  /// Messages of the installed view received after this node reported its digest to a round.
  struct Held {
    NodeId stream;
    std::uint64_t seq;
    Pid from;
    std::string message;
  };
  void hold_or_deliver(NodeId stream, std::uint64_t seq, const Pid& from, const std::string& message, Effects& fx);
  /// The Delivered event of message `seq` of `stream` in the installed view.
  Delivered delivered(NodeId stream, std::uint64_t seq, const Pid& from, std::string message) const;
  /// Delivers what was held back: up to the round's ends (all of it when `ends` is null).
  void release_held(const std::vector<StreamEnd>* ends, Effects& fx);
  bool holding_ = false;
  std::vector<Held> held_;
  std::optional<std::vector<StreamEnd>> flush_ends_;    ///< the ends of the last FLUSH seen
  std::optional<InstalledView> current_;                ///< the view the streams are of (the last installed here)
  std::vector<std::pair<Pid, LeaveReason>> last_left_;  ///< for announcements
  std::uint64_t next_token_ = 1;
  std::deque<Waiting> waiting_;  ///< broadcasts waiting for a view
  std::size_t waiting_bytes_ = 0;
  /// Broadcasts published in the installed view and not yet stable, in runs by sequence (a
  /// ring: they become stable from the oldest).
  std::deque<Unconfirmed> pending_;
  /// Broadcasts of earlier views, confirmed once `nodes` (the nodes with a member in both their
  /// view and the installed one, this node aside) acknowledged the installed view: their
  /// members' callbacks ran.
  struct Settling {
    std::deque<Unconfirmed> runs;
    std::set<NodeId> nodes;
  };
  std::deque<Settling> settling_;
  /// Nodes that acknowledged a view before it was installed here (its INSTALL comes on
  /// another link), by view; a few views at most.
  std::map<ViewId, std::set<NodeId>> early_settled_;
  static constexpr std::size_t kMaxEarlySettled = 16;
  /// Up nodes whose build does not settle views (an older protocol): never waited for.
  std::set<NodeId> not_settling_;
  /// This node's members' callbacks of the views before the installed one ran: it may
  /// acknowledge the installed view (true from a first view on: nothing came before).
  bool settled_ = true;
  /// Data for views not installed yet: (view, from node) -> batches in arrival order.
  std::map<std::pair<ViewId, NodeId>, std::vector<wire::multicast::Data>> early_;
  std::size_t early_batches_ = 0;
  bool acks_owed_ = false;

  /// A node that is neither a stream's publisher nor the coordinator hears of what this node
  /// received every this many messages (or at the next tick): see send_acks.
  static constexpr std::uint64_t kLazyAckEvery = 64;
  /// What this node last acknowledged to a peer of the installed view.
  struct Told {
    std::uint64_t its_stream = 0;  ///< the peer's own stream, as far as given
    std::uint64_t processed = 0;   ///< processed_count_ then
    bool settled = false;          ///< it was told (by any acknowledgement) that this node settled
  };
  /// Appends the acknowledgements due to `fx`: the urgent ones, and the lazy ones too when
  /// `lazy_too` (a tick).
  void send_acks(bool lazy_too, Effects& fx);
  std::map<NodeId, Told> told_;
  /// Messages this node's members received in the installed view, over all streams.
  std::uint64_t processed_count_ = 0;
};

}  // namespace syn::detail::multicast
