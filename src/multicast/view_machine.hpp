#pragma once
// The view protocol of one multicast group on one node, as a pure state machine: events in
// (local joins and leaves, peers up and down, protocol messages, the clock), actions out
// (messages to send, views to install, local members that left). No threads, no sockets, no
// clock of its own, so that the deterministic simulator and unit tests drive it step by step.
//
// The protocol (SPEC 8.1; MULTICAST.md's starting design, as built so far):
// - A node follows as coordinator the first member of its installed view whose node it reaches
//   (itself included) and accepts view changes only from that member's node (whichever of its
//   members runs the round: a view of a dead coordinator's last round may name another).
// - The coordinator collects changes (joins, leaves, members of nodes it no longer reaches) and
//   runs a round: PREPARE to every node of the proposed view, each answers PREPARE_OK with its
//   installed view and the highest contiguous sequence number it holds per stream (the
//   digest); FLUSH tells every node where each stream of the old view ends and who
//   retransmits what it lacks; FLUSH_OK when it holds all of it; INSTALL installs the view.
// - A node that does not answer within view_change_timeout is dropped from the proposal and
//   the round starts again. A node that refuses (it follows another coordinator) is never
//   dropped for it: the round waits for reachability to change.
// - When the coordinator's node goes, the next member whose node is reached takes over. A
//   survivor that installed a newer view than the new coordinator's reports it in PREPARE_OK,
//   and the coordinator adopts that view first.
//
// - Two views of the group that reach each other (the sides of a healed split, or groups two
//   nodes created at once) merge: the coordinator of the junior one (the higher coordinator
//   pid) YIELDs (its nodes will take one round from the senior) and sends MERGE_REQ; the senior
//   runs one round over both views, each flushed within itself, and installs a view numbered
//   above both, its members then the junior's, marked merged.
// - A node that learns that the coordinator it follows went on in a newer view without it was
//   dropped (its coordinator went before telling it): its members are evicted.
//
// - Partial connectivity (SPEC 8.3.5): nodes report to the coordinator the nodes of the view
//   they do not reach. Two nodes cut from each other for view_change_timeout while the
//   coordinator reaches both: the later-joined is evicted. A node the coordinator itself lost
//   is held in the view meanwhile, unless every other node it reaches reports it cut as well
//   (a split: its members leave as node_down at once).
#include "wire/multicast_messages.hpp"

#include <syn/multicast.hpp>
#include <syn/pid.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace syn::detail::multicast {

using wire::multicast::NodeId;
/// Simulated or real time, in microseconds.
using Micros = std::int64_t;

/// The nodes of a member list, in the order of their first member.
std::vector<NodeId> nodes_of(const std::vector<Pid>& members);

// The messages between the machines of one group are the wire's (src/wire/multicast_messages).
using wire::multicast::Digest;
using wire::multicast::Evicted;
using wire::multicast::Flush;
using wire::multicast::FlushOk;
using wire::multicast::Install;
using wire::multicast::InstalledView;
using wire::multicast::JoinRequest;
using wire::multicast::LeaveRequest;
using wire::multicast::MergeRequest;
using wire::multicast::Message;
using wire::multicast::Prepare;
using wire::multicast::PrepareOk;
using wire::multicast::Proposal;
using wire::multicast::Refuse;
using wire::multicast::StreamEnd;
using wire::multicast::Unreachable;
using wire::multicast::Yield;

// ---- what the machine asks its host to do ----
struct Send {
  NodeId to = 0;
  Message message;
};
/// A view to install: local members in it get on_joined (new) or on_view; `left` lists who
/// went since the previous view installed here.
struct InstallView {
  InstalledView view;
  std::vector<Pid> joined;
  std::vector<std::pair<Pid, LeaveReason>> left;
  bool merged = false;
};
/// A local member is out of the group (its on_left).
struct LocalLeft {
  Pid member;
  LeaveReason reason = LeaveReason::left;
};
/// Stop publishing in the installed view: broadcasts wait for the next one.
struct PausePublishing {};
/// Send `to` the messages of `stream` after `after` up to `last` (this node's unstable buffer
/// holds them).
struct Retransmit {
  NodeId to = 0;
  NodeId stream = 0;
  std::uint64_t after = 0;
  std::uint64_t last = 0;
};
using Action = std::variant<Send, InstallView, LocalLeft, PausePublishing, Retransmit>;

/// What the machine reads from its node's streams.
class StreamState {
 public:
  virtual ~StreamState() = default;
  /// The highest contiguous sequence number held per stream of the installed view.
  virtual Digest digest() const = 0;
  /// True once every stream holds messages up to its end in `ends`.
  virtual bool holds(const std::vector<StreamEnd>& ends) const = 0;
};

class ViewMachine {
 public:
  /// `creation_delay`: a join of a group this node knows no view of waits that long for an
  /// announcement (a view just installed elsewhere) before it starts the group alone; two
  /// groups that start at once merge later, so waiting a little avoids most merges.
  ViewMachine(NodeId self, std::chrono::milliseconds view_change_timeout, const StreamState& streams,
              std::chrono::milliseconds creation_delay = std::chrono::milliseconds(0));

  // ---- events; each returns what to do, in order ----
  /// A local process asks to join (its node's JoinRequest goes to the coordinator).
  /// While some nodes of the view it would join are reached and others not (SPEC 8.1.3), the
  /// join waits until `reach_deadline` for that to settle (a node whose link is up but whose
  /// scope has not synced yet is not reached: a join right after a node connects would fail
  /// for nothing), then leaves as node_down. 0: it leaves at once.
  std::vector<Action> join(const Pid& member, Micros now, Micros reach_deadline = 0);
  /// A local member leaves (the API, or its process died).
  std::vector<Action> leave(const Pid& member, LeaveReason reason, Micros now);
  /// A local member whose leave waited past its deadline (no view change could take it out:
  /// the coordinator unreached, rounds failing) is out here at once (its LocalLeft); this node
  /// keeps asking the coordinator to take it out of the view. Nothing for other members.
  std::vector<Action> give_up_leave(const Pid& member, Micros now);
  /// A view of the group that nodes announced (this node routes its joins by it while it has
  /// no view of its own).
  /// A node that answered the round of that view and missed its INSTALL (its coordinator went
  /// first) installs it from the announcement: a member held the old view's flush when it
  /// answered it, a joiner needs none.
  /// `from` announced the view it holds (none: it holds no view of the group).
  std::vector<Action> learn(NodeId from, const std::optional<InstalledView>& view,
                            const std::vector<std::pair<Pid, LeaveReason>>& left, Micros now);
  /// `creation`: the incarnation of the node now up (0: unknown). Members of another
  /// incarnation of it (a node restarted under the same name) count as not reached.
  std::vector<Action> peer_up(NodeId node, Micros now, std::uint32_t creation = 0);
  std::vector<Action> peer_down(NodeId node, Micros now);
  std::vector<Action> receive(NodeId from, const Message& message, Micros now);
  /// The streams now hold what a FLUSH asked for (after retransmissions arrived).
  std::vector<Action> streams_advanced(Micros now);
  /// The clock moved: timeouts of a round.
  std::vector<Action> tick(Micros now);
  /// The coordinator drops `node` from the group: it lags (SPEC 8.3.4); its members leave the
  /// next view as evicted. Ignored on a node that does not coordinate, and for itself.
  std::vector<Action> evict(NodeId node, Micros now);

  // ---- state, for the host and the checkers ----
  const std::optional<InstalledView>& installed() const { return installed_; }
  /// The member this node follows as coordinator (null when it has no view).
  Pid coordinator() const;
  bool coordinating() const;
  /// True while a change is under way here (publishing paused).
  bool changing() const { return phase_ != Phase::idle; }
  /// True while this node has answered a round that has not installed (or been given up).
  bool promised() const { return promised_.has_value(); }
  /// True once this node answered the FLUSH of the last round it promised, until it installs
  /// a view or promises another round: that round may have installed without this node
  /// knowing yet (its INSTALL lost with a link), even if the promise was voided since. The
  /// old view must not go on here meanwhile (no publishing, no delivery past the flush).
  /// Given up once every other node of that round restarted (give_up_orphaned_flush), or
  /// settled by a round of this side's own when the other side of a merge is all out of reach
  /// (settle_vanished_merge).
  bool flush_answered() const { return flushed_; }
  /// A line of internal state for a failing test's trace.
  /// While a join waits out the creation delay to start the group with this node's first
  /// local member: that would-be view, numbered 0, which the handler announces. Another node
  /// starting the group at the same instant defers to the lower first member: it waits for
  /// that node's view and joins it (one view, no merge: MULTICAST.md scenario 11).
  std::optional<InstalledView> creating() const;
  /// True when this node holds no view and knows of none it could join: no view was
  /// announced, or none of the known view's nodes is reached and holds it (its members all
  /// left, or its nodes died or are cut off). A local member then starts the group anew.
  bool no_group_to_join() const;
  std::string describe() const;

 private:
  enum class Phase { idle, preparing, flushing };  // coordinator's round; followers: promised

  bool reaches(NodeId node) const { return node == self_ || up_.count(node) != 0; }
  /// Whether `member`'s node is up with the member's incarnation (this node's always are).
  bool reaches(const Pid& member) const;
  /// True when `node` is the node of the coordinator this node follows.
  bool follows(NodeId node) const;
  void maybe_start_round(Micros now, std::vector<Action>& out);
  void start_round(Micros now, std::vector<Action>& out);
  void finish_round(std::vector<Action>& out);
  /// `came_from`: the views the round that made `view` changed (see came_from_); empty when
  /// this node does not know that round (a view learned otherwise).
  void apply_install(const InstalledView& view, const std::vector<std::pair<Pid, LeaveReason>>& left, bool merged,
                     std::vector<Action>& out, std::map<NodeId, std::uint64_t> came_from = {});
  /// The view numbers of the round's old views by node: the base's for its nodes, and in a
  /// merge the other side's for the other side's nodes.
  static std::map<NodeId, std::uint64_t> old_view_numbers(const std::optional<InstalledView>& base,
                                                          const std::optional<InstalledView>& other);
  /// A coordinator that learns of another view of its group: the junior one yields.
  void consider_merge(const InstalledView& other, std::vector<Action>& out);
  void on_merge_request(NodeId from, const MergeRequest& request, std::vector<Action>& out);
  /// True when the learned `view` shows that this node's lineage went on without it.
  bool dropped_by(const InstalledView& view) const;
  /// learn(), less the joins waiting on reachability.
  void learn_announcement(NodeId from, const std::optional<InstalledView>& announced,
                          const std::vector<std::pair<Pid, LeaveReason>>& left, std::vector<Action>& out);
  /// Considers a merge with every view other nodes announced (a link came up, or a yield
  /// timed out: no announcement will come again by itself).
  void reconsider_merges(std::vector<Action>& out);
  /// Whether this node reaches every node of `view`.
  bool reaches_all(const InstalledView& view) const;
  /// True when the node of `member` announced a view newer than this node's without it, or a
  /// sibling of this node's view (holds_sibling): the member left (or went to another view),
  /// whatever this node's view still says.
  bool gone_elsewhere(const Pid& member) const;
  /// True when `node`, of the installed view, announced a sibling of it: another view that
  /// the same round's old view went on to (see came_from_).
  bool holds_sibling(NodeId node) const;
  /// True when `theirs`, held by `node` of the installed view, is a sibling of that view.
  bool is_sibling(NodeId node, const ViewId& theirs) const;
  /// promised_came_from_ when `view` is the view of the round this node answered last, else
  /// nothing: came_from_ must be exact.
  std::map<NodeId, std::uint64_t> came_from_if_promised(const InstalledView& view) const;
  /// After an event that may change whom this node follows: void a promise to the former
  /// coordinator, hand the waiting requests to the new one.
  void coordinator_may_have_changed(const Pid& before, std::vector<Action>& out);
  /// A round of this node's ends unfinished once it no longer coordinates.
  void drop_round_if_deposed();
  /// One FLUSH per old view of the round (a merge has two), with its streams' ends.
  void send_flushes(std::vector<Action>& out);
  void restart_round(Micros now, std::vector<Action>& out);
  /// True when some node of the view a local member would join is reached and another is not
  /// (a view none of whose nodes is reached is a group gone from this side: it starts anew).
  bool split_from_view() const;
  /// A join goes on: to the coordinator, or it starts the group.
  void admit_join(const Pid& member, std::vector<Action>& out);
  /// The joins held back: those waiting on reachability, in once it settled, out as node_down
  /// past their deadline; those waiting for their pid's given-up leave, in once a view without
  /// it is installed. Run after every event that may change what is reached or known.
  void settle_held_joins(std::vector<Action>& out);
  /// Hands this node's waiting joins and leaves to the coordinator (itself included).
  void submit_requests(std::vector<Action>& out);
  /// False for another node that said it holds no view, or was not heard of since its link
  /// came back.
  bool may_hold_view(NodeId node) const;
  /// The local members start the group: after the creation delay (tick), or now without one.
  void start_group(std::vector<Action>& out);
  /// The group starts with the first local member alone; the others join it in the next round.
  void start_alone(std::vector<Action>& out);
  bool all_prepared() const;
  void on_prepare(NodeId from, const Prepare& prepare, std::vector<Action>& out);
  void on_request(NodeId from, const Message& message, Micros now, std::vector<Action>& out);
  void on_prepare_ok(NodeId from, const PrepareOk& ok, Micros now, std::vector<Action>& out);
  void on_flush(NodeId from, const Flush& flush, std::vector<Action>& out);
  void on_evicted(NodeId from, const Evicted& evicted, std::vector<Action>& out);
  void on_refuse(NodeId from, const Refuse& refuse, std::vector<Action>& out);
  /// This node's members are out of the group (evicted) and it drops its view.
  void evict_self(std::vector<Action>& out);
  /// Tells the coordinator which nodes of the view this node does not reach, when that changed
  /// or the coordinator did (SPEC 8.3.5).
  void report_cut(std::vector<Action>& out);
  /// The coordinator: nodes of its view that cannot reach each other for view_change_timeout
  /// while it reaches both; the one whose first member joined later is evicted.
  void settle_cuts(std::vector<Action>& out);
  /// The coordinator, about a node of its view whose link it lost: true while it waits to
  /// tell a split from partial connectivity (SPEC 8.3.5). The node's members stay in its
  /// proposals and no round starts, until every other node of the view it reaches reports the
  /// node cut too (a split: its members leave as node_down) or view_change_timeout passes
  /// (partial connectivity: the later-joined of the two is evicted). A node back before the
  /// decision stays held until it says what it holds (it may have gone on without this one).
  bool held(NodeId node) const;
  /// True while some other node of the view that this one reaches has not reported `node` cut.
  bool others_may_reach(NodeId node) const;
  /// True while any lost node is held: rounds wait for the decision.
  bool holding() const;
  /// The coordinator decides about the nodes it lost whose hold ended, then starts the round
  /// that was waiting, if any.
  void settle_lost(std::vector<Action>& out);
  /// The position of `node`'s first member in the installed view: lower joined earlier.
  std::size_t first_position(NodeId node) const;
  /// No merge left to settle (settle_vanished_merge): its round done, or no longer due.
  void forget_merge_to_settle();
  void answer_flush_if_held(std::vector<Action>& out);
  /// The members the next view should have: the installed ones but those leaving or on nodes
  /// not reached, then the joiners.
  std::vector<Pid> proposed_members() const;

  NodeId self_;
  Micros view_change_timeout_;
  const StreamState& streams_;
  std::map<NodeId, std::uint32_t> up_;  ///< nodes up, with their incarnation (0: unknown)
  std::uint64_t highest_ = 0;           ///< the highest view number this node installed or learned
  std::set<NodeId> viewless_;           ///< nodes that announced they hold no view of the group
  std::set<NodeId> unheard_;            ///< nodes whose link went down, not heard of since (they coordinate nothing)
  std::map<NodeId, InstalledView> announced_;  ///< the last view each other node announced
  /// For each node of the installed view that held a view the round that made it changed,
  /// that view's number: what that node announced before is numbered no higher, so another
  /// view it announces numbered higher, up to this one's, is a sibling of this view (see
  /// gone_elsewhere). Unknown (absent) for joiners and for views learned otherwise.
  std::map<NodeId, std::uint64_t> came_from_;
  std::optional<InstalledView> installed_;
  std::vector<std::pair<Pid, LeaveReason>> installed_left_;  ///< the `left` of the last INSTALL
  bool installed_merged_ = false;                            ///< the last INSTALL merged two views
  std::optional<InstalledView> known_;                       ///< announced by others, for routing joins
  std::vector<Pid> local_;                                   ///< local members in the installed view or joining
  /// Joins that wait for the view's nodes to be all reached or all not (split_from_view),
  /// with their deadline; not in local_ yet.
  std::map<Pid, Micros> split_joins_;
  /// Joins of members whose earlier leave was given up while the view still names them: they
  /// wait for a view without them (admit_join); not in local_ yet.
  std::set<Pid> rejoins_;
  /// Local members of the installed view that asked to leave (or must: given-up joins),
  /// until a view without them is installed. Sent again to each new coordinator, as are the
  /// joins still waiting: a coordinator that dies takes its requests with it.
  std::map<Pid, LeaveReason> wanted_leaves_;

  // Changes waiting for the coordinator's next round (coordinator only).
  std::vector<Pid> joining_;
  std::map<Pid, LeaveReason> leaving_;
  std::optional<InstalledView> merging_;  ///< a junior view that asked to merge (senior only)

  // The coordinator's round.
  Phase phase_ = Phase::idle;
  std::uint64_t attempts_ = 0;
  Proposal proposal_;
  std::vector<Pid> proposed_;
  std::optional<InstalledView> round_merging_;  ///< the junior view of this round, if a merge
  std::set<NodeId> participants_;               ///< other nodes of the round: old view's reached, and joiners'
  std::map<NodeId, std::optional<PrepareOk>> prepare_answers_;  ///< nullopt: not answered yet
  std::set<NodeId> refused_;
  std::set<NodeId> dropped_;  ///< silent in a round: out of the next view (evicted)
  std::vector<StreamEnd> flush_ends_;
  std::set<NodeId> flush_waiting_;
  Micros round_deadline_ = 0;
  Micros now_ = 0;               ///< the time of the event being handled
  Micros requests_sent_at_ = 0;  ///< when tick last sent the local members' requests again

  // A follower's promise: the proposal it answered, and the flush it owes an answer to.
  std::optional<Proposal> promised_;
  std::optional<Proposal> last_promised_;  ///< kept when its coordinator goes (see learn)
  Micros promise_deadline_ = 0;            ///< void past this without word from its round
  bool promised_merge_ = false;            ///< that proposal merges this node's view into another
  /// That proposal is a merge, on either side: a view installed from its announcement says
  /// merged (the senior side's followers may hear another node's announcement before the
  /// INSTALL; without this their on_view lost `merged`, SPEC 8.4.3).
  bool promised_merges_ = false;
  std::uint64_t promised_base_ = 0;                     ///< the number of that proposal's base view
  std::map<NodeId, std::uint64_t> promised_came_from_;  ///< that proposal's old views (came_from_)
  std::vector<Pid> promised_members_;                   ///< the members that proposal proposed
  bool flushed_ = false;                                ///< the FLUSH of last_promised_ was answered
  bool flush_needed_ = false;                           ///< last_promised_ changes this node's view (a flush first)
  /// The other nodes with members in that proposal (only they can install its view): the
  /// incarnation (creation) the proposal names, and whether a link from another incarnation of
  /// that node came up since the promise (a restart: it holds nothing of the round).
  struct PromisedNode {
    std::uint32_t creation = 0;
    bool restarted = false;
  };
  std::map<NodeId, PromisedNode> promised_nodes_;
  std::optional<Flush> owed_flush_;
  NodeId owed_flush_to_ = 0;
  /// An answered FLUSH whose round nobody can hold any more (every other node of its proposal
  /// restarted since the promise) is given up.
  void give_up_orphaned_flush(std::vector<Action>& out);
  /// An answered FLUSH of a merge whose other side is all out of reach: this side's
  /// coordinator settles it with a round of its own (settle_round_).
  void settle_vanished_merge(std::vector<Action>& out);
  /// A round is due even with no change of members: it settles a merge whose other side
  /// vanished after this node answered its FLUSH. Until a view installs.
  bool settle_round_ = false;
  /// Since when every node of that merge's other side is out of reach (settle_vanished_merge).
  std::optional<Micros> vanished_since_;

  // A merge, on the junior side: the senior coordinator whose round this node takes, for the
  // view it is about; on the junior coordinator, until when it waits for that round.
  std::optional<std::pair<Pid, ViewId>> delegate_;
  bool yielded_ = false;
  Micros yield_deadline_ = 0;
  /// A newer view of this node's lineage without it, from a node it still reaches: this node
  /// was dropped (partial connectivity), or the link to that node is about to go too (a split
  /// whose links fail one by one). It leaves only if that still holds after a timeout
  /// (SPEC 8.3.5); if the split completes first, it goes on as its own side (8.4.1).
  std::optional<InstalledView> dropping_;
  Micros creation_delay_ = 0;
  /// Other nodes about to start the group (a view numbered 0 announced), with their first
  /// local member: a join here that comes after that news defers to a lower one as well.
  std::map<NodeId, Pid> creators_;
  /// Whether a node of `creators_` is starting the group with a lower first member than
  /// `first`: this node then waits for that view rather than starting its own.
  bool defers_to_creator(const Pid& first) const;
  /// Per node of the view that reported to this node as its coordinator (now or next), the
  /// nodes it does not reach, each with the time that was first reported.
  std::map<NodeId, std::map<NodeId, Micros>> cuts_;
  /// Nodes of the installed view whose link this node lost, and since when (see held()).
  std::map<NodeId, Micros> lost_at_;
  /// What this node last reported, to which coordinator node, about which view.
  std::vector<NodeId> reported_cut_;
  NodeId reported_to_ = 0;
  ViewId reported_view_;
  std::optional<Micros> create_at_;  ///< a local member waits to start the group then
  Micros drop_deadline_ = 0;
};

}  // namespace syn::detail::multicast
