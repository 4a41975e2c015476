#pragma once
// The state behind a Subscription (Groups::monitor / monitor_scope). Events are delivered on
// the dispatcher thread while holding `mutex`; cancel() takes the same mutex, so once it
// returns no callback is running or will run (a callback that cancels its own subscription
// holds the mutex already: it is recursive).
#include "node/process_control.hpp"

#include <syn/groups.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace syn::detail {

class GroupsScope;

struct SubscriptionState {
  std::function<void(const GroupEvent&)> on_event;
  std::weak_ptr<GroupsScope> scope;
  std::string group_key;  ///< the group; empty for a scope-wide subscription
  bool scope_wide = false;
  /// A mailbox subscription: the subscriber process (its events go to its mailbox, and the
  /// subscription ends when it dies) and this subscription's id among them; else null and 0.
  std::shared_ptr<ProcessControl> subscriber;
  std::uint64_t id = 0;

  std::recursive_mutex mutex;
  /// Written under `mutex`; read without it by Subscription::active().
  std::atomic<bool> active{true};

  /// Dispatcher thread.
  void deliver(const GroupEvent& event) {
    std::lock_guard lock(mutex);
    if (active.load(std::memory_order_relaxed)) on_event(event);
  }

  /// Stops delivery; once it returns no callback runs (see above). A mailbox subscription's
  /// events still waiting in the subscriber's mailbox are dropped.
  void deactivate() {
    {
      std::lock_guard lock(mutex);
      active.store(false, std::memory_order_release);
    }
    if (subscriber) subscriber->drop_subscription_events(id);
  }
};

}  // namespace syn::detail
