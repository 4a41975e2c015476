// The multicast handler's engine-thread side: groups, frames from peers, peers coming and
// going, timers, and carrying out what each GroupNode call returns.
#include "multicast/multicast_scope.hpp"

#include "common/log.hpp"
#include "node/scope_host.hpp"
#include "wire/multicast_messages.hpp"
#include "wire/term_codec.hpp"

#include <algorithm>
#include <cstdlib>
#include <type_traits>
#include <variant>

// See view_machine.cpp: GCC 12's -Wmaybe-uninitialized misfires on variants of vectors at -O2.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

namespace syn::detail {

namespace {

/// The most threads running multicast callbacks at once (a callback that blocks in a join
/// holds one; the rest go on).
constexpr std::size_t kCallbackThreads = 16;

/// A snapshot chunk holds announcements up to about this many bytes.
constexpr std::size_t kSnapshotChunkBytes = 64 * 1024;

/// How often the groups' timers are checked: a fraction of the view change timeout.
std::chrono::milliseconds tick_period(const NodeOptions& options) {
  return std::clamp(options.view_change_timeout / 5, std::chrono::milliseconds(10), std::chrono::milliseconds(500));
}

View to_view(const Term& group, const wire::multicast::InstalledView& v) { return View{group, v.id, v.members}; }

/// Runs one of a member's callbacks: what it throws is logged, and counts as handled (SPEC 8:
/// a message whose on_message threw counts as received).
template <class Callback>
void run_callback(const MemberState& member, const char* what, Callback&& callback) {
  try {
    callback();
  } catch (const std::exception& e) {
    SYN_LOG(error, member.pid.to_string(), what, " threw: ", e.what());
  } catch (...) { SYN_LOG(error, member.pid.to_string(), what, " threw a non-standard exception"); }
}

}  // namespace

MulticastScope::MulticastScope(const ScopeContext& context)
    : node_(context.host),
      trace_(std::getenv("SYN_MULTICAST_TRACE") != nullptr),
      engine_(context, Kind::multicast, *this),
      engine_thread_(*context.host),
      strands_(kCallbackThreads) {}

MulticastScope::~MulticastScope() { strands_.stop(); }

void MulticastScope::end_members() {
  std::vector<std::shared_ptr<MemberState>> members;
  {
    MutexLock lock(members_mutex_);
    for (const auto& [id, member] : members_) members.push_back(member);
    members.insert(members.end(), ending_.begin(), ending_.end());  // their tasks were dropped
  }
  for (const auto& member : members) {
    LeaveReason reason = LeaveReason::node_down;
    {
      MutexLock lock(member->mutex);
      if (member->phase != MemberState::Phase::active) continue;  // on_joined never ran, or on_left did
      if (member->leave_asked) reason = LeaveReason::left;        // (leave(), or its Membership destroyed)
    }
    ending_task(member, reason)();
  }
}

UniqueFunction MulticastScope::ending_task(std::shared_ptr<MemberState> member, LeaveReason reason) {
  return [weak = weak_from_this(), member = std::move(member), reason] {
    std::shared_ptr<MulticastHandler> handler;
    {
      MutexLock lock(member->mutex);
      // Ended already, or ending now on another thread (a node stopped from this member's own
      // on_left): on_left runs once, and nothing after it.
      if (member->phase == MemberState::Phase::left || member->out) return;
      member->reason = reason;
      member->out = true;
      if (member->phase == MemberState::Phase::active) handler = member->handler;  // (else never in)
    }
    if (handler) run_callback(*member, "on_left", [&] { handler->on_left(reason); });
    // Out of this node's members before `left` wakes leave() or a join of the same pid
    // (group_names, taken).
    if (auto self = weak.lock()) self->forget(member);
    MutexLock lock(member->mutex);
    member->phase = MemberState::Phase::left;
    member->changed.notify_all();
  };
}

multicast::Micros MulticastScope::now() const { return node_->monotonic_micros(); }

bool MulticastScope::settles_views(NodeId node) const {
  engine_thread_.assert_held();
  return node_->peer_protocol(node) >= wire::multicast::settled_views_since;
}

MulticastScope::Group& MulticastScope::group(const std::string& key, const Term* term) {
  engine_thread_.assert_held();
  auto it = groups_.find(key);
  if (it != groups_.end()) return *it->second;
  Term name = term ? *term : wire::decode_canonical(key);
  auto created = std::make_unique<Group>(node_->atom(), node_->options(), std::move(name));
  if (!ticking_) {
    ticking_ = true;
    engine_.add_timer(tick_period(node_->options()), [weak = weak_from_this()] {
      if (auto self = weak.lock()) self->tick();
    });
  }
  Group& g = *groups_.emplace(key, std::move(created)).first->second;
  // The group hears of the peers up now as it would of a peer coming up.
  for (const auto& name : engine_.member_names()) {
    NodeId node = intern_node_name(name);
    apply_or_log(key, g, g.node.peer_up(node, now(), node_->up_creation(node), settles_views(node)));
  }
  return g;
}

void MulticastScope::on_group(const std::string& key, const Term* term,
                              MoveOnlyFunction<multicast::Effects(Group&, multicast::Micros)> fn) {
  node_->post([weak = weak_from_this(), key, term = term ? std::optional<Term>(*term) : std::nullopt,
               fn = std::move(fn)]() mutable {
    auto self = weak.lock();
    if (!self) return;
    self->engine_thread_.assert_held();
    if (self->groups_dropped_) return;
    Group& g = self->group(key, term ? &*term : nullptr);
    self->apply_or_log(key, g, fn(g, self->now()));
  });
}

void MulticastScope::tick() {
  engine_thread_.assert_held();
  if (engine_.removed()) return;  // the node left the scope: its groups are gone
  for (auto& [key, g] : groups_) { apply_or_log(key, *g, g->node.tick(now())); }
  engine_.add_timer(tick_period(node_->options()), [weak = weak_from_this()] {
    if (auto self = weak.lock()) self->tick();
  });
}

void MulticastScope::tick_group(const std::string& key) {
  engine_thread_.assert_held();
  auto it = groups_.find(key);
  if (it == groups_.end()) return;
  apply_or_log(key, *it->second, it->second->node.tick(now()));
}

// ---- frames and peers ----------------------------------------------------------------------

void MulticastScope::on_replicated(std::uint32_t from, const msgpack::object& payload) {
  engine_thread_.assert_held();
  receive(from, payload);
}

void MulticastScope::apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) {
  engine_thread_.assert_held();
  // A chunk is an array of announcements (empty when the peer has no view of any group).
  if (chunk.type != msgpack::type::ARRAY) throw wire::DecodeError("multicast snapshot chunk is not an array");
  for (std::uint32_t i = 0; i < chunk.via.array.size; ++i) receive(from, chunk.via.array.ptr[i]);
}

void MulticastScope::receive(std::uint32_t from, const msgpack::object& payload) {
  auto envelope = wire::multicast::decode_envelope(payload);
  if (!node_->accepts(from, envelope.group)) return;  // a group name over the limits: dropped, counted
  Group& g = group(envelope.group);
  std::string error = apply(envelope.group, g, g.node.receive(from, envelope.body, now()));
  // A gap, a stranger's message: the link is reset (a node down for the group), SPEC 8.5.2.
  if (!error.empty()) throw wire::StreamBroken("multicast: " + error);
}

void MulticastScope::on_call(std::uint32_t, std::uint64_t, const msgpack::object&) {
  throw wire::DecodeError("multicast: no calls");
}

void MulticastScope::write_snapshot_part(std::size_t, const std::function<void(std::string_view)>& emit_chunk) {
  engine_thread_.assert_held();
  // The announcements of the groups this node holds a view of, in chunks of bounded size.
  std::vector<std::string> announcements;
  std::size_t bytes = 0;
  auto emit = [&] {
    wire::OutBuffer out;
    msgpack::packer<wire::OutBuffer>(out).pack_array(static_cast<std::uint32_t>(announcements.size()));
    for (const auto& a : announcements) out.append(a);
    emit_chunk(out.view());
    announcements.clear();
    bytes = 0;
  };
  for (const auto& [key, g] : groups_) {
    if (!g->node.view()) continue;
    wire::OutBuffer out;
    wire::multicast::encode(out, wire::multicast::Envelope{key, g->node.announcement()});
    bytes += out.size();
    announcements.push_back(out.release());
    if (bytes >= kSnapshotChunkBytes) emit();
  }
  if (!announcements.empty()) emit();
}

void MulticastScope::purge_nodes(const std::vector<std::uint32_t>& nodes) {
  engine_thread_.assert_held();
  for (auto node : nodes) {
    if (trace_) SYN_LOG(info, node_->name(), "multicast: peer down ", node_name_of(node));
    for (auto& [key, g] : groups_) { apply_or_log(key, *g, g->node.peer_down(node, now())); }
  }
}

void MulticastScope::on_member_added(std::uint32_t node) {
  engine_thread_.assert_held();
  if (trace_) SYN_LOG(info, node_->name(), "multicast: peer up ", node_name_of(node));
  std::uint32_t creation = node_->up_creation(node);
  const bool settles = settles_views(node);
  for (auto& [key, g] : groups_) { apply_or_log(key, *g, g->node.peer_up(node, now(), creation, settles)); }
}

void MulticastScope::send(NodeId to, const std::string& key, const wire::multicast::Body& body) {
  wire::OutBuffer out;
  wire::multicast::encode(out, wire::multicast::Envelope{key, body});
  engine_.send_to(to, out.view());
}

void MulticastScope::report(std::string key, CallbacksRan ran) {
  // Every confirmed broadcast waits for this on each member's node: when the engine waits
  // idle, this thread does it in its place (a wake-up of the engine less on that path), and
  // the acknowledgement goes at once.
  if (node_->run_if_engine_idle([&] {
        engine_thread_.assert_held();
        record_report(key, ran);
        send_owed_acks();
      })) {
    return;
  }
  node_->post([weak = weak_from_this(), key = std::move(key), ran = std::move(ran)] {
    auto self = weak.lock();
    if (!self) return;
    self->engine_thread_.assert_held();
    self->record_report(key, ran);
    if (self->acks_posted_) return;
    // Once per engine turn: the reports of this turn go in one acknowledgement per node. (At
    // the end of this turn instead, through a hook the engine ran before its flush, confirmed
    // broadcasts took 10-15% longer, alternated over 6 rounds; not understood.)
    self->acks_posted_ = true;
    self->node_->post([weak] {
      if (auto s = weak.lock()) s->send_owed_acks();
    });
  });
}

void MulticastScope::record_report(const std::string& key, const CallbacksRan& ran) {
  engine_thread_.assert_held();
  auto it = groups_.find(key);
  if (it == groups_.end()) return;
  auto& node = it->second->node;
  if (ran.settled) node.settled(ran.view);
  for (const auto& [stream, seq] : ran.upto) node.processed(ran.view, stream, seq);
  acks_owed_.insert(key);
}

void MulticastScope::send_owed_acks() {
  engine_thread_.assert_held();
  acks_posted_ = false;
  for (const auto& key : std::exchange(acks_owed_, {})) {
    auto it = groups_.find(key);
    if (it != groups_.end()) apply(key, *it->second, it->second->node.send_acks());
  }
}

// ---- carrying out effects ------------------------------------------------------------------

void MulticastScope::apply_or_log(const std::string& key, Group& g, multicast::Effects fx) {
  std::string error = apply(key, g, std::move(fx));
  if (!error.empty()) SYN_LOG(warn, node_->name(), "multicast: ", error);
}

std::string MulticastScope::apply(const std::string& key, Group& g, multicast::Effects fx) {
  engine_thread_.assert_held();
  if (trace_) {
    for (const auto& out : fx.out) {
      std::string what = out.body.index() == 0 ? "protocol #" + std::to_string(std::get<0>(out.body).index())
                                               : "data-path #" + std::to_string(out.body.index());
      SYN_LOG(info, node_->name(), "multicast ", g.term.dump(), " -> ", node_name_of(out.to), ": ", what);
    }
    for (const auto& event : fx.events) {
      SYN_LOG(info, node_->name(), "multicast ", g.term.dump(), " event #", event.index());
    }
    SYN_LOG(info, node_->name(), "multicast ", g.term.dump(), " machine: ", g.node.machine().describe());
  }
  for (const auto& out : fx.out) send(out.to, key, out.body);
  if (fx.announce) {
    wire::OutBuffer out;
    wire::multicast::encode(out, wire::multicast::Envelope{key, g.node.announcement()});
    engine_.broadcast(out.view());
  }

  // Messages for the members in the view, in batches between the other events.
  struct Item {
    Pid from;
    std::string message;
    ViewId view;
    NodeId stream;
    std::uint64_t seq;
  };
  std::vector<UniqueFunction> tasks;
  std::vector<Item> batch;
  std::vector<Pid> strangers;  // in a view here without a local member (a join given up)
  std::size_t released = 0;    // bytes of confirmed broadcasts (flow control), released once
  auto flush_batch = [&] {
    if (batch.empty()) return;
    std::vector<std::shared_ptr<MemberState>> recipients;
    for (const auto& [pid, member] : g.in_view) recipients.push_back(member);
    tasks.push_back(
        [weak = weak_from_this(), key, recipients = std::move(recipients), items = std::exchange(batch, {})]() mutable {
          std::map<ViewId, std::map<NodeId, std::uint64_t>> upto;
          for (auto& item : items) {
            Term message = wire::decode_canonical(item.message);
            for (const auto& member : recipients) {
              std::shared_ptr<MulticastHandler> handler;
              {
                MutexLock lock(member->mutex);
                if (member->phase != MemberState::Phase::active) continue;
                if (!member->options.receive_own && item.from == member->pid) continue;
                handler = member->handler;
              }
              run_callback(*member, "on_message", [&] { handler->on_message(item.from, message); });
            }
            auto& seq = upto[item.view][item.stream];
            seq = std::max(seq, item.seq);
          }
          if (auto self = weak.lock()) {
            for (auto& [view, streams] : upto) self->report(key, CallbacksRan{view, std::move(streams)});
          }
        });
  };

  for (auto& event : fx.events) {
    if (auto* d = std::get_if<multicast::Delivered>(&event)) {
      batch.push_back(Item{d->from, std::move(d->message), d->view, d->stream, d->seq});
      continue;
    }
    flush_batch();
    if (auto* joined = std::get_if<multicast::Joined>(&event)) {
      auto it = g.local.find(joined->member);
      if (it == g.local.end()) {
        strangers.push_back(joined->member);
        continue;
      }
      auto member = it->second;
      g.in_view[joined->member] = member;
      {
        MutexLock lock(member->mutex);
        member->first_view_installed = true;
      }
      tasks.push_back([member, view = to_view(g.term, joined->view)] {
        std::shared_ptr<MulticastHandler> handler;
        {
          MutexLock lock(member->mutex);
          if (member->phase != MemberState::Phase::joining) return;  // given up
          member->phase = MemberState::Phase::starting;
          member->view = view;
          handler = member->handler;
        }
        run_callback(*member, "on_joined", [&] { handler->on_joined(view); });
        MutexLock lock(member->mutex);
        // (A node stopped from this very on_joined has ended it: it stays left.)
        if (member->phase == MemberState::Phase::starting) member->phase = MemberState::Phase::active;
        member->changed.notify_all();
      });
    } else if (auto* changed = std::get_if<multicast::ViewChanged>(&event)) {
      auto it = g.in_view.find(changed->member);
      if (it == g.in_view.end()) continue;
      ViewChange change{to_view(g.term, changed->change.view), changed->change.joined, changed->change.left,
                        changed->change.merged};
      tasks.push_back([member = it->second, change = std::move(change)] {
        std::shared_ptr<MulticastHandler> handler;
        {
          MutexLock lock(member->mutex);
          if (member->phase != MemberState::Phase::active) return;
          member->view = change.view;
          handler = member->handler;
        }
        run_callback(*member, "on_view", [&] { handler->on_view(change); });
      });
    } else if (auto* left = std::get_if<multicast::Left>(&event)) {
      auto it = g.local.find(left->member);
      if (it == g.local.end()) continue;
      auto member = it->second;
      g.local.erase(it);
      g.in_view.erase(left->member);
      if (auto process = node_->find_local(left->member)) process->detach(this, key);
      tasks.push_back(ending_task(member, left->reason));
    } else if (auto* confirmed = std::get_if<multicast::Confirmed>(&event)) {
      auto done = g.pending.finish(confirmed->token);
      if (!done) continue;
      released += done->bytes;
      if (auto promise = std::move(done->confirmation)) {
        bool ok = confirmed->ok;
        if (ok && confirmed->acknowledged) {
          // Every member's callback ran, this node's too: the caller goes on now, without a
          // hop through the strand (a confirmed broadcast's latency is a chain of such hops).
          promise->set_value(Result<void>());
        } else {
          tasks.push_back([promise, ok] {
            promise->set_value(ok ? Result<void>() : Result<void>(syn::unexpected(Errc::not_in_group)));
          });
        }
      }
    } else if (auto* settle = std::get_if<multicast::Settle>(&event)) {
      // After the callbacks of every message before it: this node may acknowledge the view.
      tasks.push_back([weak = weak_from_this(), key, view = settle->view] {
        if (auto self = weak.lock()) self->report(key, CallbacksRan{view, {}, true});
      });
    } else if (auto* installed = std::get_if<multicast::Installed>(&event)) {
      MutexLock lock(members_mutex_);
      bool local = installed->view && std::any_of(installed->view->members.begin(), installed->view->members.end(),
                                                  [&](const Pid& pid) { return node_->is_local(pid); });
      if (local) {
        views_[key] = to_view(g.term, *installed->view);
      } else {
        views_.erase(key);
      }
    }
  }
  flush_batch();
  if (released > 0) release_bytes(key, released);
  // Broadcasts leave for the other nodes before the callbacks here wake a thread: on 2 cores
  // the woken strand would take the core the network needs, and a confirmed broadcast waits
  // for the other nodes. A view change keeps the end of the turn: its local member waits
  // first (a join), and the rounds gather one frame per node.
  bool data_out = std::any_of(fx.out.begin(), fx.out.end(), [](const multicast::Outgoing& o) {
    return std::holds_alternative<wire::multicast::Data>(o.body);
  });
  if (data_out && !tasks.empty()) node_->flush_peers();
  post_callbacks(key, std::move(tasks));
  for (const auto& pid : strangers) {
    // A member this node gave up on (its join timed out) made it in after all: out again.
    std::string error = apply(key, g, g.node.leave(pid, LeaveReason::left, now()));
    if (!error.empty()) fx.protocol_error += error;
  }
  return fx.protocol_error;
}

}  // namespace syn::detail
