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
    mailbox_.push(std::move(message));
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
  MutexLock lock(mutex_);
  return mailbox_.remove_if(
      [subscription](const Message& m) { return m.event && m.event->subscription == subscription; });
}

std::optional<Message> ProcessControl::receive(std::chrono::milliseconds timeout) {
  MutexLock lock(mutex_);
  ++receivers_waiting_;
  lock.wait_for(ready_, timeout, [&] {
    mutex_.assert_held();  // a wait's predicate runs locked
    return !mailbox_.empty() || !alive_.load(std::memory_order_relaxed);
  });
  --receivers_waiting_;
  if (!alive_.load(std::memory_order_relaxed) || mailbox_.empty()) return std::nullopt;
  return mailbox_.pop();
}

std::optional<Message> ProcessControl::try_receive() {
  MutexLock lock(mutex_);
  if (!alive_.load(std::memory_order_relaxed) || mailbox_.empty()) return std::nullopt;
  return mailbox_.pop();
}

std::size_t ProcessControl::pending() const {
  MutexLock lock(mutex_);
  return mailbox_.size();
}

std::pair<std::size_t, std::size_t> ProcessControl::mailbox_depth() const {
  MutexLock lock(mutex_);
  return {mailbox_.size(), mailbox_.high_water()};
}

bool ProcessControl::mark_dead(const Term& reason, std::vector<Attachment>* taken) {
  Mailbox dropped;
  {
    MutexLock lock(mutex_);
    if (!alive_.load(std::memory_order_relaxed)) return false;
    alive_.store(false, std::memory_order_release);
    exit_reason_ = reason;
    std::swap(dropped, mailbox_);
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
