// The multicast handler's side for local members (SPEC 8.1.3, 8.3): joins, broadcasts with
// flow control, leaves, process deaths, the reads, and the strand tasks that run callbacks.
#include "common/clock.hpp"
#include "common/log.hpp"
#include "multicast/multicast_scope.hpp"
#include "scope/live_handle.hpp"
#include "node/scope_host.hpp"
#include "wire/term_codec.hpp"

#include <algorithm>
#include <chrono>
#include <limits>
#include <set>

namespace syn::detail {

namespace {

/// The handler whose callback runs on this thread (null when none): join and leave look at it
/// so as not to wait for the callbacks they would block.
thread_local const MulticastScope* running_scope = nullptr;

/// How long a blocked broadcast waits before it looks again at its member and the node (a
/// member that leaves or a node that stops wakes it anyway; this is the safety net).
constexpr std::chrono::milliseconds kFlowRecheck{200};

/// A broadcast this long after the last drain of the outbox is not part of a stream: the
/// calling thread may drain in the engine's place (a frame per message). Within it, the engine
/// drains, and batches. Below any round trip between two processes.
constexpr auto kQuietGap = std::chrono::microseconds(50);

}  // namespace

bool MulticastScope::in_callback() const { return Strands::current_key() != nullptr; }

void MulticastScope::post_callbacks(const std::string& key, std::vector<UniqueFunction> tasks) {
  if (tasks.empty()) return;
  auto run = [this, tasks = std::move(tasks)]() mutable {
    // The strands stop (and drop their tasks) before this handler goes: `this` is alive here.
    running_scope = this;
    for (auto& task : tasks) {
      try {
        task();
      } catch (const std::exception& e) { SYN_LOG(error, node_->name(), "multicast callback failed: ", e.what()); }
    }
    running_scope = nullptr;
  };
  // A simulated node runs every callback on its one thread, in the order it fixes (serial
  // per group all the same).
  if (node_->single_threaded()) {
    node_->post_callback(std::move(run));
  } else {
    strands_.post(key, std::move(run));
  }
}

// ---- join ----------------------------------------------------------------------------------

Result<std::shared_ptr<MemberState>> MulticastScope::join(const Term& group, const Pid& pid,
                                                          std::shared_ptr<MulticastHandler> handler,
                                                          MulticastOptions options) {
  auto member = begin_join(group, pid, std::move(handler), options);
  if (!member) return member;
  return await_join(*member);
}

Result<std::shared_ptr<MemberState>> MulticastScope::begin_join(const Term& group, const Pid& pid,
                                                                std::shared_ptr<MulticastHandler> handler,
                                                                MulticastOptions options) {
  if (!handler || !node_->fits_term(group)) return syn::unexpected(Errc::bad_argument);
  if (auto refused = write_refused(engine_, node_->stopped())) return syn::unexpected(*refused);
  std::string key = wire::canonical(group);
  // From a callback of this group here: waiting for the first view would block the very
  // strand that runs on_joined.
  if (running_scope == this && Strands::current_key() && *Strands::current_key() == key) {
    return syn::unexpected(Errc::bad_argument);
  }
  auto process = node_->find_local(pid);
  if (!process || !process->alive()) return syn::unexpected(Errc::not_alive);
  // A join right after its pid's Membership was destroyed (which leaves without waiting) is
  // the pattern of a member that restarts: it waits for that leave rather than answer `taken`
  // for a member that is on its way out. (A simulated node cannot wait: `taken`.)
  if (!node_->single_threaded()) {
    auto left_of_budget = await_leaving(key, pid, options.join_timeout);
    if (!left_of_budget) return syn::unexpected(left_of_budget.error());
    options.join_timeout = *left_of_budget;
    // What ended the old member may be this scope's removal or the node's stop.
    if (auto refused = write_refused(engine_, node_->stopped())) return syn::unexpected(*refused);
    if (stopping_.load()) return syn::unexpected(Errc::node_down);
  }
  auto member = std::make_shared<MemberState>(group, key, pid, std::move(handler), options);
  {
    MutexLock lock(members_mutex_);
    if (!members_.emplace(std::make_pair(key, pid), member).second) return syn::unexpected(Errc::taken);
  }
  // The scope may have gone since the check above: its members were dropped (drop_all, under
  // members_mutex_, after mark_removed) and its groups will not come back for this one.
  if (engine_.removed()) {
    forget(member);
    return syn::unexpected(Errc::invalid_scope);
  }
  if (!process->attach(this, key)) {
    forget(member);
    return syn::unexpected(Errc::not_alive);
  }
  on_group(key, &group, [this, member](Group& g, multicast::Micros now) {
    g.local[member->pid] = member;
    auto tick_group_after = [this, &member](std::chrono::milliseconds delay) {
      engine_.add_timer(delay + std::chrono::milliseconds(1), [weak = weak_from_this(), key = member->key] {
        if (auto self = weak.lock()) self->tick_group(key);
      });
    };
    // Should the group be new here, it starts after the creation delay: tick it then rather
    // than at the next periodic tick.
    tick_group_after(Group::creation_delay(node_->options()));
    // A view some of whose nodes are not reached yet may be one whose scope is still syncing
    // (a node just connected): the join waits for that to settle, within its own timeout. It
    // is ticked when that wait ends: the next periodic tick could come after the join's own
    // timeout, which would answer `timeout` where node_down is due.
    // (Halved before the conversion: a join_timeout of milliseconds::max() must not overflow.)
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(
        std::min(node_->options().view_change_timeout, member->options.join_timeout / 2));
    tick_group_after(std::chrono::duration_cast<std::chrono::milliseconds>(wait));
    return g.node.join(member->pid, now, now + wait.count());
  });
  return member;
}

Result<std::shared_ptr<MemberState>> MulticastScope::await_join(const std::shared_ptr<MemberState>& member) {
  const std::string& key = member->key;
  const Pid& pid = member->pid;
  MutexLock lock(member->mutex);
  // The timeout runs until its first view is installed here. From then on the other members
  // have seen it join: it waits for its on_joined (queued behind the group's callbacks on
  // this node) rather than answer `timeout` for a member that is in (SPEC 8.1.3).
  lock.wait_until(member->changed, deadline_after(member->options.join_timeout), [&] {
    member->mutex.assert_held();
    return member->phase != MemberState::Phase::joining || member->first_view_installed;
  });
  lock.wait(member->changed, [&] {
    member->mutex.assert_held();
    bool on_joined_due = member->phase == MemberState::Phase::joining && member->first_view_installed;
    return member->phase != MemberState::Phase::starting && !on_joined_due;  // on_joined ran: it is in
  });
  if (member->phase == MemberState::Phase::active) return member;
  bool timed_out = member->phase == MemberState::Phase::joining;
  if (timed_out) member->phase = MemberState::Phase::abandoned;  // no callback will run
  lock.unlock();
  forget(member);
  auto process = node_->find_local(pid);
  if (process) process->detach(this, key);
  if (!timed_out) {
    // Out before its first view: its process died meanwhile (SPEC 8.1.3: not_alive), or a node
    // of the view is cut off from this one, or this node stops (node_down).
    if (!stopping_.load() && (!process || !process->alive())) return syn::unexpected(Errc::not_alive);
    // Or this node left the scope meanwhile: its handles fail with invalid_scope (SPEC 4).
    if (!stopping_.load() && engine_.removed()) return syn::unexpected(Errc::invalid_scope);
    return syn::unexpected(Errc::node_down);
  }
  on_group(key, nullptr, [pid](Group& g, multicast::Micros now) { return g.node.leave(pid, LeaveReason::left, now); });
  return syn::unexpected(Errc::timeout);
}

Result<std::chrono::milliseconds> MulticastScope::await_leaving(const std::string& key, const Pid& pid,
                                                                std::chrono::milliseconds budget) {
  const auto start = SteadyClock::now();
  const auto deadline = deadline_after(budget, start);
  std::shared_ptr<MemberState> last_gone;
  for (;;) {
    std::shared_ptr<MemberState> old;
    {
      MutexLock lock(members_mutex_);
      auto it = members_.find(std::make_pair(key, pid));
      if (it == members_.end()) break;
      old = it->second;
    }
    // Left and still listed (a failed join forgets itself just after): the join gets its
    // answer from the emplace, without a second wait on it.
    if (old == last_gone) break;
    auto gone = [&] {
      old->mutex.assert_held();
      return old->phase == MemberState::Phase::left;  // (set once it is forgotten)
    };
    MutexLock lock(old->mutex);
    if (!gone() && !old->leave_asked && !old->out) return syn::unexpected(Errc::taken);  // a member that stays
    // As leave() does: past its deadline the leave goes out here alone (a coordinator that
    // does not answer would keep the member, and every join of its pid waiting, for ever).
    if (!lock.wait_until(old->changed, std::min(deadline, deadline_after(leave_deadline(), start)), gone)) {
      if (SteadyClock::now() >= deadline) return syn::unexpected(Errc::timeout);
      lock.unlock();
      give_up_leave(old);
      lock.lock();
      if (!lock.wait_until(old->changed, deadline, gone)) return syn::unexpected(Errc::timeout);
    }
    last_gone = old;
  }
  if (!last_gone) return budget;  // no wait
  if (SteadyClock::now() >= deadline) return syn::unexpected(Errc::timeout);
  return budget - std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
}

// ---- broadcast -----------------------------------------------------------------------------

Result<std::uint64_t> MulticastScope::queue_broadcast(const std::shared_ptr<MemberState>& member, const Term& message,
                                                      std::shared_ptr<std::promise<Result<void>>> confirmation,
                                                      std::optional<SteadyClock::time_point> deadline) {
  if (!member->may_publish()) return syn::unexpected(Errc::not_in_group);
  if (!node_->fits_term(message)) return syn::unexpected(Errc::bad_argument);
  std::string canonical = wire::canonical(message);
  std::size_t bytes = canonical.size();
  {
    MutexLock lock(flow_mutex_);
    const std::size_t limit = node_->options().multicast_max_in_flight;
    // Over the group's limit: wait for its confirmations (SPEC 8.3.3: it blocks while the
    // bytes held exceed the limit, so the message that crosses it goes, and the held bytes stay
    // under the limit plus one message). Each group has its own (API.md: bytes per group and
    // node): a member that holds back one group never blocks another.
    auto room = [&] {
      flow_mutex_.assert_held();
      auto it = in_flight_.find(member->key);
      std::size_t used = it == in_flight_.end() ? 0 : it->second;
      return used <= limit || stopped_;
    };
    // It cannot wait inside a callback (its own deliveries would wait for it), nor on a
    // simulated node (one thread runs the whole cluster): nothing is queued, `timeout`.
    if (!room() && (in_callback() || node_->single_threaded())) return syn::unexpected(Errc::timeout);
    while (!room()) {
      auto recheck = SteadyClock::now() + kFlowRecheck;
      // (confirmed_broadcast's timeout counts from its call, this wait included: SPEC 8.3.2.)
      if (deadline && *deadline <= SteadyClock::now()) return syn::unexpected(Errc::timeout);
      lock.wait_until(flow_changed_, deadline ? std::min(recheck, *deadline) : recheck, room);
      if (!member->may_publish()) return syn::unexpected(Errc::not_in_group);
    }
    // Flow stops when the node stops (node_down) or when it leaves the scope: then its members
    // are out of their groups, and a broadcast that waited for room gets not_in_group (SPEC 8.3.1).
    if (stopped_) return syn::unexpected(stopping_.load() ? Errc::node_down : Errc::not_in_group);
    in_flight_[member->key] += bytes;
  }
  // Broadcasts wait in one outbox that a single engine task drains: a burst of them goes out
  // as one Data frame per node (apply merges them), not one frame per message.
  bool quiet;
  {
    MutexLock lock(outbox_mutex_);
    // Checked again with the push, under the outbox's lock: a leave seals the member under it
    // before it drains the outbox, so a broadcast is either refused or drained before the leave.
    if (member->sealed.load(std::memory_order_relaxed)) {
      lock.unlock();
      release_bytes(member->key, bytes);
      return syn::unexpected(Errc::not_in_group);
    }
    outbox_.push_back(Queued{member, std::move(canonical), bytes, std::move(confirmation)});
    if (outbox_posted_) return bytes;
    outbox_posted_ = true;
    quiet = SteadyClock::now() - last_drained_ >= kQuietGap;
  }
  // A broadcast alone (a confirmed one, say) while the engine waits idle: this thread drains in
  // its place, and the engine's wake-up is spared on the publisher's side of the round trip.
  if (quiet && node_->run_if_engine_idle([this] {
        engine_thread_.assert_held();
        drain_outbox();
      })) {
    return bytes;
  }
  node_->post([weak = weak_from_this()] {
    if (auto self = weak.lock()) self->drain_outbox();
  });
  return bytes;
}

Result<void> MulticastScope::broadcast(const std::shared_ptr<MemberState>& member, const Term& message) {
  auto queued = queue_broadcast(member, message, nullptr);
  if (!queued) return syn::unexpected(queued.error());
  return {};
}

Result<std::future<Result<void>>> MulticastScope::confirmed(const std::shared_ptr<MemberState>& member,
                                                            const Term& message,
                                                            std::optional<SteadyClock::time_point> deadline) {
  auto promise = std::make_shared<std::promise<Result<void>>>();
  auto future = promise->get_future();
  auto queued = queue_broadcast(member, message, std::move(promise), deadline);
  if (!queued) return syn::unexpected(queued.error());
  return future;
}

void MulticastScope::drain_outbox(std::size_t limit) {
  engine_thread_.assert_held();
  std::vector<Queued> queued;
  {
    MutexLock lock(outbox_mutex_);
    last_drained_ = SteadyClock::now();
    std::size_t count = std::min(outbox_.size(), limit);
    queued.reserve(count);
    for (std::size_t i = 0; i < count; ++i) {
      queued.push_back(std::move(outbox_.front()));
      outbox_.pop_front();
    }
    // What is left goes in a later turn, after the frames and timers waiting now: a publisher
    // that outruns its peers (flow control allows megabytes in flight) never holds the engine
    // thread for long, and the effects of one batch stay small.
    outbox_posted_ = !outbox_.empty();
    if (outbox_posted_) {
      node_->post([weak = weak_from_this()] {
        if (auto self = weak.lock()) self->drain_outbox();
      });
    }
  }
  // Per group, in queue order; each group's effects carried out once. A burst comes from one
  // member mostly: its group and member are looked up once per run of its broadcasts.
  std::vector<std::string> order;
  std::map<std::string, multicast::Effects> effects;
  const MemberState* last = nullptr;
  Group* g = nullptr;
  multicast::Effects* fx = nullptr;
  bool in_group = false;
  for (auto& q : queued) {
    if (q.member.get() != last) {
      last = q.member.get();
      in_group = false;
      if (!groups_dropped_) {  // (the node left the scope: no group, and its members are out)
        g = &group(q.member->key);
        auto [it, fresh] = effects.try_emplace(q.member->key);
        if (fresh) order.push_back(q.member->key);
        fx = &it->second;
        in_group = g->local.count(q.member->pid) > 0;
      }
    }
    if (!in_group) {  // it left meanwhile
      release_bytes(q.member->key, q.bytes);
      if (q.confirmation) q.confirmation->set_value(syn::unexpected(Errc::not_in_group));
      continue;
    }
    std::uint64_t token = g->node.broadcast(q.member->pid, std::move(q.canonical), *fx);
    g->pending.add(token, q.bytes, std::move(q.confirmation));
  }
  for (const auto& key : order) { apply_or_log(key, group(key), std::move(effects[key])); }
}

void MulticastScope::release_bytes(const std::string& key, std::size_t bytes) {
  MutexLock lock(flow_mutex_);
  auto it = in_flight_.find(key);
  if (it == in_flight_.end()) return;
  it->second -= std::min(it->second, bytes);
  if (it->second == 0) in_flight_.erase(it);  // a group with nothing in flight takes no room
  flow_changed_.notify_all();
}

// ---- leave ---------------------------------------------------------------------------------

Result<void> MulticastScope::leave(const std::shared_ptr<MemberState>& member, bool wait) {
  {
    MutexLock lock(member->mutex);
    if (member->phase != MemberState::Phase::active && member->phase != MemberState::Phase::starting) {
      return syn::unexpected(Errc::not_in_group);
    }
    if (!member->leave_asked) {
      member->leave_asked = true;
      node_->post([weak = weak_from_this(), key = member->key, pid = member->pid] {
        if (auto self = weak.lock()) self->leave_after_outbox(key, pid, LeaveReason::left);
      });
    }
  }
  // From a callback of its own group, on_left runs after that callback: return at once.
  // While the node stops, its on_left comes from clear() (end_members), on this thread maybe.
  if (!wait || stopping_.load() ||
      (running_scope == this && Strands::current_key() && *Strands::current_key() == member->key)) {
    return {};
  }
  auto left = [&] {
    member->mutex.assert_held();
    return member->phase == MemberState::Phase::left;
  };
  MutexLock lock(member->mutex);
  // A leave is one view change. Should none come (the coordinator unreached while a round
  // keeps failing), the member goes out here after the deadline and its node keeps asking the
  // coordinator to take it out of the view: leave() never blocks for ever.
  if (!lock.wait_for(member->changed, leave_deadline(), left)) {
    lock.unlock();
    give_up_leave(member);
    lock.lock();
    lock.wait(member->changed, left);
  }
  return {};
}

void MulticastScope::give_up_leave(const std::shared_ptr<MemberState>& member) {
  on_group(member->key, nullptr,
           [pid = member->pid](Group& g, multicast::Micros now) { return g.node.give_up_leave(pid, now); });
}

std::chrono::milliseconds MulticastScope::leave_deadline() const {
  // A hold of a lost node (view_change_timeout), then a round (up to as long again).
  return 2 * node_->options().view_change_timeout;
}

void MulticastScope::on_process_exit(const Pid& pid, const Term&, std::vector<std::string> keys) {
  node_->post([weak = weak_from_this(), pid, keys = std::move(keys)] {
    auto self = weak.lock();
    if (!self) return;
    for (const auto& key : keys) self->leave_after_outbox(key, pid, LeaveReason::process_exit);
  });
}

void MulticastScope::leave_after_outbox(const std::string& key, const Pid& pid, LeaveReason reason) {
  engine_thread_.assert_held();
  seal(key, pid);
  drain_outbox(std::numeric_limits<std::size_t>::max());
  if (groups_dropped_) return;
  Group& g = group(key, nullptr);
  apply_or_log(key, g, g.node.leave(pid, reason, now()));
}

void MulticastScope::seal(const std::string& key, const Pid& pid) {
  std::shared_ptr<MemberState> member;
  {
    MutexLock lock(members_mutex_);
    auto it = members_.find(std::make_pair(key, pid));
    if (it == members_.end()) return;  // out already: it broadcasts nothing more
    member = it->second;
  }
  MutexLock lock(outbox_mutex_);
  member->sealed.store(true, std::memory_order_relaxed);
}

void MulticastScope::forget(const std::shared_ptr<MemberState>& member) {
  {
    MutexLock lock(members_mutex_);
    auto it = members_.find(std::make_pair(member->key, member->pid));
    if (it != members_.end() && it->second == member) members_.erase(it);
    ending_.erase(member);
  }
  MutexLock lock(flow_mutex_);
  flow_changed_.notify_all();  // a broadcast blocked for it gives up
}

// ---- reads ---------------------------------------------------------------------------------

std::optional<View> MulticastScope::view(const Term& group) const {
  std::string key = wire::canonical(group);
  MutexLock lock(members_mutex_);
  auto it = views_.find(key);
  if (it == views_.end()) return std::nullopt;
  return it->second;
}

std::vector<Term> MulticastScope::group_names() const {
  std::vector<Term> out;
  MutexLock lock(members_mutex_);
  const std::string* last = nullptr;
  for (const auto& [id, member] : members_) {
    if (last && *last == id.first) continue;  // sorted by group first
    last = &id.first;
    out.push_back(member->group);
  }
  return out;
}

// ---- shutdown ------------------------------------------------------------------------------

void MulticastScope::clear() {  // the engine has stopped: no other thread
  stopping_.store(true);
  strands_.stop();
  // Before the members' last on_left: what those callbacks call must not wait for an engine
  // that is gone (review): a broadcast waiting for room gets node_down, a leave returns.
  stop_flow();
  end_members();
  drop_all(Errc::node_down);
}

void MulticastScope::stop_flow() {
  MutexLock lock(flow_mutex_);
  stopped_ = true;
  flow_changed_.notify_all();
}

void MulticastScope::before_leaving_scope() {
  std::vector<std::shared_ptr<MemberState>> members;
  {
    MutexLock lock(members_mutex_);
    for (const auto& [id, member] : members_) members.push_back(member);
  }
  // Only the members in their group leave with a view change. A join still waiting for its
  // first view is not waited for: it fails with invalid_scope once the scope is gone (drop_all).
  std::vector<std::shared_ptr<MemberState>> leaving;
  for (const auto& member : members) {
    if (leave(member, false)) leaving.push_back(member);
  }
  if (in_callback()) return;  // its own strand would wait for itself
  auto deadline = std::chrono::steady_clock::now() + leave_deadline();
  for (const auto& member : leaving) {
    MutexLock lock(member->mutex);
    lock.wait_until(member->changed, deadline, [&] {
      member->mutex.assert_held();
      return member->phase == MemberState::Phase::left || member->phase == MemberState::Phase::abandoned;
    });
  }
}

std::uint64_t MulticastScope::leave_scope() {
  engine_thread_.assert_held();
  // Members still in: before_leaving_scope could not wait for their leave (it ran in a
  // callback) or gave up at its deadline. They end all the same, with on_left(left) on their
  // strand (SPEC 8.1.2), after the callback that runs there now.
  std::vector<std::shared_ptr<MemberState>> members;
  {
    MutexLock lock(members_mutex_);
    for (const auto& [id, member] : members_) members.push_back(member);
  }
  for (const auto& member : members) {
    if (!member->in_group()) continue;  // a join still waiting gets node_down from drop_all
    {
      MutexLock lock(members_mutex_);  // (out of members_, so drop_all leaves it to its task)
      auto it = members_.find(std::make_pair(member->key, member->pid));
      if (it == members_.end() || it->second != member) continue;  // ended meanwhile
      members_.erase(it);
      ending_.insert(member);
    }
    std::vector<UniqueFunction> tasks;
    tasks.push_back(ending_task(member, LeaveReason::left));
    post_callbacks(member->key, std::move(tasks));
  }
  // Its members left (SPEC 4): a confirmation still pending has the answer of a member that
  // left first, not_in_group (SPEC 8.3.2).
  drop_all(Errc::not_in_group);
  groups_dropped_ = true;
  return 0;
}

void MulticastScope::drop_all(Errc pending_confirmations) {
  stop_flow();
  for (auto& [key, g] : groups_) {
    for (auto& confirmation : g->pending.take_confirmations()) {
      confirmation->set_value(syn::unexpected(pending_confirmations));
    }
  }
  groups_.clear();
  std::map<std::pair<std::string, Pid>, std::shared_ptr<MemberState>> members;
  {
    MutexLock lock(members_mutex_);
    members.swap(members_);
    views_.clear();
  }
  for (auto& [id, member] : members) {
    MutexLock lock(member->mutex);
    if (member->phase != MemberState::Phase::abandoned) member->reason = LeaveReason::node_down;
    member->phase = MemberState::Phase::left;
    member->changed.notify_all();
  }
}

}  // namespace syn::detail
