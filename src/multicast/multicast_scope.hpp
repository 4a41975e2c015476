#pragma once
// The multicast handler of one scope (SPEC 8): one GroupNode per group this node hears of, run
// on the engine thread, and the local members' side (joins, broadcasts, leaves, callbacks).
//
// Threads:
// - The engine thread owns the groups (GroupNode, the local members in each view). Frames from
//   peers, peer ups and downs, timers, and the API's requests (posted) run there; what a
//   GroupNode returns (Effects) is carried out there: frames go out through the scope engine,
//   events become tasks on the group's strand.
// - A group's strand (common/strands.hpp) runs its members' callbacks one at a time, in the
//   order of the events, off the engine thread; other groups' callbacks run in parallel. After
//   a batch of messages it reports them received (GroupNode::processed), which is what this
//   node acknowledges: a broadcast is confirmed once every member of its view received it.
// - API threads wait for the strand (join, leave) or for flow control (broadcast), never for
//   the engine thread.
#include "common/clock.hpp"
#include "common/strands.hpp"
#include "multicast/group_node.hpp"
#include "multicast/member_state.hpp"
#include "multicast/pending_broadcasts.hpp"
#include "node/process_control.hpp"
#include "scope/scope_engine.hpp"
#include "scope/scope_handler.hpp"

#include <syn/multicast.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace syn::detail {

using multicast::NodeId;

class MulticastScope final : public ScopeHandler,
                             public ExitObserver,
                             public std::enable_shared_from_this<MulticastScope> {
 public:
  explicit MulticastScope(const ScopeContext& context);
  ~MulticastScope() override;

  const std::string& scope() const { return engine_.scope(); }
  ScopeEngine& engine() override { return engine_; }
  ScopeHost& node() { return *node_; }

  // ---- the API (any thread; multicast_members.cpp) ----
  /// Membership::join: begin_join, then await_join.
  Result<std::shared_ptr<MemberState>> join(const Term& group, const Pid& pid,
                                            std::shared_ptr<MulticastHandler> handler, MulticastOptions options);
  /// Checks the join and queues it, without waiting: the member is in once its on_joined ran
  /// (a simulated node, which cannot block, stops here and lets its clock run).
  Result<std::shared_ptr<MemberState>> begin_join(const Term& group, const Pid& pid,
                                                  std::shared_ptr<MulticastHandler> handler, MulticastOptions options);
  /// Waits for a begun join: its first view (the member), or the error that ended it (it is
  /// then out, and given up if it timed out).
  Result<std::shared_ptr<MemberState>> await_join(const std::shared_ptr<MemberState>& member);
  Result<void> broadcast(const std::shared_ptr<MemberState>& member, const Term& message);
  /// Publishes and returns the future of its confirmation (an error now if it was not queued).
  /// `deadline`: the caller's (confirmed_broadcast's timeout), also for the wait for room under
  /// flow control; none for confirmed_broadcast_async, which waits for room as broadcast does.
  Result<std::future<Result<void>>> confirmed(const std::shared_ptr<MemberState>& member, const Term& message,
                                              std::optional<SteadyClock::time_point> deadline = std::nullopt);
  Result<void> leave(const std::shared_ptr<MemberState>& member, bool wait);
  /// A leave asked before (leave()) stops waiting for its view change: the member goes out
  /// here at once, and its node keeps asking the coordinator to take it out of the view.
  void give_up_leave(const std::shared_ptr<MemberState>& member);
  /// How long a waiting leave() waits for the view change before the member goes out here alone.
  std::chrono::milliseconds leave_deadline() const;
  std::optional<View> view(const Term& group) const;
  std::vector<Term> group_names() const;
  /// True on a thread running a multicast callback of this node (any group).
  bool in_callback() const;

  /// Node shutdown: the members are out, no callback runs any more (any thread; the engine
  /// has stopped).
  void clear() override;
  /// Node::remove_node_from_scopes: every local member leaves (the others see `left`), and
  /// this waits until they are out (at most twice view_change_timeout; not from a callback).
  void before_leaving_scope() override;
  std::uint64_t leave_scope() override;

  // ---- ScopeHandler (engine thread; multicast_scope.cpp) ----
  std::size_t snapshot_parts() const override { return 1; }
  void write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit_chunk) override;
  void begin_remote_snapshot(std::uint32_t) override {}
  void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) override;
  void end_remote_snapshot(std::uint32_t) override {}
  void purge_nodes(const std::vector<std::uint32_t>& nodes) override;
  void on_member_added(std::uint32_t node) override;
  void on_replicated(std::uint32_t from, const msgpack::object& payload) override;
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) override;

  // ---- ExitObserver ----
  void on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) override;

 private:
  /// One group as this node knows it.
  struct Group {
    Group(NodeId self, const NodeOptions& options, Term name)
        : node(self, options.view_change_timeout, options.multicast_max_lag, creation_delay(options),
               send_window(options)),
          term(std::move(name)) {}
    /// The bytes of this node's stream that go to a node ahead of its acknowledgements
    /// (GroupNode): a quarter of what may be in flight, so that a node that keeps up has the
    /// room of a few windows, and never more than kMaxSendWindowBytes.
    static std::size_t send_window(const NodeOptions& options) {
      return std::min(options.multicast_max_in_flight / 4, multicast::kMaxSendWindowBytes);
    }
    /// How long a first join waits for news of the group before starting it (ViewMachine).
    static std::chrono::milliseconds creation_delay(const NodeOptions& options) {
      return std::clamp(options.view_change_timeout / 20, std::chrono::milliseconds(5), std::chrono::milliseconds(100));
    }
    multicast::GroupNode node;
    Term term;
    std::map<Pid, std::shared_ptr<MemberState>> local;    ///< local members, joining or in a view
    std::map<Pid, std::shared_ptr<MemberState>> in_view;  ///< those that had their first view
    multicast::PendingBroadcasts pending;                 ///< this node's broadcasts not yet confirmed
  };

  // engine thread (multicast_scope.cpp)
  Group& group(const std::string& key, const Term* term = nullptr) SYN_REQUIRES(engine_thread_);
  /// A frame about a group from a peer: decoded, checked, run.
  void receive(std::uint32_t from, const msgpack::object& payload) SYN_REQUIRES(engine_thread_);
  /// Carries out what a GroupNode call returned. Returns its protocol error (empty if none).
  std::string apply(const std::string& key, Group& g, multicast::Effects fx) SYN_REQUIRES(engine_thread_);
  /// apply, with a protocol error logged (where it came from no peer's frame: nothing to reset).
  void apply_or_log(const std::string& key, Group& g, multicast::Effects fx) SYN_REQUIRES(engine_thread_);
  void send(NodeId to, const std::string& key, const wire::multicast::Body& body) SYN_REQUIRES(engine_thread_);
  /// Runs `fn` on the engine thread for group `key` (created if new) and carries out its effects.
  void on_group(const std::string& key, const Term* term,
                MoveOnlyFunction<multicast::Effects(Group&, multicast::Micros)> fn);
  void tick();                              // engine thread (asserted)
  void tick_group(const std::string& key);  // engine thread (asserted)
  void send_owed_acks();                    // engine thread (asserted)
  /// What the callbacks of one group's local members did in `view`: received messages of
  /// each stream up to a number, or (`settled`) every message of the views before it.
  struct CallbacksRan {
    ViewId view;
    std::map<NodeId, std::uint64_t> upto;
    bool settled = false;
  };
  /// The strand reports it: group `key`'s GroupNode learns it on the engine thread, and its
  /// acknowledgements go soon. Reports reach the engine in the order the strand made them.
  void report(std::string key, CallbacksRan ran);
  /// The engine side of report: the group learns it, an ack is owed.
  void record_report(const std::string& key, const CallbacksRan& ran) SYN_REQUIRES(engine_thread_);
  /// Whether `node`'s build acknowledges each view once its callbacks of the views before ran
  /// (GroupNode::peer_up).
  bool settles_views(NodeId node) const SYN_REQUIRES(engine_thread_);
  /// The host's monotonic clock (a simulated node's own clock).
  multicast::Micros now() const;

  /// The node stops (clear(), the strands stopped): every member still in gets its on_left on
  /// this thread, SPEC 8.1.2's "then on_left once" (its queued callbacks are dropped with the
  /// strands): `left` if its leave was asked (a Membership destroyed just before its Node, in
  /// the usual order of a scope's locals), else `node_down`.
  void end_members();
  /// Flow control stops: broadcasts waiting for room get node_down, none waits again.
  void stop_flow();
  /// Drops every group and member (members still in are out with node_down); clear() and
  /// leave_scope(), when no other thread works on the groups. Confirmations still pending get
  /// `pending_confirmations`: node_down when the node stops, not_in_group when it leaves the scope.
  void drop_all(Errc pending_confirmations) SYN_NO_THREAD_SAFETY_ANALYSIS;

  // callbacks (multicast_members.cpp): tasks on the group's strand
  void post_callbacks(const std::string& key, std::vector<UniqueFunction> tasks);
  /// The member is out: it no longer counts as a member of this node (taken).
  void forget(const std::shared_ptr<MemberState>& member);
  /// What ends a member, on its strand (or on the thread of a node that stops): its on_left
  /// when it was in (SPEC 8.1.2), then out of this node's members, then `left` wakes leave()
  /// and any join of its pid that waits. Once only: a member ended already is left alone.
  UniqueFunction ending_task(std::shared_ptr<MemberState> member, LeaveReason reason);
  /// A join of `pid` in group `key` waits here, within `budget`, while that pid's member is on
  /// its way out (its leave asked, or its on_left due): what is left of the budget, or `taken`
  /// (a member that stays) or `timeout` (still leaving at the end).
  Result<std::chrono::milliseconds> await_leaving(const std::string& key, const Pid& pid,
                                                  std::chrono::milliseconds budget);
  /// Flow control: bytes of this node's broadcasts in group `key` not yet confirmed went down.
  void release_bytes(const std::string& key, std::size_t bytes);
  /// Takes the message's bytes from flow control (waiting for room on a user thread, until
  /// `deadline` if any: then `timeout`, nothing queued) and queues it in the outbox.
  Result<std::uint64_t> queue_broadcast(const std::shared_ptr<MemberState>& member, const Term& message,
                                        std::shared_ptr<std::promise<Result<void>>> confirmation,
                                        std::optional<SteadyClock::time_point> deadline = std::nullopt);

  std::shared_ptr<ScopeHost> node_;
  /// SYN_MULTICAST_TRACE=1: every frame sent, event and machine state goes to the log.
  const bool trace_;
  ScopeEngine engine_;
  EngineThread engine_thread_;
  Strands strands_;
  std::map<std::string, std::unique_ptr<Group>> groups_ SYN_GUARDED_BY(engine_thread_);
  /// The node left this scope (leave_scope): its groups are gone for good, and work posted
  /// for them after that (a late join, a member's process exiting) must not bring one back.
  bool groups_dropped_ SYN_GUARDED_BY(engine_thread_) = false;
  bool ticking_ SYN_GUARDED_BY(engine_thread_) = false;
  std::set<std::string> acks_owed_ SYN_GUARDED_BY(engine_thread_);
  bool acks_posted_ SYN_GUARDED_BY(engine_thread_) = false;

  // The local members (any thread): one per (group, pid).
  mutable Mutex members_mutex_;
  std::map<std::pair<std::string, Pid>, std::shared_ptr<MemberState>> members_ SYN_GUARDED_BY(members_mutex_);
  /// Members of a removed scope whose ending waits on their strand (leave_scope): out of
  /// members_, so that drop_all leaves them to that task, and ended by end_members should the
  /// node stop first, since stopping drops what the strands hold.
  std::set<std::shared_ptr<MemberState>> ending_ SYN_GUARDED_BY(members_mutex_);
  /// The view installed for each group with a local member (Multicast::view).
  std::map<std::string, View> views_ SYN_GUARDED_BY(members_mutex_);

  /// A broadcast on its way to the engine thread.
  struct Queued {
    std::shared_ptr<MemberState> member;
    std::string canonical;
    std::size_t bytes = 0;
    std::shared_ptr<std::promise<Result<void>>> confirmation;
  };
  /// The most broadcasts one engine turn publishes (drain_outbox).
  static constexpr std::size_t kOutboxBatch = 512;
  /// Engine thread: publishes the oldest broadcasts the outbox holds (a bounded batch, at most
  /// `limit`; the rest in a later engine turn).
  void drain_outbox(std::size_t limit = kOutboxBatch);  // engine thread (asserted)
  /// Engine thread: a member about to leave (or gone with its process) first publishes what
  /// it queued, or what a batch left for a later turn would wait behind its leave and be
  /// dropped with it (SPEC 8.2.5: a leaver loses nothing it published). The outbox is bounded
  /// by flow control, so the whole of it goes.
  void leave_after_outbox(const std::string& key, const Pid& pid, LeaveReason reason);
  /// Marks a local member's leave under way (MemberState::sealed): its broadcasts are refused
  /// from now on, so the drain that follows holds every one that returned ok.
  void seal(const std::string& key, const Pid& pid);
  Mutex outbox_mutex_;
  std::deque<Queued> outbox_ SYN_GUARDED_BY(outbox_mutex_);
  bool outbox_posted_ SYN_GUARDED_BY(outbox_mutex_) = false;
  TimePoint last_drained_ SYN_GUARDED_BY(outbox_mutex_){};  ///< when drain_outbox last ran

  // Flow control (SPEC 8.3.3): bytes of this node's broadcasts queued and not yet confirmed,
  // per group (canonical key; no entry when none).
  Mutex flow_mutex_;
  std::condition_variable flow_changed_;
  std::map<std::string, std::size_t> in_flight_ SYN_GUARDED_BY(flow_mutex_);
  bool stopped_ SYN_GUARDED_BY(flow_mutex_) = false;
  std::atomic<bool> stopping_{false};  ///< clear() began: leave() waits for nothing
};

}  // namespace syn::detail
