#include "multicast/group_node.hpp"

#include <algorithm>
#include <limits>

// See view_machine.cpp: GCC 12's -Wmaybe-uninitialized misfires on variants of vectors at -O2.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace syn::detail::multicast {

namespace {

/// Early data kept for views not installed yet, at most (a peer past it breaks the protocol).
constexpr std::size_t kMaxEarlyBatches = 4096;

bool has(const std::vector<Pid>& members, const Pid& pid) {
  return std::find(members.begin(), members.end(), pid) != members.end();
}

}  // namespace

GroupNode::GroupNode(NodeId self, std::chrono::milliseconds view_change_timeout, std::chrono::milliseconds max_lag,
                     std::chrono::milliseconds creation_delay, std::size_t send_window)
    : self_(self),
      max_lag_(std::chrono::duration_cast<std::chrono::microseconds>(max_lag).count()),
      send_window_(send_window),
      announce_every_(std::chrono::duration_cast<std::chrono::microseconds>(view_change_timeout).count()),
      machine_(self, view_change_timeout, streams_, creation_delay) {}

Effects GroupNode::join(const Pid& member, Micros now, Micros reach_deadline) {
  Effects fx;
  now_ = now;
  run(machine_.join(member, now, reach_deadline), fx);
  if (machine_.creating()) fx.announce = true;  // another node starting the group defers to one of us
  return fx;
}

Effects GroupNode::leave(const Pid& member, LeaveReason reason, Micros now) {
  Effects fx;
  now_ = now;
  run(machine_.leave(member, reason, now), fx);
  return fx;
}

Effects GroupNode::give_up_leave(const Pid& member, Micros now) {
  Effects fx;
  now_ = now;
  run(machine_.give_up_leave(member, now), fx);
  return fx;
}

std::uint64_t GroupNode::broadcast(const Pid& member, std::string message, Effects& fx) {
  std::uint64_t token = next_token_++;
  Published published{member.id(), std::move(message)};
  bool member_in_view = view() && has(view()->members, member);
  if (paused_ || !member_in_view) {
    waiting_bytes_ += published.message.size();
    waiting_.push_back(Waiting{token, member, std::move(published)});
  } else {
    publish(token, member, std::move(published), fx);
  }
  return token;
}

void GroupNode::publish(std::uint64_t token, const Pid& member, Published message, Effects& fx) {
  Pid from = *publisher(self_, message.member);
  std::uint64_t seq = streams_.publish(message, now_);
  add_unconfirmed(seq, token, member);
  for (NodeId node : streams_.nodes()) {
    if (node == self_) continue;
    auto [sent_after, sent_upto] = streams_.advance_sent(node, send_window_);
    if (sent_upto == sent_after) continue;  // behind by a window: later, from the log
    if (sent_after + 1 == seq) {
      send_data(node, seq, message, fx);  // it keeps up: the message in hand
    } else {
      send_range(node, sent_after, sent_upto, fx);  // it was behind: what the window opened, from the log
    }
  }
  fx.events.push_back(delivered(self_, seq, from, std::move(message.message)));
  confirm_stable(fx);  // a view of this node alone: stable at once
}

void GroupNode::add_unconfirmed(std::uint64_t seq, std::uint64_t token, const Pid& member) {
  if (!pending_.empty()) {
    Unconfirmed& last = pending_.back();
    if (last.member == member && last.seq + last.count == seq && last.token + last.count == token) {
      ++last.count;
      return;
    }
  }
  pending_.push_back(Unconfirmed{seq, token, 1, member});
}

void GroupNode::confirm_runs(const std::deque<Unconfirmed>& runs, bool ok, Effects& fx) {
  for (const auto& run : runs) {
    for (std::uint64_t i = 0; i < run.count; ++i) fx.events.push_back(Confirmed{run.token + i, ok});
  }
}

void GroupNode::settle_after_install(const std::vector<Pid>& old_members, const InstalledView& view, Effects& fx) {
  const std::vector<NodeId> nodes = nodes_of(view.members);
  auto in_view = [&](NodeId node) { return std::find(nodes.begin(), nodes.end(), node) != nodes.end(); };
  if (!in_view(self_)) {
    // Out of the view with them (its last members left): no node acknowledges a view to it
    // any more, so it cannot learn that their callbacks ran. Outcome unknown (SPEC 8.3.2).
    fail_unsettled(fx);
    return;
  }
  if (!pending_.empty()) {
    // Only a node with a member that stays delivers the old view's messages to it. A node
    // whose old members all went (evicted, or it restarted) and whose new ones join now
    // delivers nothing of the old view and holds no view before this one: it owes nothing.
    Settling settling{std::exchange(pending_, {}), {}};
    for (const Pid& member : old_members) {
      NodeId node = member.node_atom();
      if (node != self_ && has(view.members, member) && !not_settling_.count(node)) settling.nodes.insert(node);
    }
    settling_.push_back(std::move(settling));
  }
  // Those that waited from an earlier view: a node's acknowledgement of this view says it
  // settled that one too (its callbacks run in order). A node gone from the view left it.
  for (auto& settling : settling_) std::erase_if(settling.nodes, [&](NodeId node) { return !in_view(node); });
  // Acknowledgements of this view that came before its INSTALL.
  for (auto it = early_settled_.begin(); it != early_settled_.end();) {
    if (it->first > view.id) break;
    if (it->first == view.id) {
      for (NodeId node : it->second) {
        for (auto& settling : settling_) settling.nodes.erase(node);
      }
    }
    it = early_settled_.erase(it);
  }
  confirm_settled(fx);
}

void GroupNode::fail_unsettled(Effects& fx) {
  for (const auto& settling : settling_) confirm_runs(settling.runs, false, fx);
  settling_.clear();
  confirm_runs(pending_, false, fx);
  pending_.clear();
}

void GroupNode::heard_settled(NodeId node, Effects& fx) {
  if (settling_.empty()) return;
  for (auto& settling : settling_) settling.nodes.erase(node);
  confirm_settled(fx);
}

void GroupNode::confirm_settled(Effects& fx) {
  // In token order: the oldest view's first (a later view's may be done first: it waits).
  while (!settling_.empty() && settling_.front().nodes.empty()) {
    confirm_runs(settling_.front().runs, true, fx);
    settling_.pop_front();
  }
}

void GroupNode::settled(const ViewId& view) {
  if (!current_ || current_->id != view) return;  // a later view came: it settles that one
  settled_ = true;
  acks_owed_ = true;
}

void GroupNode::retransmit(const Retransmit& resend, Effects& fx) const {
  // In frames of at most kMaxDataFrameBytes, like Data: what a node lacks at a view change
  // can be most of multicast_max_in_flight (a node behind by a send window, say).
  std::uint64_t next = resend.after + 1;
  wire::multicast::Resend* frame = nullptr;  // the last one pushed, while it has room
  std::size_t bytes = 0;
  for (auto& message : streams_.range(resend.stream, resend.after, resend.last)) {
    if (!frame || bytes + message.message.size() > kMaxDataFrameBytes) {
      fx.out.push_back(Outgoing{resend.to, wire::multicast::Resend{view()->id, resend.stream, next, {}}});
      frame = &std::get<wire::multicast::Resend>(fx.out.back().body);
      bytes = 0;
    }
    bytes += message.message.size();
    frame->messages.push_back(std::move(message));
    ++next;
  }
}

void GroupNode::send_stream_to(NodeId node, Effects& fx) {
  auto [from, to] = streams_.advance_sent(node, send_window_);
  send_range(node, from, to, fx);
}

void GroupNode::send_range(NodeId node, std::uint64_t after, std::uint64_t last, Effects& fx) {
  if (last <= after) return;
  std::uint64_t seq = after;
  for (auto& message : streams_.range(self_, after, last)) send_data(node, ++seq, std::move(message), fx);
}

void GroupNode::send_data(NodeId to, std::uint64_t seq, Published message, Effects& fx) const {
  std::size_t bytes = message.message.size();
  for (auto it = fx.out.rbegin(); it != fx.out.rend(); ++it) {
    if (it->to != to) continue;
    auto* data = std::get_if<wire::multicast::Data>(&it->body);
    if (data && data->view == current_->id && data->first + data->messages.size() == seq &&
        it->data_bytes + bytes <= kMaxDataFrameBytes) {
      data->messages.push_back(std::move(message));
      it->data_bytes += bytes;
      return;
    }
    break;
  }
  fx.out.push_back(Outgoing{to, wire::multicast::Data{current_->id, seq, {std::move(message)}}, bytes});
}

Effects GroupNode::receive(NodeId from, const Body& body, Micros now) {
  Effects fx;
  now_ = now;
  if (const auto* message = std::get_if<Message>(&body)) {
    if (const auto* flush = std::get_if<Flush>(message)) {
      // (Only the FLUSH of the round this node answered counts: the machine checks.)
      if (machine_.promised()) flush_ends_ = flush->ends;
    }
    run(machine_.receive(from, *message, now), fx);
    // A request to a node without a view: the sender follows it on old news (its "no view"
    // announcement was lost with a link). Tell everyone again, so that the sender follows the
    // next member of its view instead.
    bool request = std::holds_alternative<JoinRequest>(*message) || std::holds_alternative<LeaveRequest>(*message);
    if (request && !view()) fx.announce = true;
  } else if (const auto* data = std::get_if<wire::multicast::Data>(&body)) {
    if (view() && data->view == view()->id) {
      on_data(from, from, data->first, data->messages, fx);
    } else if (!view() || data->view.number >= view()->id.number) {
      // Its INSTALL is on its way (from the coordinator's node, on another link).
      if (++early_batches_ > kMaxEarlyBatches) {
        fx.protocol_error = "too much data for views not installed yet";
        return fx;
      }
      early_[{data->view, from}].push_back(*data);
    }
    // Older views: closed by a flush, which gave every member of the new view that view's
    // messages up to its ends (a publisher publishes nothing once it answered a round, but its
    // stream may still be on its way to a node behind by a send window): a duplicate.
  } else if (const auto* resend = std::get_if<wire::multicast::Resend>(&body)) {
    // This node's own stream, resent to it: the round's coordinator read a digest of this
    // node's from before it gave that round up and published on (simulator seed
    // 970000035753). It holds all of its own stream: nothing to take, and no error of the
    // sender's (a reset of the link would be one more fault).
    if (resend->stream == self_) return fx;
    if (view() && resend->view == view()->id) {
      on_data(from, resend->stream, resend->first, resend->messages, fx);
      run(machine_.streams_advanced(now), fx);
    }
  } else if (const auto* ack = std::get_if<wire::multicast::Ack>(&body)) {
    on_ack(from, *ack, fx);
  } else if (const auto* announce = std::get_if<wire::multicast::Announce>(&body)) {
    run(machine_.learn(from, announce->view, announce->left, now), fx);
  }
  return fx;
}

void GroupNode::on_data(NodeId from, NodeId stream, std::uint64_t first, const std::vector<Published>& messages,
                        Effects& fx) {
  std::uint64_t seq = first;
  for (const auto& message : messages) {
    auto p = publisher(stream, message.member);
    if (!p || stream == self_) {
      fx.protocol_error = !p ? "a message of a member not in the view" : "a message of this node's own stream";
      return;
    }
    switch (streams_.receive(stream, seq, message, now_)) {
      case Streams::Received::next: hold_or_deliver(stream, seq, *p, message.message, fx); break;
      case Streams::Received::duplicate: break;
      case Streams::Received::gap:
        (void)from;
        fx.protocol_error = "a gap in a stream";
        return;
    }
    ++seq;
  }
}

void GroupNode::hold_or_deliver(NodeId stream, std::uint64_t seq, const Pid& from, const std::string& message,
                                Effects& fx) {
  if (holding_) {
    held_.push_back(Held{stream, seq, from, message});
  } else {
    fx.events.push_back(delivered(stream, seq, from, message));
  }
}

Delivered GroupNode::delivered(NodeId stream, std::uint64_t seq, const Pid& from, std::string message) const {
  return Delivered{from, std::move(message), current_ ? current_->id : ViewId{}, stream, seq};
}

void GroupNode::processed(const ViewId& view, NodeId stream, std::uint64_t seq) {
  if (!current_ || current_->id != view) return;  // that view is over: the flush settled it
  const std::uint64_t before = streams_.acked_by(self_, stream);
  streams_.processed(stream, seq);
  processed_count_ += streams_.acked_by(self_, stream) - before;
  acks_owed_ = true;
}

void GroupNode::release_held(const std::vector<StreamEnd>* ends, Effects& fx) {
  for (auto& h : held_) {
    if (ends) {
      auto end = std::find_if(ends->begin(), ends->end(), [&](const StreamEnd& e) { return e.stream == h.stream; });
      if (end == ends->end() || h.seq > end->last) continue;  // past the end: dropped everywhere
    }
    fx.events.push_back(delivered(h.stream, h.seq, h.from, std::move(h.message)));
  }
  held_.clear();
  holding_ = false;
}

void GroupNode::on_ack(NodeId from, const wire::multicast::Ack& ack, Effects& fx) {
  if (!view() || ack.view != view()->id) {
    // A view not installed here yet: its sender settled the one before, which this node's
    // broadcasts of it may wait for once it installs that view.
    bool later = !view() || ack.view > view()->id;
    if (later && (early_settled_.count(ack.view) || early_settled_.size() < kMaxEarlySettled)) {
      early_settled_[ack.view].insert(from);
    }
    return;
  }
  heard_settled(from, fx);
  for (const auto& [stream, upto] : ack.held) {
    // What a node says it holds of a stream cannot exceed what that stream has here... except
    // streams this node lags on; only this node's own stream is checked (it knows its end).
    if (stream == self_ && upto > streams_.held(self_)) {
      fx.protocol_error = "an acknowledgement of messages this node never sent";
      return;
    }
    streams_.acknowledge(from, stream, upto);
  }
  confirm_stable(fx);
  streams_.collect();
  if (from != self_ && streams_.has_node(from)) send_stream_to(from, fx);  // its window moved
}

void GroupNode::confirm_stable(Effects& fx) {
  std::uint64_t stable = streams_.stable(self_);
  while (!pending_.empty() && pending_.front().seq <= stable) {
    Unconfirmed& run = pending_.front();
    fx.events.push_back(Confirmed{run.token, true, true});
    ++run.seq;
    ++run.token;
    if (--run.count == 0) pending_.pop_front();
  }
}

Effects GroupNode::peer_up(NodeId node, Micros now, std::uint32_t creation, bool settles) {
  Effects fx;
  now_ = now;
  if (settles) {
    not_settling_.erase(node);
  } else {
    not_settling_.insert(node);
    // It will not say it settled: what waited for it goes.
    heard_settled(node, fx);
  }
  resume_stream_to(node, fx);
  run(machine_.peer_up(node, now, creation), fx);
  return fx;
}

void GroupNode::resume_stream_to(NodeId node, Effects& fx) {
  // A link that went down and came back lost what was on it, while both nodes may still be in
  // the view (the cut was too short for a view change). This node's messages the peer has not
  // acknowledged go again, first on the new link; it drops those it already holds. (Nothing
  // when the link is new: the peer acknowledged all or there was nothing.)
  if (!current_ || node == self_) return;
  // What this node acknowledged on the old link may be lost with it: the next send_acks, or
  // the next tick, tells it again.
  told_.erase(node);
  if (!streams_.has_node(node)) return;
  // All of it, past the send window: a view change may be under way, where the node holds its
  // deliveries (no acknowledgement moves the window) and the flush's retransmission of what
  // it lacks may have been lost with the link.
  streams_.set_sent(node, streams_.acked_by(node, self_));
  auto [from, to] = streams_.advance_sent(node, std::numeric_limits<std::size_t>::max());
  send_range(node, from, to, fx);
}

Effects GroupNode::peer_down(NodeId node, Micros now) {
  Effects fx;
  now_ = now;
  not_settling_.erase(node);  // its next incarnation says again what it speaks
  for (auto it = early_.begin(); it != early_.end();) {
    if (it->first.second == node) {
      early_batches_ -= it->second.size();
      it = early_.erase(it);
    } else {
      ++it;
    }
  }
  run(machine_.peer_down(node, now), fx);
  return fx;
}

Effects GroupNode::tick(Micros now) {
  Effects fx;
  now_ = now;
  run(machine_.tick(now), fx);
  send_acks(true, fx);  // what was left for later (the lazy ones)
  // (Acknowledgements move the send windows; this only makes up for one lost on a link.)
  for (NodeId node : streams_.nodes()) {
    if (node != self_) send_stream_to(node, fx);
  }
  bool coordinating = view() && machine_.coordinator().node_atom() == self_;
  if (max_lag_ > 0 && coordinating) evict_laggards(fx);
  if (coordinating && now - announced_at_ >= announce_every_) {
    fx.announce = true;
    announced_at_ = now;
  }
  return fx;
}

void GroupNode::evict_laggards(Effects& fx) {
  const auto nodes = streams_.nodes();  // a copy: an eviction may change the view
  auto lags = [&](NodeId node) {
    return std::any_of(nodes.begin(), nodes.end(), [&](NodeId stream) {
      auto waited = streams_.waited(stream, streams_.acked_by(node, stream) + 1, now_);  // its first unacknowledged
      return waited && *waited > max_lag_;
    });
  };
  for (NodeId node : nodes) {
    if (node != self_ && lags(node)) run(machine_.evict(node, now_), fx);
  }
  // This node lags itself (its members' callbacks hold every publisher back) and nobody else
  // evicts the coordinator's node: its members go, as evicted, and the next member coordinates
  // (SPEC 8.3.4). Alone in the view it holds back only its own publishers: it stays.
  if (nodes.size() < 2 || !view() || !lags(self_)) return;
  const std::vector<Pid> members = view()->members;  // a copy: a leave may change the view
  for (const Pid& member : members) {
    if (member.node_atom() != self_ || !evicting_self_.insert(member).second) continue;
    run(machine_.leave(member, LeaveReason::evicted, now_), fx);
  }
}

Effects GroupNode::send_acks() {
  Effects fx;
  if (!acks_owed_ || !view()) return fx;
  acks_owed_ = false;
  send_acks(false, fx);
  // What this node's members received counts too: stability may move.
  confirm_stable(fx);
  streams_.collect();
  return fx;
}

void GroupNode::send_acks(bool lazy_too, Effects& fx) {
  // Any acknowledgement of the installed view says this node settled the views before it.
  if (!view() || !settled_) return;
  // An acknowledgement is urgent for the node whose stream it moves (its broadcasts wait for
  // it to be confirmed) and for the coordinator (it evicts the nodes that lag). The others
  // only learn from it that messages became stable and can be dropped: they get it every
  // kLazyAckEvery messages, or at the next tick. On a group of 5 at rest, a confirmed
  // broadcast took 20 frames when every node told every other at once, 8 now.
  const NodeId coordinator = machine_.coordinator().node_atom();
  std::optional<wire::multicast::Ack> ack;
  for (NodeId node : streams_.nodes()) {
    if (node == self_) continue;
    Told& told = told_[node];
    // Not told yet that this node settled: its broadcasts of the old view may wait for it.
    const bool settle = !told.settled;
    if (!settle && told.processed == processed_count_) continue;  // nothing new since the last
    const std::uint64_t its_stream = streams_.acked_by(self_, node);
    const bool urgent = settle || its_stream > told.its_stream || node == coordinator ||
                        processed_count_ - told.processed >= kLazyAckEvery;
    if (!urgent && !lazy_too) continue;
    if (!ack) ack = wire::multicast::Ack{view()->id, streams_.processed_digest()};
    told = Told{its_stream, processed_count_, true};
    fx.out.push_back(Outgoing{node, *ack});
  }
}

wire::multicast::Announce GroupNode::announcement() const {
  return {view() ? view() : machine_.creating(), last_left_};
}

void GroupNode::run(std::vector<Action> actions, Effects& fx) {
  for (auto& action : actions) {
    if (auto* install = std::get_if<InstallView>(&action)) {
      this->install(*install, true, fx);
      continue;
    }
    if (auto* send = std::get_if<Send>(&action)) {
      // This node's digest goes to a round (a follower's PREPARE_OK, the coordinator's
      // FLUSH): from now on the view's deliveries wait for the round's ends.
      if (std::holds_alternative<PrepareOk>(send->message)) holding_ = true;
      if (const auto* flush = std::get_if<Flush>(&send->message)) {
        holding_ = true;
        if (current_ && flush->digests.count(self_)) flush_ends_ = flush->ends;
      }
      fx.out.push_back(Outgoing{send->to, std::move(send->message)});
    } else if (auto* left = std::get_if<LocalLeft>(&action)) {
      fx.events.push_back(Left{left->member, left->reason});
      // Its broadcasts still unconfirmed will never be known to have reached everyone.
      // (In token order: a member's published ones came before those still waiting.)
      for (const auto& run : pending_) {
        if (run.member != left->member) continue;
        for (std::uint64_t i = 0; i < run.count; ++i) fx.events.push_back(Confirmed{run.token + i, false});
      }
      std::erase_if(pending_, [&](const Unconfirmed& run) { return run.member == left->member; });
      for (const auto& w : waiting_) {
        if (w.member != left->member) continue;
        waiting_bytes_ -= w.message.message.size();
        fx.events.push_back(Confirmed{w.token, false});
      }
      std::erase_if(waiting_, [&](const Waiting& w) { return w.member == left->member; });
    } else if (std::holds_alternative<PausePublishing>(action)) {
      paused_ = true;
    } else if (auto* resend = std::get_if<Retransmit>(&action)) {
      retransmit(*resend, fx);
    }
  }
  // A join admitted after waiting for reachability (ViewMachine's split_joins_) may start the
  // group: announced as join() does, so that a node starting it at the same time defers.
  const bool creating = machine_.creating().has_value();
  if (creating && !was_creating_) fx.announce = true;
  was_creating_ = creating;
  // A round given up without a view (its coordinator went, nobody took it on): nothing was
  // agreed, what was held is delivered. Not once this node answered the round's FLUSH: the
  // round may have installed (its INSTALL lost with the coordinator's link), and messages
  // published or delivered here in the old view would be missing at every member that went on
  // (the storm saw it). The view that settles it comes: that round's, announced when the link
  // returns, or another coordinator's round; or every other node of the round restarts, and
  // the machine gives that FLUSH up (ViewMachine::give_up_orphaned_flush).
  bool round_given_up = !machine_.changing() && !machine_.promised() && !machine_.flush_answered() &&
                        machine_.installed() && current_ && machine_.installed()->id == current_->id;
  if (holding_ && round_given_up) release_held(nullptr, fx);
  if (paused_ && round_given_up) {
    // The same for publishing: the view goes on, so do the broadcasts that waited for the
    // round (they waited for ever when a coordinator alone in its view gave up a round).
    paused_ = false;
    publish_waiting(fx);
  }
  // The machine installs views without an InstallView when no local member is in them (this
  // node's members left or were given up): the streams follow all the same.
  const auto& machine_view = machine_.installed();
  bool same = machine_view.has_value() == current_.has_value() && (!current_ || machine_view->id == current_->id);
  if (!same) {
    if (machine_view) {
      install(InstallView{*machine_view, {}, {}, false}, false, fx);
    } else {
      current_.reset();
      fail_unsettled(fx);
      // Out of the group: what was held back of the view it left is not this node's to deliver.
      held_.clear();
      holding_ = false;
      flush_ends_.reset();
      streams_.reset(self_, {});
      paused_ = false;
      fx.announce = true;
      fx.events.push_back(Installed{std::nullopt});
    }
  }
  deliver_into_new_view(fx);
}

void GroupNode::publish_waiting(Effects& fx) {
  std::deque<Waiting> waiting;
  waiting.swap(waiting_);
  waiting_bytes_ = 0;
  for (auto& w : waiting) {
    if (has(current_->members, w.member)) {
      publish(w.token, w.member, std::move(w.message), fx);
    } else {
      waiting_bytes_ += w.message.message.size();
      waiting_.push_back(std::move(w));  // its member is not in a view yet
    }
  }
}

void GroupNode::install(const InstallView& install, bool member_events, Effects& fx) {
  // The old view ends where the round said: what was held back up to there is delivered now.
  if (holding_) release_held(flush_ends_ ? &*flush_ends_ : nullptr, fx);
  flush_ends_.reset();
  // The flush gave every survivor what any of them held of the old view: this node's
  // broadcasts published in it are confirmed once those nodes' callbacks of it ran.
  const std::vector<Pid> old_members = current_ ? current_->members : std::vector<Pid>{};
  const InstalledView& v = install.view;
  settle_after_install(old_members, v, fx);
  // Nothing of this view is acknowledged before this node's callbacks of the old one ran.
  settled_ = !current_;
  if (current_) fx.events.push_back(Settle{v.id});
  streams_.reset(self_, nodes_of(v.members));
  // Numbers start again in the new view, and every node of it is told once that this node
  // settled the views before: also one whose old view was not this node's (it installed a
  // view this node never did, or joined in the last one), which may wait for this node all
  // the same (simulator, slow nodes: a publisher's confirmations waited for ever).
  told_.clear();
  processed_count_ = 0;
  current_ = v;
  paused_ = false;
  evicting_self_.clear();
  last_left_ = install.left;
  fx.announce = true;
  fx.events.push_back(Installed{v});
  for (const auto& member : v.members) {
    if (!member_events || member.node_atom() != self_) continue;
    if (has(install.joined, member)) {
      fx.events.push_back(Joined{member, v});
    } else {
      fx.events.push_back(ViewChanged{member, install});
    }
  }
  // Broadcasts that waited for this view, and data that came before it, go once the members
  // that left in this round are out (run(): after the machine's LocalLeft, which follows its
  // InstallView): delivered now, they reached a member leaving the view, which the scope
  // still counted in. Found by the simulator (seed 876977216263).
  deliver_into_new_view_ = true;
}

void GroupNode::deliver_into_new_view(Effects& fx) {
  if (!std::exchange(deliver_into_new_view_, false) || !current_) return;
  const InstalledView& v = *current_;
  publish_waiting(fx);
  for (auto it = early_.begin(); it != early_.end();) {
    if (it->first.first.number > v.id.number) {
      ++it;
      continue;
    }
    if (it->first.first == v.id) {
      for (const auto& data : it->second) on_data(it->first.second, it->first.second, data.first, data.messages, fx);
    }
    early_batches_ -= it->second.size();
    it = early_.erase(it);
  }
}

std::optional<Pid> GroupNode::publisher(NodeId stream, std::uint64_t member) const {
  if (!view()) return std::nullopt;
  for (const auto& pid : view()->members) {
    if (pid.node_atom() == stream && pid.id() == member) return pid;
  }
  return std::nullopt;
}

}  // namespace syn::detail::multicast
