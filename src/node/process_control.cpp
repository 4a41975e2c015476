#include "node/process_control.hpp"

#include "common/wake_batch.hpp"

#include "node/scope_host.hpp"
#include "node/subscription_event.hpp"

#include <algorithm>

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

std::optional<Term> ProcessControl::exit_reason() const {
  MutexLock lock(mutex_);
  return exit_reason_;
}

bool ProcessControl::deliver(Message message) {
  {
    MutexLock lock(mutex_);
    if (!alive_.load(std::memory_order_relaxed)) return false;
    mailbox_.push(std::move(message), taken_count_.load(std::memory_order_relaxed));
    if (receivers_waiting_ == 0) return true;
  }
  // A receiver waits. On the engine thread applying a frame, it is woken once the frame is
  // applied (WakeBatch): it then takes the frame's messages in one go.
  if (auto* batch = WakeBatch::current()) {
    batch->defer(ready_, [this] { return shared_from_this(); });
  } else {
    ready_.notify_one();
  }
  return true;
}

std::size_t ProcessControl::drop_subscription_events(std::uint64_t subscription) {
  auto of_subscription = [subscription](const Message& m) { return m.event && m.event->subscription == subscription; };
  MutexLock lock(mutex_);
  MutexLock taken(taken_mutex_);
  auto dropped = taken_.remove_if(of_subscription) + mailbox_.remove_if(of_subscription);
  taken_count_.store(taken_.size(), std::memory_order_relaxed);
  return dropped;
}

std::optional<Message> ProcessControl::take_one() {
  MutexLock taken(taken_mutex_);
  if (taken_.empty() || !alive_.load(std::memory_order_acquire)) return std::nullopt;
  auto out = taken_.pop();
  taken_count_.store(taken_.size(), std::memory_order_relaxed);
  return out;
}

std::optional<Message> ProcessControl::take_all_and_one() {
  MutexLock taken(taken_mutex_);
  if (taken_.empty()) {
    if (mailbox_.empty()) return std::nullopt;
    mailbox_.move_all_to(taken_);
  }
  auto out = taken_.pop();
  taken_count_.store(taken_.size(), std::memory_order_relaxed);
  // Another receiver of this process may wait for what is left (it waits on `ready_` only).
  if (!taken_.empty() && receivers_waiting_ > 0) ready_.notify_one();
  return out;
}

std::optional<Message> ProcessControl::receive(std::chrono::milliseconds timeout) {
  if (auto message = take_one()) return message;
  MutexLock lock(mutex_);
  ++receivers_waiting_;
  lock.wait_for(ready_, timeout, [&] {
    mutex_.assert_held();  // a wait's predicate runs locked
    return !mailbox_.empty() || taken_count_.load(std::memory_order_relaxed) > 0 ||
           !alive_.load(std::memory_order_relaxed);
  });
  --receivers_waiting_;
  if (!alive_.load(std::memory_order_relaxed)) return std::nullopt;
  return take_all_and_one();
}

std::optional<Message> ProcessControl::try_receive() {
  if (auto message = take_one()) return message;
  MutexLock lock(mutex_);
  if (!alive_.load(std::memory_order_relaxed)) return std::nullopt;
  return take_all_and_one();
}

std::size_t ProcessControl::pending() const {
  MutexLock lock(mutex_);
  MutexLock taken(taken_mutex_);
  return mailbox_.size() + taken_.size();
}

int ProcessControl::receivers_waiting() const {
  MutexLock lock(mutex_);
  return receivers_waiting_;
}

std::pair<std::size_t, std::size_t> ProcessControl::mailbox_depth() const {
  MutexLock lock(mutex_);
  MutexLock taken(taken_mutex_);
  return {mailbox_.size() + taken_.size(), mailbox_.high_water()};
}

bool ProcessControl::mark_dead(const Term& reason, std::vector<Attachment>* taken) {
  Mailbox dropped, dropped_taken;
  {
    MutexLock lock(mutex_);
    if (!alive_.load(std::memory_order_relaxed)) return false;
    alive_.store(false, std::memory_order_release);
    exit_reason_ = reason;
    std::swap(dropped, mailbox_);
    {
      MutexLock taken_lock(taken_mutex_);
      std::swap(dropped_taken, taken_);
      taken_count_.store(0, std::memory_order_relaxed);
    }
    if (taken) taken->swap(attachments_);
    attachments_.clear();
  }
  ready_.notify_all();
  return true;
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
