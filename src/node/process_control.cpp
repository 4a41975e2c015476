#include "node/process_control.hpp"

#include "common/clock.hpp"
#include "common/spin_wait.hpp"
#include "common/wake_batch.hpp"

#include "node/scope_host.hpp"
#include "node/subscription_event.hpp"

#include <algorithm>
#include <cassert>
#include <cstdint>

namespace syn::detail {

void notify_exit_observers(const Pid& pid, const Term& reason, std::vector<Attachment> attachments) {
  // Group the keys by observer, keeping their order, then tell each observer once.
  while (!attachments.empty()) {
    ExitObserver* observer = attachments.front().observer;
    std::vector<std::string> keys;
    auto split = std::stable_partition(attachments.begin(), attachments.end(),
                                       [&](const Attachment& a) { return a.observer != observer; });
    for (auto it = split; it != attachments.end(); ++it) keys.push_back(std::move(it->key));
    attachments.erase(split, attachments.end());
    observer->on_process_exit(pid, reason, std::move(keys));
  }
}

ProcessControl::~ProcessControl() { delete taken_.load(std::memory_order_acquire); }

std::optional<Term> ProcessControl::exit_reason() const {
  MutexLock lock(mutex_);
  return exit_reason_;
}

bool ProcessControl::deliver(Message message, const std::shared_ptr<ProcessControl>* owner) {
  {
    MutexLock lock(mutex_);
    if (!alive_.load(std::memory_order_relaxed)) return false;
    mailbox_.push(std::move(message), taken_count_.load(std::memory_order_relaxed));
    // Seen by a spinning receiver. Written only here, under mutex_: a plain store, without
    // the locked instruction of fetch_add, on a path a publish to 1000 takes 1000 times.
    deliveries_.store(static_cast<std::uint8_t>(deliveries_.load(std::memory_order_relaxed) + 1),
                      std::memory_order_release);
    if (receivers_waiting_ == 0) return true;
  }
  // A receiver waits. On the engine thread applying a frame, it is woken once the frame is
  // applied (WakeBatch): it then takes the frame's messages in one go.
  auto* batch = WakeBatch::current();
  if (batch && owner) {
    batch->defer(ready_, [owner] { return std::shared_ptr<const void>(*owner); });
  } else {
    ready_.notify_one();
  }
  return true;
}

std::size_t ProcessControl::drop_subscription_events(std::uint64_t subscription) {
  auto of_subscription = [subscription](const Message& m) { return m.event && m.event->subscription == subscription; };
  MutexLock lock(mutex_);
  std::size_t dropped = 0;
  if (Taken* t = taken_.load(std::memory_order_acquire)) {
    MutexLock taken(t->mutex);
    dropped += t->messages.remove_if(of_subscription);
    set_taken_count(*t);
  }
  return dropped + mailbox_.remove_if(of_subscription);
}

void ProcessControl::set_taken_count(const Taken& t) {
  taken_count_.store(static_cast<std::uint32_t>(t.messages.size()), std::memory_order_relaxed);
}

std::optional<Message> ProcessControl::take_one() {
  if (taken_count_.load(std::memory_order_relaxed) == 0) return std::nullopt;
  Taken* t = taken_.load(std::memory_order_acquire);
  if (!t) return std::nullopt;
  MutexLock taken(t->mutex);
  if (t->messages.empty() || !alive_.load(std::memory_order_acquire)) return std::nullopt;
  auto out = t->messages.pop();
  set_taken_count(*t);
  return out;
}

std::optional<Message> ProcessControl::take_oldest() {
  if (taken_count_.load(std::memory_order_relaxed) == 0) {
    if (mailbox_.empty()) return std::nullopt;
    // A few messages are taken from here, one lock each, as ever: the taken part pays off for
    // a stream, not for a consumer that sweeps many processes holding a few messages each
    // (one more object per process to touch).
    if (mailbox_.size() < kMoveAsideAtLeast) return mailbox_.pop();
  }
  Taken* t = taken_.load(std::memory_order_relaxed);  // only ever set under mutex_
  if (!t) {
    t = new Taken;
    taken_.store(t, std::memory_order_release);
  }
  MutexLock taken(t->mutex);
  if (t->messages.empty()) {
    if (mailbox_.empty()) return std::nullopt;
    mailbox_.move_all_to(t->messages);
  }
  auto out = t->messages.pop();
  set_taken_count(*t);
  // Another receiver of this process may wait for what is left (it waits on `ready_` only).
  if (!t->messages.empty() && receivers_waiting_ > 0) ready_.notify_one();
  return out;
}

std::optional<Message> ProcessControl::receive(std::chrono::milliseconds timeout) {
  if (auto message = take_one()) return message;
  const auto start = SteadyClock::now();
  // Saturated: a timeout of milliseconds::max() waits for ever (now + max would overflow into
  // the past, and the receive would return at once).
  const auto deadline = deadline_after(timeout, start);
  bool alone = false;
  auto message = wait_for_message(start, deadline, alone);
  SpinWait::record(start, message && alone);
  return message;
}

std::optional<Message> ProcessControl::wait_for_message(TimePoint start, TimePoint deadline, bool& alone) {
  MutexLock lock(mutex_);
  if (SpinWait::enabled() && mailbox_.empty() && taken_count_.load(std::memory_order_relaxed) == 0 &&
      alive_.load(std::memory_order_relaxed)) {
    // Spin until a delivery, the end of the window or the deadline; a spinning receiver is not
    // among receivers_waiting_, so the delivering thread wakes nobody.
    const auto seen = deliveries_.load(std::memory_order_relaxed);
    lock.unlock();
    SpinWait::maybe_spin(start, deadline, [&] {
      return deliveries_.load(std::memory_order_acquire) != seen || !alive_.load(std::memory_order_relaxed) ||
             taken_count_.load(std::memory_order_relaxed) > 0;
    });
    lock.lock();
  }
  for (;;) {
    assert(receivers_waiting_ < UINT16_MAX);
    ++receivers_waiting_;
    lock.wait_until(ready_, deadline, [&] {
      mutex_.assert_held();  // a wait's predicate runs locked
      return !mailbox_.empty() || taken_count_.load(std::memory_order_relaxed) > 0 ||
             !alive_.load(std::memory_order_relaxed);
    });
    --receivers_waiting_;
    if (!alive_.load(std::memory_order_relaxed)) return std::nullopt;
    if (auto message = take_oldest()) {
      alone = mailbox_.empty() && taken_count_.load(std::memory_order_relaxed) == 0;
      return message;
    }
    // Woken for a message that another receiver took first (take_one needs no mutex_): wait
    // on, until the deadline.
    if (SteadyClock::now() >= deadline) return std::nullopt;
  }
}

std::optional<Message> ProcessControl::try_receive() {
  if (auto message = take_one()) return message;
  MutexLock lock(mutex_);
  if (!alive_.load(std::memory_order_relaxed)) return std::nullopt;
  return take_oldest();
}

std::size_t ProcessControl::pending() const { return mailbox_depth().first; }

std::size_t ProcessControl::receivers_waiting() const {
  MutexLock lock(mutex_);
  return receivers_waiting_;
}

std::pair<std::size_t, std::size_t> ProcessControl::mailbox_depth() const {
  MutexLock lock(mutex_);
  std::size_t taken_size = 0;
  if (Taken* t = taken_.load(std::memory_order_acquire)) {
    MutexLock taken(t->mutex);
    taken_size = t->messages.size();
  }
  return {mailbox_.size() + taken_size, mailbox_.high_water()};
}

bool ProcessControl::mark_dead(const Term& reason, std::vector<Attachment>* taken) {
  Mailbox dropped, dropped_taken;
  {
    MutexLock lock(mutex_);
    if (!alive_.load(std::memory_order_relaxed)) return false;
    alive_.store(false, std::memory_order_release);
    exit_reason_ = reason;
    std::swap(dropped, mailbox_);
    if (Taken* t = taken_.load(std::memory_order_acquire)) {
      MutexLock taken_lock(t->mutex);
      std::swap(dropped_taken, t->messages);
      taken_count_.store(0, std::memory_order_relaxed);
    }
    if (taken) taken->swap(attachments_);
    attachments_.clear();
  }
  ready_.notify_all();
  return true;
}

void ProcessControl::require_fits(const Term& term, const char* what) const {
  if (auto node = node_.lock()) node->require_fits(term, what);
}

bool ProcessControl::kill(const Term& reason) {
  auto node = node_.lock();
  if (!node) return mark_dead(reason, nullptr);  // the node is gone, and its tables with it
  // Bracketed by death_begins/ends so that lookups know to check liveness meanwhile
  // (NodeCore::deaths_in_progress).
  node->death_begins();
  struct EndDeath {
    ScopeHost& node;
    ~EndDeath() { node.death_ends(); }
  } end_death{*node};
  std::vector<Attachment> attachments;
  if (!mark_dead(reason, &attachments)) return false;
  node->on_local_exit(pid_, reason, std::move(attachments));
  return true;
}

void ProcessControl::kill_silently(const Term& reason) {
  // The entries of this process stay until the node clears its tables: lookups must check
  // liveness from now on, so this death never ends.
  if (auto node = node_.lock()) node->death_begins();
  mark_dead(reason, nullptr);
}

bool ProcessControl::attach(ExitObserver* observer, std::string key) {
  MutexLock lock(mutex_);
  if (!alive_.load(std::memory_order_relaxed)) return false;
  attachments_.push_back({observer, std::move(key)});
  return true;
}

void ProcessControl::detach(ExitObserver* observer, std::string_view key) {
  MutexLock lock(mutex_);
  for (auto it = attachments_.begin(); it != attachments_.end(); ++it) {
    if (it->observer == observer && it->key == key) {
      attachments_.erase(it);
      return;
    }
  }
}

}  // namespace syn::detail
