#include "multicast/view_machine.hpp"

#include <algorithm>
#include <utility>

// GCC 12 at -O2 warns that a std::variant alternative holding vectors "may be used
// uninitialized" when a vector of Actions grows and moves them (a known false positive of its
// inliner; clang and -O0 see nothing). Off for this file only.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace syn::detail::multicast {

namespace {

bool contains(const std::vector<Pid>& members, const Pid& pid) {
  return std::find(members.begin(), members.end(), pid) != members.end();
}

template <class T>
bool contains(const std::set<T>& set, const T& value) {
  return set.count(value) != 0;
}

bool has_node(const std::vector<Pid>& members, NodeId node) {
  return std::any_of(members.begin(), members.end(), [&](const Pid& pid) { return pid.node_atom() == node; });
}

/// True when two views have a node in common (views of one lineage, or a stale one).
bool overlap(const InstalledView& a, const InstalledView& b) {
  return std::any_of(a.members.begin(), a.members.end(),
                     [&](const Pid& pid) { return has_node(b.members, pid.node_atom()); });
}

}  // namespace

std::vector<NodeId> nodes_of(const std::vector<Pid>& members) {
  std::vector<NodeId> out;
  for (const auto& pid : members) {
    if (std::find(out.begin(), out.end(), pid.node_atom()) == out.end()) out.push_back(pid.node_atom());
  }
  return out;
}

ViewMachine::ViewMachine(NodeId self, std::chrono::milliseconds view_change_timeout, const StreamState& streams,
                         std::chrono::milliseconds creation_delay)
    : self_(self),
      view_change_timeout_(std::chrono::duration_cast<std::chrono::microseconds>(view_change_timeout).count()),
      streams_(streams),
      creation_delay_(std::chrono::duration_cast<std::chrono::microseconds>(creation_delay).count()) {}

Pid ViewMachine::coordinator() const {
  const auto& view = installed_ ? installed_ : known_;
  if (!view) return Pid();
  for (const auto& member : view->members) {
    NodeId node = member.node_atom();
    // Not a node that said it holds no view, nor this one when it holds none.
    bool holds = node == self_ ? installed_.has_value() : may_hold_view(node);
    if (reaches(member) && holds && !gone_elsewhere(member)) return member;
  }
  return Pid();
}

bool ViewMachine::may_hold_view(NodeId node) const { return !contains(viewless_, node) && !unheard_.count(node); }

bool ViewMachine::defers_to_creator(const Pid& first) const {
  return std::any_of(creators_.begin(), creators_.end(),
                     [&](const auto& creator) { return reaches(creator.first) && creator.second < first; });
}

bool ViewMachine::no_group_to_join() const { return !installed_ && (!known_ || coordinator().is_null()); }

std::optional<InstalledView> ViewMachine::creating() const {
  if (!create_at_ || !no_group_to_join() || local_.empty()) return std::nullopt;
  return InstalledView{ViewId{local_.front(), 0}, {local_.front()}};
}

std::string ViewMachine::describe() const {
  std::string out = installed_ ? "v" + std::to_string(installed_->id.number) : std::string("no view");
  if (installed_) {
    for (const auto& member : installed_->members) out += " " + member.to_string();
  }
  out += " | coordinator " + coordinator().to_string();
  if (phase_ != Phase::idle) out += " | round " + std::to_string(proposal_.attempt);
  if (promised_) out += " | promised " + promised_->coordinator.to_string() + "#" + std::to_string(promised_->attempt);
  if (yielded_) out += " | yielded";
  if (delegate_) out += " | delegate " + delegate_->first.to_string();
  if (merging_) out += " | merging v" + std::to_string(merging_->id.number);
  out += " | local";
  for (const auto& member : local_) out += " " + member.to_string();
  if (!split_joins_.empty()) out += " | awaiting reach " + std::to_string(split_joins_.size());
  if (!rejoins_.empty()) out += " | awaiting own leave " + std::to_string(rejoins_.size());
  out += " | joining " + std::to_string(joining_.size()) + " leaving " + std::to_string(leaving_.size());
  auto nodes = [&](const char* what, const auto& set) {
    if (set.empty()) return;
    out += std::string(" | ") + what;
    for (const auto& entry : set) {
      if constexpr (std::is_same_v<std::decay_t<decltype(entry)>, NodeId>) {
        out += " " + std::string(node_name_of(entry));
      } else {
        out += " " + std::string(node_name_of(entry.first));
      }
    }
  };
  nodes("up", up_);
  nodes("unheard", unheard_);
  nodes("viewless", viewless_);
  nodes("lost", lost_at_);
  nodes("dropped", dropped_);
  nodes("refused", refused_);
  return out;
}

bool ViewMachine::coordinating() const { return installed_ && coordinator().node_atom() == self_; }

bool ViewMachine::follows(NodeId node) const {
  // Nodes are the protocol's endpoints: a node follows the node of its coordinator, whichever
  // member of it runs the round (views of a dead coordinator's last round may name another).
  return installed_ && coordinator().node_atom() == node;
}

// ---- events ----------------------------------------------------------------------------------

std::vector<Action> ViewMachine::join(const Pid& member, Micros now, Micros reach_deadline) {
  std::vector<Action> out;
  now_ = now;
  if (contains(local_, member) || split_joins_.count(member) || rejoins_.count(member)) return out;
  // SPEC 8.1.3: node_down when some node of the view it would join is cut off from this one
  // while others are reached; after a wait, as reachability may be settling (a node connects).
  if (split_from_view()) {
    if (now >= reach_deadline) {
      out.push_back(LocalLeft{member, LeaveReason::node_down});
    } else {
      split_joins_.emplace(member, reach_deadline);
    }
    return out;
  }
  admit_join(member, out);
  return out;
}

bool ViewMachine::split_from_view() const {
  const auto& view = installed_ ? installed_ : known_;
  if (!view) return false;
  bool reached = false, unreached = false;
  for (NodeId node : nodes_of(view->members)) {
    if (node == self_) continue;
    (reaches(node) ? reached : unreached) = true;
  }
  return reached && unreached;
}

void ViewMachine::admit_join(const Pid& member, std::vector<Action>& out) {
  if (installed_ && contains(installed_->members, member)) {
    // The view still names it: its leave was given up (give_up_leave) and not taken yet. It
    // waits for a view without it, then joins as any member does: a join of a pid the view
    // holds would ask for nothing, and the view that takes the old leave would take the new
    // join with it (simulator seed 970000026571).
    rejoins_.insert(member);
    wanted_leaves_.emplace(member, LeaveReason::left);
    return;
  }
  local_.push_back(member);
  if (no_group_to_join()) {
    start_group(out);
    return;
  }
  submit_requests(out);
}

void ViewMachine::settle_held_joins(std::vector<Action>& out) {
  std::vector<Pid> rejoining;
  for (const auto& member : rejoins_) {
    if (!installed_ || !contains(installed_->members, member)) rejoining.push_back(member);
  }
  for (const auto& member : rejoining) {
    rejoins_.erase(member);
    admit_join(member, out);
  }
  if (split_joins_.empty()) return;
  bool split = split_from_view();
  for (auto it = split_joins_.begin(); it != split_joins_.end();) {
    if (split && now_ < it->second) {
      ++it;
      continue;
    }
    Pid member = it->first;
    it = split_joins_.erase(it);
    if (split) {
      out.push_back(LocalLeft{member, LeaveReason::node_down});
    } else {
      admit_join(member, out);
    }
  }
}

void ViewMachine::start_group(std::vector<Action>& out) {
  // The first member anywhere, as far as this node knows: the group starts with it alone,
  // after the creation delay (tick) if there is one; the other local members join it in the
  // next round.
  if (creation_delay_ > 0) {
    if (!create_at_) create_at_ = now_ + creation_delay_;
    // Another node announced its start before this node's first member came: the same race,
    // heard of earlier (MULTICAST.md scenario 11).
    if (defers_to_creator(local_.front())) create_at_ = std::max(*create_at_, now_ + 4 * creation_delay_);
    return;
  }
  start_alone(out);
}

void ViewMachine::start_alone(std::vector<Action>& out) {
  InstalledView view{ViewId{local_.front(), highest_ + 1}, {local_.front()}};
  apply_install(view, {}, false, out);
  submit_requests(out);
}

std::vector<Action> ViewMachine::give_up_leave(const Pid& member, Micros now) {
  std::vector<Action> out;
  now_ = now;
  auto wanted = wanted_leaves_.find(member);
  auto it = std::find(local_.begin(), local_.end(), member);
  if (wanted == wanted_leaves_.end() || it == local_.end()) return out;
  // Out here at once; the request stays, so the coordinator takes it out of the view when it
  // can (until then the view names a member this node delivers nothing to).
  local_.erase(it);
  out.push_back(LocalLeft{member, wanted->second});
  return out;
}

std::vector<Action> ViewMachine::leave(const Pid& member, LeaveReason reason, Micros now) {
  std::vector<Action> out;
  now_ = now;
  if (split_joins_.erase(member) || rejoins_.erase(member)) {
    out.push_back(LocalLeft{member, reason});
    return out;
  }
  if (!contains(local_, member)) return out;
  if (!installed_ || !contains(installed_->members, member)) {
    // Not in a view yet: it stops waiting. Should the coordinator still let it in, this node
    // finds it in the view and takes it out again (apply_install).
    local_.erase(std::find(local_.begin(), local_.end(), member));
    std::erase(joining_, member);
    out.push_back(LocalLeft{member, reason});
    return out;
  }
  wanted_leaves_.emplace(member, reason);
  submit_requests(out);
  return out;
}

std::vector<Action> ViewMachine::learn(NodeId from, const std::optional<InstalledView>& announced,
                                       const std::vector<std::pair<Pid, LeaveReason>>& left, Micros now) {
  std::vector<Action> out;
  now_ = now;
  learn_announcement(from, announced, left, out);
  settle_held_joins(out);  // the view a join waits on may be another now
  return out;
}

void ViewMachine::learn_announcement(NodeId from, const std::optional<InstalledView>& announced,
                                     const std::vector<std::pair<Pid, LeaveReason>>& left, std::vector<Action>& out) {
  const Micros now = now_;
  Pid was = coordinator();
  unheard_.erase(from);
  if (announced && announced->id.number == 0) {
    // Another node is about to start the group (creating()). Of two nodes starting it at
    // once, the one with the higher first member waits for the other's view and joins it; it
    // starts the group itself only if that view does not come.
    if (!announced->members.empty()) creators_[from] = announced->members.front();
    auto mine = creating();
    if (mine && defers_to_creator(mine->members.front())) create_at_ = std::max(*create_at_, now + 4 * creation_delay_);
    viewless_.insert(from);  // it holds no view yet
    coordinator_may_have_changed(was, out);
    return;
  }
  creators_.erase(from);  // whatever it says now, it is no longer about to start the group
  if (!announced) {
    // That node holds no view: whatever of it a view names, it coordinates nothing.
    viewless_.insert(from);
    coordinator_may_have_changed(was, out);
    return;
  }
  viewless_.erase(from);
  const InstalledView& view = *announced;
  if (from != self_) announced_[from] = view;
  if (lost_at_.count(from) && installed_ && coordinating() && view.id != installed_->id &&
      !has_node(view.members, self_)) {
    // A node lost and back before this coordinator decided about it went on without this
    // node meanwhile (it saw a split at once: it reached no other node of the view): its
    // members are out of this side's view; the two views merge next.
    for (const auto& member : installed_->members) {
      if (member.node_atom() == from) leaving_.emplace(member, LeaveReason::node_down);
    }
  }
  highest_ = std::max(highest_, view.id.number);
  bool mine = has_node(view.members, self_);
  // Joiners hold nothing of the old view; members must have answered its flush.
  bool caught_up = (!flush_needed_ || flushed_) && (!installed_ || view.id.number > installed_->id.number);
  // (The outcome of that round: its coordinator's, numbered above the round's base view.)
  if (mine && caught_up && last_promised_ && view.id.coordinator == last_promised_->coordinator &&
      view.id.number > promised_base_) {
    apply_install(view, left, promised_merges_, out, came_from_if_promised(view));  // (a merge for either side)
    return;
  }
  if (promised_merge_ && promised_ && !mine && has_node(view.members, promised_->coordinator.node_atom()) &&
      view.id.number > promised_base_) {
    // The senior of the merge this node promised went on in a view without it: that round is
    // over (it dropped this node, or gave up its own view); this side goes on alone.
    promised_.reset();
    owed_flush_.reset();
    promised_merge_ = false;
    promised_merges_ = false;
    delegate_.reset();
    yielded_ = false;
    maybe_start_round(now, out);
  }
  if (dropped_by(view)) {
    if (!dropping_) drop_deadline_ = now + view_change_timeout_;
    if (!dropping_ || dropping_->id < view.id) dropping_ = view;
    return;
  }
  // Routing follows the newest view, or any view whose nodes it reaches when the one it knew
  // has none left (its nodes died or are cut off).
  if (!known_ || known_->id < view.id || coordinator().is_null()) known_ = view;
  coordinator_may_have_changed(was, out);
  maybe_start_round(now, out);  // the announcement may show members of this view gone
  consider_merge(view, out);
}

bool ViewMachine::reaches(const Pid& member) const {
  NodeId node = member.node_atom();
  if (node == self_) return true;
  auto it = up_.find(node);
  return it != up_.end() && (it->second == 0 || member.creation() == 0 || it->second == member.creation());
}

std::vector<Action> ViewMachine::peer_up(NodeId node, Micros now, std::uint32_t creation) {
  std::vector<Action> out;
  now_ = now;
  Pid before = coordinator();
  up_[node] = creation;
  auto promised = promised_nodes_.find(node);
  if (promised != promised_nodes_.end() && creation != 0 && promised->second.creation != 0 &&
      creation != promised->second.creation) {
    promised->second.restarted = true;
  }
  // Until it says what it holds (its announcement comes with the new link when it holds a
  // view), it coordinates nothing here, even if a view installed meanwhile names it: it may
  // have left the group while the link was down.
  unheard_.insert(node);
  coordinator_may_have_changed(before, out);  // one reached again (after a cut)
  give_up_orphaned_flush(out);                // the round's last node restarted
  report_cut(out);
  settle_lost(out);        // a round that waited on this node's hold may start
  reconsider_merges(out);  // a view that waited for this link may merge now
  settle_held_joins(out);
  return out;
}

std::vector<Action> ViewMachine::peer_down(NodeId node, Micros now) {
  std::vector<Action> out;
  now_ = now;
  Pid before = coordinator();
  up_.erase(node);
  if (installed_ && has_node(installed_->members, node)) lost_at_.emplace(node, now);
  // Until it says what it holds (its announcement comes with every new link), a node that
  // comes back coordinates nothing: it may be a new incarnation under the same name (a
  // restart), which holds nothing of the group and answers no request.
  unheard_.insert(node);
  announced_.erase(node);
  creators_.erase(node);
  // Dropped by nodes it no longer reaches: a split, not an eviction.
  if (dropping_ && !dropped_by(*dropping_)) dropping_.reset();
  if (promised_ && promised_->coordinator.node_atom() == node) {
    // The coordinator is gone: a promise made to it is void; the next one takes over.
    promised_.reset();
    owed_flush_.reset();
  }
  give_up_orphaned_flush(out);  // its other nodes restarted already, or are all out of reach
  if (delegate_ && delegate_->first.node_atom() == node) {
    // The senior of a merge is gone: this side goes on alone.
    delegate_.reset();
    yielded_ = false;
  }
  if (coordinating()) {
    if (phase_ != Phase::idle && contains(participants_, node)) {
      restart_round(now, out);
    } else {
      maybe_start_round(now, out);
    }
  }
  if (coordinator() != before) submit_requests(out);
  report_cut(out);
  settle_lost(out);  // the other nodes' reports may have come first: a split
  settle_held_joins(out);
  return out;
}

std::vector<Action> ViewMachine::receive(NodeId from, const Message& message, Micros now) {
  std::vector<Action> out;
  now_ = now;
  drop_round_if_deposed();
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, JoinRequest> || std::is_same_v<M, LeaveRequest>) {
          on_request(from, message, now, out);
        } else if constexpr (std::is_same_v<M, Prepare>) {
          on_prepare(from, m, out);
        } else if constexpr (std::is_same_v<M, PrepareOk>) {
          on_prepare_ok(from, m, now, out);
        } else if constexpr (std::is_same_v<M, Refuse>) {
          on_refuse(from, m, out);
        } else if constexpr (std::is_same_v<M, Flush>) {
          on_flush(from, m, out);
        } else if constexpr (std::is_same_v<M, FlushOk>) {
          if (phase_ == Phase::flushing && m.proposal == proposal_) {
            flush_waiting_.erase(from);
            if (flush_waiting_.empty() && streams_.holds(flush_ends_)) finish_round(out);
          }
        } else if constexpr (std::is_same_v<M, Evicted>) {
          on_evicted(from, m, out);
        } else if constexpr (std::is_same_v<M, Install>) {
          // The round this node answered last (even if it stopped following that coordinator
          // since: the view is installed everywhere else), once it holds what its FLUSH asked.
          bool answered = last_promised_ && *last_promised_ == m.proposal;
          bool held = !flush_needed_ || flushed_;
          if (answered && held && from == m.proposal.coordinator.node_atom()) {
            apply_install(m.view, m.left, m.merged, out, came_from_if_promised(m.view));
          }
        } else if constexpr (std::is_same_v<M, MergeRequest>) {
          on_merge_request(from, m, out);
        } else if constexpr (std::is_same_v<M, Yield>) {
          if (follows(from) && installed_->id == m.view) delegate_.emplace(m.senior, m.view);
        } else if constexpr (std::is_same_v<M, Unreachable>) {
          // Reachability, whatever view the reporter holds (a follower one view behind, that
          // missed an INSTALL, still tells who it does not reach), and even before this node
          // coordinates: a follower that lost the coordinator reports to the next one, which
          // may not have noticed yet.
          if (!installed_ || !has_node(installed_->members, from)) return;
          // Each pair keeps the time it was first reported, across reports and views: a cut
          // that outlasts a few quick view changes is still settled after the timeout.
          std::map<NodeId, Micros> cut;
          const auto& before = cuts_[from];
          for (NodeId node : m.nodes) {
            auto since = before.find(node);
            cut[node] = since == before.end() ? now : since->second;
          }
          if (cut.empty()) {
            cuts_.erase(from);
          } else {
            cuts_[from] = std::move(cut);
          }
          settle_lost(out);  // the last report of a split ends a hold
        }
      },
      message);
  settle_held_joins(out);  // an INSTALL or eviction may have settled what a join waits on
  return out;
}

std::vector<Action> ViewMachine::streams_advanced(Micros now) {
  std::vector<Action> out;
  now_ = now;
  answer_flush_if_held(out);
  if (phase_ == Phase::flushing && flush_waiting_.empty() && streams_.holds(flush_ends_)) finish_round(out);
  settle_held_joins(out);  // a view installed may have settled what a join waits on
  return out;
}

std::vector<Action> ViewMachine::tick(Micros now) {
  std::vector<Action> out;
  now_ = now;
  drop_round_if_deposed();
  settle_held_joins(out);  // past their deadline
  bool joins_waiting = std::any_of(local_.begin(), local_.end(), [&](const Pid& member) {
    return !installed_ || !contains(installed_->members, member);
  });
  // A follower asks again only a coordinator whose node announced this node's view (or
  // nothing since): after a heal a follower may take a node of another lineage for its
  // coordinator, and a join sent there was taken into two views at once (view machine seed
  // 2043).
  bool follows_own_view = [&] {
    if (!installed_ || coordinating()) return false;
    Pid c = coordinator();
    if (c.is_null()) return false;
    auto it = announced_.find(c.node_atom());
    return it == announced_.end() || it->second.id == installed_->id;
  }();
  if ((joins_waiting || !wanted_leaves_.empty()) && (!installed_ || coordinating() || follows_own_view) &&
      now - requests_sent_at_ >= view_change_timeout_) {
    // A coordinator drops the joins of a round it gives up, and a request can be lost with a
    // link: waiting joins and leaves go again, once per timeout, until a view takes them in
    // or out (a coordinator takes its own into its next round). A leave asked once and lost
    // kept its caller waiting for ever (the storm's multicast_leave without an answer).
    requests_sent_at_ = now;
    if (!local_.empty() && no_group_to_join()) {
      start_group(out);  // nobody left to ask (the view they waited for is gone)
    } else {
      submit_requests(out);
    }
  }
  if (create_at_ && now >= *create_at_) {
    create_at_.reset();
    if (no_group_to_join() && !local_.empty()) {
      // No announcement of a view to join came: it starts.
      start_alone(out);
      return out;
    }
  }
  give_up_orphaned_flush(out);  // a merge's other side out of reach long enough
  if (promised_ && !promised_merge_ && now >= promise_deadline_ && !owed_flush_ && !flushed_) {
    // The coordinator said nothing of that round for three timeouts (it gave it up: a live
    // coordinator restarts a round after one, asking again): the promise is void. Not once
    // this node answered its FLUSH: the round may install at any time then.
    promised_.reset();
    coordinator_may_have_changed(Pid(), out);
  }
  if (dropping_ && now >= drop_deadline_) {
    InstalledView view = *std::exchange(dropping_, std::nullopt);
    if (dropped_by(view)) {
      // Still dropped, by nodes it reaches: evicted.
      known_ = view;
      evict_self(out);
      return out;
    }
  }
  bool promised_senior = promised_ && delegate_ && promised_->coordinator.node_atom() == delegate_->first.node_atom();
  if (yielded_ && now >= yield_deadline_) {
    // The senior did not take this view into a round, or did not finish it (it saw it
    // otherwise, is busy, or gave its view up): go on alone; the next announcement tries
    // again. Once this node answered the senior's FLUSH, the promise stays: this side starts
    // no round of its own while that round may still install here (a late INSTALL applies
    // through last_promised_; the promise goes when the senior's node does, peer_down).
    if (promised_senior && !flushed_) {
      promised_.reset();
      owed_flush_.reset();
    }
    yielded_ = false;
    delegate_.reset();
    maybe_start_round(now, out);
    reconsider_merges(out);  // ask again: nothing else would (the announcements were all heard)
  }
  if (coordinating() && phase_ == Phase::idle) {
    settle_lost(out);
    settle_cuts(out);
  }
  if (phase_ == Phase::idle || now < round_deadline_) return out;
  // Silent nodes leave the proposal (evicted); nodes that refused stay: the round waits for
  // the coordinator they follow to settle it, asking again each timeout.
  for (const auto& [node, answer] : prepare_answers_) {
    if (!answer && !contains(refused_, node)) dropped_.insert(node);
  }
  if (phase_ == Phase::flushing) dropped_.insert(flush_waiting_.begin(), flush_waiting_.end());
  restart_round(now, out);
  return out;
}

std::vector<Action> ViewMachine::evict(NodeId node, Micros now) {
  std::vector<Action> out;
  now_ = now;
  if (!coordinating() || node == self_ || !has_node(installed_->members, node) || contains(dropped_, node)) return out;
  dropped_.insert(node);
  if (phase_ == Phase::idle) {
    start_round(now, out);
  } else {
    restart_round(now, out);  // the round under way may wait on it: without it now
  }
  return out;
}

// ---- the coordinator's round -----------------------------------------------------------------

void ViewMachine::on_request(NodeId from, const Message& message, Micros now, std::vector<Action>& out) {
  if (!coordinating()) {
    // Sent to a former coordinator: pass it on to the one this node follows, once. A request
    // passed on already is dropped: two nodes that each follow the other (different views
    // after a heal) would pass it back and forth without end. Its node sends it again to
    // each new coordinator it follows.
    const auto* join = std::get_if<JoinRequest>(&message);
    const Pid& member = join ? join->member : std::get<LeaveRequest>(message).member;
    if (member.node_atom() != from) return;
    if (auto c = coordinator(); !c.is_null() && c.node_atom() != self_ && c.node_atom() != from) {
      out.push_back(Send{c.node_atom(), message});
    }
    return;
  }
  if (const auto* join = std::get_if<JoinRequest>(&message)) {
    if (!contains(joining_, join->member) && !contains(installed_->members, join->member)) {
      joining_.push_back(join->member);
    }
  } else if (const auto* leave = std::get_if<LeaveRequest>(&message)) {
    if (contains(installed_->members, leave->member)) leaving_.emplace(leave->member, leave->reason);
  }
  maybe_start_round(now, out);
}

std::vector<Pid> ViewMachine::proposed_members() const {
  std::vector<Pid> out;
  auto stays = [&](const Pid& pid) {
    NodeId node = pid.node_atom();
    return (reaches(pid) || held(node)) && !contains(dropped_, node) && !holds_sibling(node);
  };
  for (const auto& member : installed_->members) {
    if (!leaving_.count(member) && stays(member)) out.push_back(member);
  }
  if (merging_) {
    for (const auto& member : merging_->members) {
      if (!leaving_.count(member) && stays(member) && !contains(out, member)) out.push_back(member);
    }
  }
  for (const auto& member : joining_) {
    if (stays(member) && !contains(out, member)) out.push_back(member);
  }
  return out;
}

void ViewMachine::maybe_start_round(Micros now, std::vector<Action>& out) {
  if (!coordinating() || phase_ != Phase::idle || yielded_ || holding()) return;
  // Not while this node answered another coordinator's round that may still install (a
  // merge asked of it then would put the same members in two views).
  if (promised_ && promised_->coordinator.node_atom() != self_) return;
  if (merging_ && overlap(*merging_, *installed_)) merging_.reset();  // it became one of ours
  // This node's own members that must leave always make the next round, whatever became of
  // the requests it sent while another node coordinated.
  for (const auto& [member, reason] : wanted_leaves_) {
    if (contains(installed_->members, member)) leaving_.emplace(member, reason);
  }
  // Members whose node announced a newer view without them are gone (they got on_left there).
  for (const auto& member : installed_->members) {
    if (gone_elsewhere(member)) leaving_.emplace(member, LeaveReason::evicted);
  }
  if (merging_ || settle_round_ || proposed_members() != installed_->members) start_round(now, out);
}

void ViewMachine::restart_round(Micros now, std::vector<Action>& out) {
  phase_ = Phase::idle;
  // (While a lost node is held, the round waits for the decision about it: settle_lost.)
  if (coordinating() && !holding()) start_round(now, out);
}

void ViewMachine::start_round(Micros now, std::vector<Action>& out) {
  proposal_ = Proposal{coordinator(), ++attempts_};
  proposed_ = proposed_members();
  round_merging_ = merging_;
  participants_.clear();
  std::vector<NodeId> old_nodes = nodes_of(installed_->members);
  if (round_merging_) {
    for (NodeId node : nodes_of(round_merging_->members)) old_nodes.push_back(node);
  }
  for (NodeId node : old_nodes) {
    // (Not a node in a sibling of the view: it holds nothing of it, and its answer would take
    // it into this round's view, out of its own, its members evicted.)
    if (node != self_ && reaches(node) && !contains(dropped_, node) && !holds_sibling(node)) participants_.insert(node);
  }
  for (NodeId node : nodes_of(proposed_)) {
    if (node != self_) participants_.insert(node);
  }
  prepare_answers_.clear();
  for (NodeId node : participants_) prepare_answers_.emplace(node, std::nullopt);
  refused_.clear();
  flush_waiting_.clear();
  flush_ends_.clear();
  phase_ = Phase::preparing;
  round_deadline_ = now + view_change_timeout_;
  out.push_back(PausePublishing{});
  for (NodeId node : participants_) {
    out.push_back(Send{node, Prepare{proposal_, installed_, proposed_, round_merging_}});
  }
  if (all_prepared()) send_flushes(out);
}

bool ViewMachine::all_prepared() const {
  if (!refused_.empty()) return false;
  return std::all_of(prepare_answers_.begin(), prepare_answers_.end(),
                     [](const auto& entry) { return entry.second.has_value(); });
}

void ViewMachine::on_prepare_ok(NodeId from, const PrepareOk& ok, Micros now, std::vector<Action>& out) {
  if (phase_ != Phase::preparing || !(ok.proposal == proposal_)) return;
  auto it = prepare_answers_.find(from);
  if (it == prepare_answers_.end()) return;
  // Views are compared by number: a view of the same number by another coordinator is of a
  // round that went on elsewhere, neither newer nor older (each node's numbers only grow).
  if (ok.installed && ok.installed->id.number > installed_->id.number &&
      contains(ok.installed->members, proposal_.coordinator)) {
    // A previous coordinator installed a newer view on that node before it went: adopt it,
    // then change from there. (The view of a merge this node answered says so: a junior
    // coordinator settling a merge whose senior vanished takes it from a follower.)
    bool merged = promised_merges_ && last_promised_ && ok.installed->id.coordinator == last_promised_->coordinator;
    apply_install(*ok.installed, ok.installed_left, merged, out, came_from_if_promised(*ok.installed));
    restart_round(now, out);
    return;
  }
  if (ok.installed && is_sibling(from, ok.installed->id)) {
    // It holds a sibling of this view (holds_sibling): it answers as it would announce. Its
    // members go, and the round starts again without it.
    announced_[from] = *ok.installed;
    restart_round(now, out);
    return;
  }
  bool in_view = has_node(installed_->members, from);
  // Members on that node that it no longer has are stale: members of the old views (it was
  // dropped and they got on_left, or they left meanwhile) go out as evicted; joins it sent to
  // a former coordinator long ago, or gave up, are forgotten.
  bool stale = false;
  // A node without a view has none of the old views' members any more, whatever it lists: it
  // never installs a view in the middle of its streams; its members join again.
  for (const auto& member : proposed_) {
    if (member.node_atom() != from) continue;
    bool old = contains(installed_->members, member) || (round_merging_ && contains(round_merging_->members, member));
    if (contains(ok.members, member) && (ok.installed || !old)) continue;
    if (old) {
      leaving_.emplace(member, LeaveReason::evicted);
    } else {
      std::erase(joining_, member);
    }
    stale = true;
  }
  if (stale) {
    restart_round(now, out);
    return;
  }
  if (in_view && ok.installed && ok.installed->id.number < installed_->id.number) {
    // That node missed the last INSTALL (its coordinator went before it got there): it
    // installs that view first, so that no member skips a view it belongs to, then the round
    // starts again from the same view everywhere.
    out.push_back(Send{from, Install{proposal_, *installed_, installed_left_, installed_merged_}});
    restart_round(now, out);
    return;
  }
  it->second = ok;
  if (all_prepared()) send_flushes(out);
}

void ViewMachine::send_flushes(std::vector<Action>& out) {
  // The old views' nodes in the round hold streams of them; joiners hold none. Each old view
  // (two in a merge) is flushed within itself: streams never cross from one side to the other.
  std::vector<const InstalledView*> olds{&*installed_};
  if (round_merging_) olds.push_back(&*round_merging_);
  flush_ends_.clear();
  flush_waiting_.clear();
  phase_ = Phase::flushing;
  std::optional<Flush> own;
  for (const InstalledView* old : olds) {
    std::map<NodeId, Digest> digests;
    if (old == &*installed_) digests[self_] = streams_.digest();
    for (const auto& [node, answer] : prepare_answers_) {
      if (answer->installed && answer->installed->id == old->id) digests[node] = answer->digest;
    }
    std::map<NodeId, StreamEnd> ends;
    std::vector<NodeId> order = nodes_of(old->members);
    auto rank = [&](NodeId node) { return std::find(order.begin(), order.end(), node) - order.begin(); };
    for (const auto& [node, digest] : digests) {
      for (const auto& [stream, last] : digest) {
        auto [e, inserted] = ends.try_emplace(stream, StreamEnd{stream, last, node});
        // The longest prefix wins; on a tie the node earliest in view order sends it.
        if (!inserted &&
            (last > e->second.last || (last == e->second.last && rank(node) < rank(e->second.retransmitter)))) {
          e->second = StreamEnd{stream, last, node};
        }
      }
    }
    Flush flush{proposal_, {}, digests};
    for (const auto& [stream, end] : ends) flush.ends.push_back(end);
    for (const auto& [node, digest] : digests) {
      if (node == self_) continue;
      flush_waiting_.insert(node);
      out.push_back(Send{node, flush});
    }
    if (old == &*installed_) {
      flush_ends_ = flush.ends;
      own = std::move(flush);
    }
  }
  on_flush(self_, *own, out);  // this node's own retransmissions
  if (flush_waiting_.empty() && streams_.holds(flush_ends_)) finish_round(out);
}

void ViewMachine::finish_round(std::vector<Action>& out) {
  // Above every view this node saw, so that a view id (coordinator, number) never names two
  // views, even when this node went from one lineage of the group to another.
  std::uint64_t number = std::max(installed_->id.number, highest_);
  std::vector<Pid> old_members = installed_->members;
  if (round_merging_) {
    // Numbered above both sides, so that every node's views keep growing.
    number = std::max(number, round_merging_->id.number);
    old_members.insert(old_members.end(), round_merging_->members.begin(), round_merging_->members.end());
  }
  InstalledView view{ViewId{proposal_.coordinator, number + 1}, proposed_};
  std::vector<std::pair<Pid, LeaveReason>> left;
  for (const auto& member : old_members) {
    if (contains(proposed_, member)) continue;
    LeaveReason reason = LeaveReason::node_down;
    if (auto l = leaving_.find(member); l != leaving_.end()) {
      reason = l->second;
    } else if (contains(dropped_, member.node_atom()) || holds_sibling(member.node_atom())) {
      reason = LeaveReason::evicted;  // (a sibling's: gone elsewhere, as in maybe_start_round)
    }
    left.emplace_back(member, reason);
  }
  bool merged = round_merging_.has_value();
  auto came_from = old_view_numbers(installed_, round_merging_);
  Install install{proposal_, view, left, merged};
  for (NodeId node : participants_) {
    if (reaches(node)) out.push_back(Send{node, install});
  }
  for (NodeId node : dropped_) {
    if (reaches(node)) out.push_back(Send{node, Evicted{proposal_, view.id}});
  }
  for (const auto& member : view.members) std::erase(joining_, member);
  for (const auto& [member, reason] : left) leaving_.erase(member);
  dropped_.clear();
  phase_ = Phase::idle;
  if (merging_ && round_merging_ && merging_->id == round_merging_->id) merging_.reset();
  round_merging_.reset();
  apply_install(view, left, merged, out, std::move(came_from));
  if (coordinating()) {
    // Changes that came during the round make the next one.
    std::vector<Action> more;
    maybe_start_round(now_, more);
    out.insert(out.end(), more.begin(), more.end());
  }
}

// ---- every node ------------------------------------------------------------------------------

void ViewMachine::on_prepare(NodeId from, const Prepare& prepare, std::vector<Action>& out) {
  // Without a view, a node takes part in a round that lets one of its pids in: a joiner of
  // its own, or one it gave up (it installs the view, then takes that one out again).
  // (One coordinator at a time: a joiner that answered another's round refuses, or its pid
  // would end in two views.)
  // A node without a view that the base view still names answers too: its PREPARE_OK shows
  // the coordinator which of its members are stale.
  bool named = has_node(prepare.members, self_) || (prepare.base && has_node(prepare.base->members, self_)) ||
               (prepare.other && has_node(prepare.other->members, self_));
  bool joiner = !installed_ && named &&
                (!promised_ || promised_->coordinator.node_atom() == prepare.proposal.coordinator.node_atom());
  bool from_coordinator = follows(from) && from == prepare.proposal.coordinator.node_atom();
  // The senior's round of a merge that this node's coordinator yielded to.
  bool merge_in = installed_ && prepare.other && prepare.other->id == installed_->id && delegate_ &&
                  delegate_->second == installed_->id && delegate_->first.node_atom() == from;
  // A node left behind (the coordinator that would have told it went first) accepts a round
  // whose base view is another, not older, and holds the node it follows: that node went on
  // under this coordinator.
  // (Not while it owes the coordinator it follows the end of a round: one round at a time.)
  bool newer_lineage =
      installed_ && !promised_ && prepare.base && prepare.base->id != installed_->id &&
      prepare.base->id.number >= installed_->id.number &&
      std::any_of(prepare.base->members.begin(), prepare.base->members.end(), [&](const Pid& pid) {
        return pid == coordinator() || (pid.node_atom() == self_ && contains(installed_->members, pid));
      });
  // Nor while this node answered the FLUSH of another coordinator's round, and that
  // coordinator (the same incarnation) is reached and holds a view: that round finishes and its
  // INSTALL is on its way. Taking another round then let this node give it up and deliver in
  // the old view past that round's ends, then install the view the other coordinator had
  // installed with it: two members went from one view to the next having received different
  // messages (simulator seed 992000121516: the old coordinator came back first in the view).
  // For three timeouts at most from that promise: a live coordinator installs or starts its
  // round again within one, but one deposed in the middle of its FLUSH gives the round up at
  // its deadline without a word, and this node would refuse every round for ever (review).
  bool owes_install = flushed_ && last_promised_ && now_ < promise_deadline_ &&
                      last_promised_->coordinator.node_atom() != prepare.proposal.coordinator.node_atom() &&
                      reaches(last_promised_->coordinator) &&
                      !contains(viewless_, last_promised_->coordinator.node_atom());
  // One round at a time: not while a round of this node's runs (a deposed one that had not
  // flushed was dropped already: drop_round_if_deposed).
  if (phase_ != Phase::idle || owes_install || (!joiner && !from_coordinator && !newer_lineage && !merge_in)) {
    // (No coordinator to name when this node reaches none: sent as none, not as an empty pid,
    // which the reader refuses as malformed.)
    Pid following = coordinator();
    out.push_back(Send{from, Refuse{prepare.proposal,
                                    following.node_atom() != 0 ? std::optional(following) : std::nullopt, installed_}});
    return;
  }
  if (promised_ && promised_->coordinator == prepare.proposal.coordinator &&
      promised_->attempt > prepare.proposal.attempt) {
    return;  // an older attempt overtaken by a newer one
  }
  if (installed_ && !promised_) out.push_back(PausePublishing{});
  if (from_coordinator) delegate_.reset();  // its own coordinator went on: no merge
  promised_ = prepare.proposal;
  promise_deadline_ = now_ + 3 * view_change_timeout_;
  promised_merge_ = merge_in;
  promised_merges_ = prepare.other.has_value();
  promised_base_ = prepare.base ? prepare.base->id.number : 0;
  promised_came_from_ = old_view_numbers(prepare.base, prepare.other);
  promised_members_ = prepare.members;
  last_promised_ = prepare.proposal;
  promised_nodes_.clear();
  forget_merge_to_settle();  // whatever the last merge left to settle, this round settles
  // (The coordinator too, even when none of its members is in the view it proposes.)
  std::vector<Pid> round_nodes = prepare.members;
  round_nodes.push_back(prepare.proposal.coordinator);
  for (const Pid& member : round_nodes) {
    if (member.node_atom() != self_) promised_nodes_[member.node_atom()] = PromisedNode{member.creation(), false};
  }
  // A node whose view the round changes (its base, or a merge's other) must hold the flush
  // before it installs the result; any other answers as a joiner.
  flush_needed_ = installed_ && ((prepare.base && prepare.base->id == installed_->id) ||
                                 (prepare.other && prepare.other->id == installed_->id));
  flushed_ = false;
  owed_flush_.reset();
  out.push_back(Send{from, PrepareOk{prepare.proposal, installed_, installed_left_,
                                     installed_ ? streams_.digest() : Digest{}, local_}});
}

void ViewMachine::on_flush(NodeId from, const Flush& flush, std::vector<Action>& out) {
  bool own = from == self_;
  if (!own && !(promised_ && *promised_ == flush.proposal)) return;
  for (const auto& end : flush.ends) {
    if (end.retransmitter != self_) continue;
    for (const auto& [node, digest] : flush.digests) {
      if (node == self_) continue;
      auto held = digest.find(end.stream);
      std::uint64_t after = held == digest.end() ? 0 : held->second;
      if (after < end.last) out.push_back(Retransmit{node, end.stream, after, end.last});
    }
  }
  if (own) return;
  owed_flush_ = flush;
  owed_flush_to_ = from;
  answer_flush_if_held(out);
}

void ViewMachine::on_evicted(NodeId from, const Evicted& evicted, std::vector<Action>& out) {
  // Only the coordinator this node follows (or the senior of a merge it yielded to) can drop
  // it; a stale notice of another is ignored.
  bool senior = delegate_ && delegate_->first.node_atom() == from;
  if (!(follows(from) || senior) || from != evicted.proposal.coordinator.node_atom()) return;
  evict_self(out);
}

void ViewMachine::on_refuse(NodeId from, const Refuse& refuse, std::vector<Action>& out) {
  if (phase_ != Phase::preparing || !(refuse.proposal == proposal_)) return;
  const auto& theirs = refuse.installed;
  // (A node of another view, a merge's junior side, refuses until its coordinator yields.)
  bool excluded = has_node(installed_->members, from) && theirs && theirs->id.number > installed_->id.number &&
                  std::none_of(theirs->members.begin(), theirs->members.end(),
                               [&](const Pid& pid) { return pid.node_atom() == self_; });
  bool junior_node = round_merging_ && has_node(round_merging_->members, from);
  if (junior_node && !(theirs && theirs->id == round_merging_->id)) {
    // The junior view of this merge went on without it (its coordinator gave up waiting):
    // the merge is off until it asks again.
    if (merging_ && merging_->id == round_merging_->id) merging_.reset();
    round_merging_.reset();
    restart_round(now_, out);
    return;
  }
  if (!junior_node && !has_node(installed_->members, from)) {
    // A joiner's node that is in another view now (its request is stale: it went elsewhere).
    // Its joins leave the round; it sends them again if it still means them.
    std::erase_if(joining_, [&](const Pid& pid) { return pid.node_atom() == from; });
    restart_round(now_, out);
    return;
  }
  if (!excluded) {
    // It follows another coordinator: wait (SPEC 8.1.5). But members of it that its own view
    // lacks are not its members any more (they left or were dropped there): they go now.
    // (A refuser without a view has none of them.)
    bool stale = false;
    for (const auto& member : proposed_) {
      if (member.node_atom() == from && (!theirs || !contains(theirs->members, member)) &&
          contains(installed_->members, member)) {
        stale |= leaving_.emplace(member, LeaveReason::evicted).second;
      }
    }
    // Its joins too: it sends them to the coordinator it follows.
    stale |= std::erase_if(joining_, [&](const Pid& pid) { return pid.node_atom() == from; }) != 0;
    if (stale) {
      restart_round(now_, out);
      return;
    }
    if (!has_node(proposed_, from)) {
      // None of its members goes on into the proposed view: the round does without it (its
      // stream of the old view ends where the others hold it, the same for all of them).
      participants_.erase(from);
      prepare_answers_.erase(from);
      if (all_prepared()) send_flushes(out);
      return;
    }
    refused_.insert(from);
    return;
  }
  // A node of this view went on in a newer view without this node: the round that made it
  // dropped this node, and its coordinator went before it could say so.
  phase_ = Phase::idle;
  known_ = theirs;
  evict_self(out);
}

void ViewMachine::evict_self(std::vector<Action>& out) {
  for (const auto& member : installed_->members) {
    if (auto it = std::find(local_.begin(), local_.end(), member); it != local_.end()) {
      local_.erase(it);
      auto wanted = wanted_leaves_.find(member);
      out.push_back(LocalLeft{member, wanted == wanted_leaves_.end() ? LeaveReason::evicted : wanted->second});
    }
  }
  // What it collected as a coordinator is void: those nodes follow another now.
  std::erase_if(joining_, [&](const Pid& pid) { return pid.node_atom() != self_; });
  leaving_.clear();
  merging_.reset();
  phase_ = Phase::idle;  // a round it ran is void too
  round_merging_.reset();
  dropped_.clear();
  installed_.reset();
  installed_left_.clear();
  wanted_leaves_.clear();
  forget_merge_to_settle();
  promised_.reset();
  owed_flush_.reset();
  delegate_.reset();
  yielded_ = false;
  // A round it answered as a member of the view it just lost needs the flush it held, and its
  // streams go with the view: that round's INSTALL no longer applies here. (One it answered as
  // a joiner still does.)
  if (flush_needed_) {
    last_promised_.reset();
    flushed_ = false;
    flush_needed_ = false;
  }
  submit_requests(out);  // joins still waiting go on
}

void ViewMachine::give_up_orphaned_flush(std::vector<Action>& out) {
  // An answered FLUSH keeps this node from publishing and delivering in its view until the
  // round's view comes (its INSTALL, or its announcement when the link returns): the round may
  // have installed elsewhere. Once a new incarnation of every other node of its proposal
  // linked here since the promise, none holds that round's view: a restart knows nothing of it.
  // (Not a node that only says it holds no view: it may install the round's view after saying
  // so. Not a node merely down: across a cut it may hold the view, and a cut heals; see
  // settle_vanished_merge for that.)
  // Found by the simulator (seed 483765175927): a junior coordinator alone in its view had
  // answered the senior's FLUSH of a merge, the senior's node crashed and restarted; nothing
  // changed in the junior's own view, so no round of its own came, and it stayed paused for
  // good, its broadcasts waiting.
  if (!flushed_ || !last_promised_ || promised_) return;
  if (!std::all_of(promised_nodes_.begin(), promised_nodes_.end(),
                   [](const auto& node) { return node.second.restarted; })) {
    settle_vanished_merge(out);
    return;
  }
  last_promised_.reset();
  flushed_ = false;
  flush_needed_ = false;
  promised_nodes_.clear();
  forget_merge_to_settle();
  if (coordinating()) maybe_start_round(now_, out);
}

void ViewMachine::settle_vanished_merge(std::vector<Action>& out) {
  // A merge whose FLUSH this node answered, and every node of the other side is out of reach
  // (down, cut off or restarted): its senior may have installed the merged view over there, or
  // not. This side settles it as a view of its own does when its coordinator goes in the
  // middle of a round: its coordinator runs a round (with no change of members if none is
  // due). A node of this side that installed the merged view answers that round's PREPARE
  // with it, and the round goes on from there; otherwise this side installs a view of its
  // own, and the other side, should it hold the merged view across a cut, finds this side
  // gone elsewhere when it reaches it again (as a coordinator cut off after its INSTALL does).
  // Before, this side stayed paused until the senior's node came back, for ever if it did
  // not: a SIGKILL at that moment stalled the group (SPEC 8.5.1). It waits a
  // view_change_timeout first, as a coordinator holds a lost node: a link reset and back
  // brings the merged view's announcement, which installs here (learn).
  if (!promised_merges_ || !installed_ || settle_round_) return;
  bool other_side_gone = std::all_of(promised_nodes_.begin(), promised_nodes_.end(), [&](const auto& node) {
    return has_node(installed_->members, node.first) || node.second.restarted || !reaches(node.first);
  });
  if (!other_side_gone) {
    vanished_since_.reset();
    return;
  }
  if (!vanished_since_) vanished_since_ = now_;
  if (now_ - *vanished_since_ < view_change_timeout_) return;  // (tick looks again)
  settle_round_ = true;
  if (coordinating()) maybe_start_round(now_, out);
}

void ViewMachine::forget_merge_to_settle() {
  settle_round_ = false;
  vanished_since_.reset();
}

void ViewMachine::answer_flush_if_held(std::vector<Action>& out) {
  if (!owed_flush_ || !streams_.holds(owed_flush_->ends)) return;
  out.push_back(Send{owed_flush_to_, FlushOk{owed_flush_->proposal}});
  flushed_ = last_promised_ && *last_promised_ == owed_flush_->proposal;
  owed_flush_.reset();
}

std::map<NodeId, std::uint64_t> ViewMachine::old_view_numbers(const std::optional<InstalledView>& base,
                                                              const std::optional<InstalledView>& other) {
  std::map<NodeId, std::uint64_t> out;
  for (const auto* view : {&base, &other}) {
    if (!*view) continue;
    for (const auto& member : (*view)->members) out[member.node_atom()] = (*view)->id.number;
  }
  return out;
}

std::map<NodeId, std::uint64_t> ViewMachine::came_from_if_promised(const InstalledView& view) const {
  // The view of the round this node answered last: its coordinator's, newer than its base, with
  // the members it proposed. (Not a later view of the same coordinator, whose old views may be
  // numbered higher: a node still one view behind would look like a sibling's. Nor the base
  // itself, sent again under a later proposal to a node that missed it.)
  bool that_round = last_promised_ && view.id.coordinator == last_promised_->coordinator &&
                    view.id.number > promised_base_ && view.members == promised_members_;
  return that_round ? promised_came_from_ : std::map<NodeId, std::uint64_t>{};
}

void ViewMachine::apply_install(const InstalledView& view, const std::vector<std::pair<Pid, LeaveReason>>& left,
                                bool merged, std::vector<Action>& out, std::map<NodeId, std::uint64_t> came_from) {
  std::vector<Pid> joined;
  for (const auto& member : view.members) {
    if (!installed_ || !contains(installed_->members, member)) joined.push_back(member);
  }
  bool member_here =
      std::any_of(local_.begin(), local_.end(), [&](const Pid& pid) { return contains(view.members, pid); });
  bool node_in_view = has_node(view.members, self_);
  if (member_here) {
    // Who left is told against this node's previous view (a merge's list names both sides').
    std::vector<std::pair<Pid, LeaveReason>> gone;
    for (const auto& entry : left) {
      if (installed_ && contains(installed_->members, entry.first)) gone.push_back(entry);
    }
    // The list came from a node whose previous view was another (a view adopted from a
    // PREPARE's answer, say): every member gone from this node's view is told all the same
    // (SPEC 8.1.4), with the reason this node knows, else as its node's absence says.
    if (installed_) {
      for (const auto& member : installed_->members) {
        if (contains(view.members, member)) continue;
        if (std::any_of(gone.begin(), gone.end(), [&](const auto& g) { return g.first == member; })) continue;
        auto known = leaving_.find(member);
        LeaveReason reason = known != leaving_.end()                      ? known->second
                             : has_node(view.members, member.node_atom()) ? LeaveReason::left
                                                                          : LeaveReason::node_down;
        gone.emplace_back(member, reason);
      }
    }
    out.push_back(InstallView{view, joined, gone, merged});
  }
  for (const auto& [member, reason] : left) {
    if (auto it = std::find(local_.begin(), local_.end(), member); it != local_.end()) {
      local_.erase(it);
      out.push_back(LocalLeft{member, reason});
    }
  }
  // Local members of the old view that the new one lacks without saying why (this node missed
  // the view that dropped them): evicted, or left if they asked to.
  if (installed_) {
    for (const auto& member : installed_->members) {
      if (contains(view.members, member)) continue;
      bool told = std::any_of(left.begin(), left.end(), [&](const auto& l) { return l.first == member; });
      auto it = std::find(local_.begin(), local_.end(), member);
      if (told || it == local_.end()) continue;
      local_.erase(it);
      auto wanted = wanted_leaves_.find(member);
      out.push_back(LocalLeft{member, wanted == wanted_leaves_.end() ? LeaveReason::evicted : wanted->second});
    }
  }
  for (const auto& [member, reason] : left) wanted_leaves_.erase(member);
  // Joins the view took are done, however it came (a group started alone, a view adopted from
  // a PREPARE's answer): one left in joining_ would put its member back into the view that
  // takes its leave, and that leave would never go (simulator seed 970000026571).
  std::erase_if(joining_, [&](const Pid& member) { return contains(view.members, member); });
  // And leaves of members the view does not hold are done: one left in leaving_ would keep the
  // same pid out of every proposal once it joins again (simulator seed 980000014291).
  // (Those of a view merging in stay: they are out of that side's part of the next round.)
  std::erase_if(leaving_, [&](const auto& leave) {
    return !contains(view.members, leave.first) && !(merging_ && contains(merging_->members, leave.first));
  });
  // Out without a word too (this node missed the view that took them): asked no more.
  std::erase_if(wanted_leaves_, [&](const auto& wanted) { return !contains(view.members, wanted.first); });
  // The nodes of the view hold it now: what they announced before (no view, after an
  // eviction say) is stale, and must not make their new members look gone.
  for (NodeId node : nodes_of(view.members)) {
    viewless_.erase(node);
    unheard_.erase(node);
  }
  // A member of this node in the view that this node no longer has (its join was given up
  // while the coordinator let it in): out again, as if it left.
  bool ghosts = false;
  for (const auto& member : view.members) {
    if (member.node_atom() == self_ && !contains(local_, member))
      ghosts |= wanted_leaves_.emplace(member, LeaveReason::left).second;
  }
  Pid before = coordinator();
  promised_.reset();
  promised_merge_ = false;
  promised_merges_ = false;
  last_promised_.reset();
  flushed_ = false;
  forget_merge_to_settle();
  owed_flush_.reset();
  delegate_.reset();
  yielded_ = false;
  known_ = view;
  highest_ = std::max(highest_, view.id.number);
  if (node_in_view) {
    installed_ = view;
    installed_left_ = left;
    installed_merged_ = merged;
    std::erase_if(came_from, [&](const auto& entry) { return !has_node(view.members, entry.first); });
    came_from_ = std::move(came_from);
  } else {
    came_from_.clear();
    installed_.reset();
    installed_left_.clear();
    installed_merged_ = false;
    wanted_leaves_.clear();
  }
  if (!coordinating()) {
    // What it collected as a coordinator goes with the role: the nodes resubmit to the new one.
    joining_.clear();
    leaving_.clear();
    merging_.reset();
    phase_ = Phase::idle;
    round_merging_.reset();
    dropped_.clear();
  }
  if (ghosts || coordinator() != before) submit_requests(out);
  // The reports are about reachability, which the view change did not alter; those of nodes
  // out of the view go.
  std::erase_if(cuts_, [&](const auto& report) { return !has_node(view.members, report.first); });
  report_cut(out);  // a cut that lasts is reported again, for this view
}

void ViewMachine::drop_round_if_deposed() {
  // A round still preparing is void once this node follows another coordinator (a node back
  // from a cut comes first in the view, say): two rounds at once could put a joiner in two
  // views. Its followers' promises lapse (they flushed nothing). A round that sent its FLUSH
  // finishes: its followers answered it and wait for its INSTALL; meanwhile this node refuses
  // other rounds (on_prepare). The nodes it meant to drop go with the role, also those it
  // chose while idle (a laggard, the later-joined of a cut pair): kept, they stayed out of
  // every proposal when the role came back in a later view, and their joins waited for ever
  // (simulator seed 991000052066).
  if (coordinating() || phase_ == Phase::flushing) return;
  phase_ = Phase::idle;
  round_merging_.reset();
  dropped_.clear();
}

void ViewMachine::coordinator_may_have_changed(const Pid& before, std::vector<Action>& out) {
  Pid now = coordinator();
  if (now == before) return;
  drop_round_if_deposed();
  if (promised_ && promised_->coordinator.node_atom() != now.node_atom() && !promised_merge_) {
    // A promise to a coordinator this node no longer follows is void once that coordinator
    // cannot finish the round: its node is gone, holds no view, or went on without it. While
    // it can, the promise holds (that round may install this node's members).
    NodeId node = promised_->coordinator.node_atom();
    if (!reaches(node) || contains(viewless_, node) || gone_elsewhere(promised_->coordinator)) {
      promised_.reset();
      owed_flush_.reset();
    }
  }
  submit_requests(out);  // the waiting requests go to the new one (a round, if it is this node)
  report_cut(out);
  // The view the local members waited to join is gone (its last node left it, died or is cut
  // off): they start the group again.
  if (!local_.empty() && no_group_to_join()) start_group(out);
}

void ViewMachine::report_cut(std::vector<Action>& out) {
  if (!installed_) return;
  Pid c = coordinator();
  if (c.is_null() || c.node_atom() == self_) return;
  std::vector<NodeId> cut;
  for (NodeId node : nodes_of(installed_->members)) {
    if (!reaches(node)) cut.push_back(node);
  }
  // A new coordinator may hold a report of this node from an earlier time it was told one
  // (reports are kept: they are about reachability): it hears the current one, even empty.
  // The same coordinator keeps its reports across views: a new view repeats a cut only.
  bool new_coordinator = reported_to_ != c.node_atom();
  bool new_view = reported_view_ != installed_->id;
  if (new_coordinator || cut != reported_cut_ || (new_view && !cut.empty()))
    out.push_back(Send{c.node_atom(), Unreachable{installed_->id, cut}});
  reported_cut_ = std::move(cut);
  reported_to_ = c.node_atom();
  reported_view_ = installed_->id;
}

std::size_t ViewMachine::first_position(NodeId node) const {
  const auto& members = installed_->members;
  for (std::size_t i = 0; i < members.size(); ++i) {
    if (members[i].node_atom() == node) return i;
  }
  return members.size();
}

bool ViewMachine::others_may_reach(NodeId node) const {
  for (NodeId other : nodes_of(installed_->members)) {
    if (other == self_ || other == node || !reaches(other) || contains(dropped_, other)) continue;
    auto cut = cuts_.find(other);
    if (cut == cuts_.end() || cut->second.count(node) == 0) return true;
  }
  return false;
}

bool ViewMachine::held(NodeId node) const {
  auto lost = lost_at_.find(node);
  if (lost == lost_at_.end() || !coordinating() || now_ - lost->second >= view_change_timeout_) return false;
  if (reaches(node)) {
    // Back before the decision: held until it says what it holds, since it may have seen a
    // split and gone on without this node. (Not a new incarnation: its members are gone.)
    bool same_incarnation = std::any_of(installed_->members.begin(), installed_->members.end(),
                                        [&](const Pid& pid) { return pid.node_atom() == node && reaches(pid); });
    return same_incarnation && unheard_.count(node) != 0;
  }
  return others_may_reach(node);
}

bool ViewMachine::holding() const {
  return std::any_of(lost_at_.begin(), lost_at_.end(), [&](const auto& lost) { return held(lost.first); });
}

void ViewMachine::settle_lost(std::vector<Action>& out) {
  if (!coordinating()) return;
  bool decided = false;
  for (auto it = lost_at_.begin(); it != lost_at_.end();) {
    auto [node, since] = *it;
    if (!has_node(installed_->members, node) || (reaches(node) && !held(node))) {
      it = lost_at_.erase(it);  // gone from the view, or back and heard of (or timed out)
      continue;
    }
    ++it;
    if (held(node)) continue;
    decided = true;
    // Partial connectivity outlasted the timeout: the later-joined of this node and the lost
    // one is evicted. When that is this node, the coordinator the lost node follows evicts
    // it; its view reaches this node through the others (dropped_by).
    bool partial = now_ - since >= view_change_timeout_ && others_may_reach(node);
    if (partial && first_position(node) > first_position(self_)) dropped_.insert(node);
  }
  if (decided && phase_ == Phase::idle) maybe_start_round(now_, out);
}

void ViewMachine::settle_cuts(std::vector<Action>& out) {
  for (const auto& [reporter, cut] : cuts_) {
    if (!reaches(reporter) || contains(dropped_, reporter)) continue;
    for (const auto& [other, since] : cut) {
      if (now_ - since < view_change_timeout_ || other == self_ || !reaches(other) || contains(dropped_, other) ||
          !has_node(installed_->members, other))
        continue;
      // Both sides still reach this node: partial connectivity, not a split.
      NodeId later = first_position(reporter) > first_position(other) ? reporter : other;
      dropped_.insert(later);
      start_round(now_, out);
      return;
    }
  }
}

bool ViewMachine::gone_elsewhere(const Pid& member) const {
  if (member.node_atom() != self_ && contains(viewless_, member.node_atom())) return true;
  auto it = announced_.find(member.node_atom());
  if (it == announced_.end() || !installed_) return false;
  const InstalledView& theirs = it->second;
  // A newer view, or another view of the same number (another lineage: within one, a number
  // names one installed view), that lacks the member. An older one may predate its join.
  bool not_older = theirs.id.number > installed_->id.number ||
                   (theirs.id.number == installed_->id.number && theirs.id != installed_->id);
  return (not_older && !contains(theirs.members, member)) || holds_sibling(member.node_atom());
}

bool ViewMachine::holds_sibling(NodeId node) const {
  auto it = announced_.find(node);
  return it != announced_.end() && is_sibling(node, it->second.id);
}

bool ViewMachine::is_sibling(NodeId node, const ViewId& theirs) const {
  auto from = came_from_.find(node);
  if (from == came_from_.end() || !installed_) return false;
  // Another view, numbered above the one that node held before this one and not above this
  // one: that node missed this view's INSTALL, its coordinator died, and it settled the round
  // without this view (a merge's senior follower settling alone: a merge's view is numbered
  // above both sides', so the sibling may be numbered as this one or below). Its members are
  // there, not here, even those both views list, and it coordinates nothing here: this side
  // waited for its rounds for ever, its members in two views.
  return theirs != installed_->id && theirs.number > from->second && theirs.number <= installed_->id.number;
}

bool ViewMachine::dropped_by(const InstalledView& view) const {
  if (!installed_ || view.id.number <= installed_->id.number || has_node(view.members, self_)) return false;
  // A node of this node's view, reached, is in a newer view without this node: the lineage
  // went on without it. (The sides of a clean split do not reach each other.)
  return std::any_of(view.members.begin(), view.members.end(), [&](const Pid& pid) {
    return pid.node_atom() != self_ && reaches(pid) && contains(installed_->members, pid);
  });
}

bool ViewMachine::reaches_all(const InstalledView& view) const {
  const auto nodes = nodes_of(view.members);
  return std::all_of(nodes.begin(), nodes.end(), [&](NodeId node) { return reaches(node); });
}

void ViewMachine::reconsider_merges(std::vector<Action>& out) {
  if (!installed_ || !coordinating()) return;
  for (const auto& [node, view] : announced_) {
    if (yielded_ || phase_ != Phase::idle) return;
    // (A node that announced no view since holds this one no more.)
    if (reaches(node) && may_hold_view(node)) consider_merge(view, out);
  }
}

void ViewMachine::consider_merge(const InstalledView& other, std::vector<Action>& out) {
  if (!coordinating() || phase_ != Phase::idle || yielded_ || overlap(other, *installed_)) return;
  // Not before every node of the other side is reached: links of a heal come back one by one,
  // and a merge over part of a side would drop the rest of it (its next announcement, once its
  // link is up, brings this node here again).
  if (!reaches_all(other)) return;
  Pid theirs;
  for (const auto& member : other.members) {
    if (reaches(member)) {
      theirs = member;
      break;
    }
  }
  // The senior (lower coordinator pid) merges; the junior asks it to.
  if (theirs.is_null() || !(theirs < coordinator())) return;
  yielded_ = true;
  yield_deadline_ = now_ + 3 * view_change_timeout_;
  delegate_.emplace(theirs, installed_->id);
  for (NodeId node : nodes_of(installed_->members)) {
    if (node != self_ && reaches(node)) out.push_back(Send{node, Yield{theirs, installed_->id}});
  }
  out.push_back(Send{theirs.node_atom(), MergeRequest{*installed_}});
}

void ViewMachine::on_merge_request(NodeId from, const MergeRequest& request, std::vector<Action>& out) {
  if (!coordinating() || overlap(request.view, *installed_) || !has_node(request.view.members, from)) return;
  // One junior at a time (a newer view of the same one replaces it); others ask again later.
  if (merging_ && !has_node(merging_->members, from)) return;
  if (!reaches_all(request.view)) return;  // not yet: the junior asks again (see consider_merge)
  merging_ = request.view;
  maybe_start_round(now_, out);
}

void ViewMachine::submit_requests(std::vector<Action>& out) {
  Pid c = coordinator();
  if (c.is_null()) return;
  bool here = coordinating();
  for (const auto& member : local_) {
    if (installed_ && contains(installed_->members, member)) continue;
    if (!here) {
      out.push_back(Send{c.node_atom(), JoinRequest{member}});
    } else if (!contains(joining_, member)) {
      joining_.push_back(member);
    }
  }
  for (const auto& [member, reason] : wanted_leaves_) {
    if (here) {
      leaving_.emplace(member, reason);
    } else {
      out.push_back(Send{c.node_atom(), LeaveRequest{member, reason}});
    }
  }
  if (here) maybe_start_round(now_, out);
}

}  // namespace syn::detail::multicast
