#include "node/multi_calls.hpp"

#include "common/clock.hpp"
#include "common/spin_wait.hpp"
#include "node/multi_call_context.hpp"
#include "node/node_core.hpp"
#include "wire/term_codec.hpp"

#include <map>

namespace syn::detail {

/// One multi_call in flight on the calling node.
struct MultiCalls::Pending {
  Mutex mutex;
  std::condition_variable settled_all;
  std::vector<Member> members;                 // set before the call is shared, then read-only
  std::unordered_map<Pid, std::size_t> index;  // the same
  std::vector<std::optional<Term>> answers SYN_GUARDED_BY(mutex);
  std::vector<bool> settled SYN_GUARDED_BY(mutex);
  std::size_t remaining SYN_GUARDED_BY(mutex) = 0;

  void settle(const Pid& member, bool died, Term answer) {
    MutexLock lock(mutex);
    auto it = index.find(member);
    if (it == index.end() || settled[it->second]) return;  // unknown, or answered already
    settled[it->second] = true;
    if (!died) answers[it->second] = std::move(answer);
    if (--remaining == 0) settled_all.notify_all();
  }
};

std::shared_ptr<MultiCalls::Pending> MultiCalls::find(std::uint64_t id) {
  MutexLock lock(mutex_);
  auto it = pending_.find(id);
  return it == pending_.end() ? nullptr : it->second.lock();
}

MultiCallResult MultiCalls::call(std::vector<Member> members, const Term& message, std::chrono::milliseconds timeout) {
  MultiCallResult result;
  if (members.empty()) return result;
  const auto start = SteadyClock::now();
  auto deadline = deadline_after(timeout, start);  // (saturates: a timeout of milliseconds::max())
  auto pending = std::make_shared<Pending>();
  pending->members = std::move(members);
  {
    MutexLock lock(pending->mutex);  // not shared yet: for the analysis
    pending->answers.resize(pending->members.size());
    pending->settled.assign(pending->members.size(), false);
    pending->remaining = pending->members.size();
  }
  for (std::size_t i = 0; i < pending->members.size(); ++i) pending->index.emplace(pending->members[i].pid, i);
  std::uint64_t id;
  {
    MutexLock lock(mutex_);
    id = ++next_id_;
    pending_.emplace(id, pending);
  }

  std::string body = wire::canonical(message);
  std::weak_ptr<Pending> weak = pending;
  for (const auto& member : pending->members) {
    const Pid& pid = member.pid;
    if (node_.is_local(pid)) {
      deliver(pid, message, member.meta, [weak, pid](bool died, Term answer) {
        if (auto p = weak.lock()) p->settle(pid, died, std::move(answer));
      });
    } else if (!node_.is_connected(pid)) {
      pending->settle(pid, true, nullptr);
    } else {
      wire::OutBuffer out;
      wire::encode_mcall(out, id, {pid.creation(), pid.id()}, body, member.meta);
      node_.engine().send_bytes(pid.node_atom(), out.release());
    }
  }

  {
    SpinWait::maybe_spin(start, deadline, [&] {
      MutexLock lock(pending->mutex);
      return pending->remaining == 0;
    });
    MutexLock lock(pending->mutex);
    const bool settled_all = lock.wait_until(pending->settled_all, deadline, [&] {
      pending->mutex.assert_held();  // a wait's predicate runs locked
      return pending->remaining == 0;
    });
    SpinWait::record(start, settled_all);
    for (std::size_t i = 0; i < pending->members.size(); ++i) {
      if (pending->answers[i]) {
        result.replies.emplace_back(pending->members[i], std::move(*pending->answers[i]));
      } else {
        result.bad_replies.push_back(pending->members[i]);
      }
    }
    // Late answers are dropped: mark everything settled.
    pending->settled.assign(pending->members.size(), true);
  }
  MutexLock lock(mutex_);
  pending_.erase(id);
  return result;
}

void MultiCalls::deliver(const Pid& member, Term body, Term member_meta, std::function<void(bool, Term)> answer) {
  auto process = node_.find_local(member);
  if (!process) {
    answer(true, nullptr);
    return;
  }
  auto context = std::make_shared<MultiCallContext>();
  context->member_meta = std::move(member_meta);
  context->max_reply_bytes = node_.options().max_term_bytes;
  auto monitor_ref = std::make_shared<std::atomic<std::uint64_t>>(0);
  // The message may outlive this node (a member keeps it): reach the monitors through a weak
  // reference.
  std::weak_ptr<NodeCore> weak_node = node_.weak_from_this();
  auto stop_watching = [weak_node, monitor_ref] {
    if (auto node = weak_node.lock()) node->monitors().demonitor(monitor_ref->load());
  };
  context->send_reply = [stop_watching, answer](Term reply) {
    stop_watching();
    answer(false, std::move(reply));
  };
  context->on_abandoned = [stop_watching, answer] {
    stop_watching();
    answer(true, nullptr);
  };
  // Watch the member until it answers: dying first makes a bad reply now, not at the timeout.
  std::weak_ptr<MultiCallContext> weak_context = context;
  monitor_ref->store(node_.monitors().monitor(member, [weak_context, answer](const Pid&, const Term&) {
    auto c = weak_context.lock();
    if (!c || !c->replied.exchange(true)) answer(true, nullptr);
  }));
  if (!process->deliver(Message{std::move(body), std::move(context)}, process)) {
    // Dead already; the monitor reports it (noproc) unless it was just cancelled.
  }
}

void MultiCalls::on_request(std::uint32_t caller, const wire::MCall& request) {
  if (request.to.creation != node_.creation()) {
    node_.send_to_peer(caller, [&](wire::OutBuffer& out) {
      wire::encode_mcall_reply(out, request.call_id, request.to, true, nullptr);
    });
    return;
  }
  Pid member = Pid::from_atom(node_.atom(), request.to.creation, request.to.id);
  std::uint64_t call_id = request.call_id;
  wire::LocalPid to = request.to;
  // The answer may come after this node stopped (a member keeps the message): a weak reference.
  std::weak_ptr<NodeCore> weak_node = node_.weak_from_this();
  deliver(member, request.body, request.member_meta, [weak_node, caller, call_id, to](bool died, Term answer) {
    auto node = weak_node.lock();
    if (!node) return;
    wire::OutBuffer out;
    wire::encode_mcall_reply(out, call_id, to, died, answer);
    node->engine().send_bytes(caller, out.release());
  });
}

void MultiCalls::on_reply(std::uint32_t from, const wire::MCallReply& reply) {
  auto pending = find(reply.call_id);
  if (!pending) return;  // finished: a late answer is dropped
  pending->settle(Pid::from_atom(from, reply.member.creation, reply.member.id), reply.died, reply.answer);
}

void MultiCalls::on_peer_down(std::uint32_t atom) {
  std::vector<std::shared_ptr<Pending>> active;
  {
    MutexLock lock(mutex_);
    for (auto& [id, weak] : pending_) {
      if (auto p = weak.lock()) active.push_back(std::move(p));
    }
  }
  for (auto& p : active) {
    std::vector<Pid> gone;
    for (const auto& m : p->members) {
      if (m.pid.node_atom() == atom) gone.push_back(m.pid);
    }
    for (const auto& pid : gone) p->settle(pid, true, nullptr);
  }
}

}  // namespace syn::detail
