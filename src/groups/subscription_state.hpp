#pragma once
// The state behind a Subscription (Groups::monitor / monitor_scope). Events are delivered on
// the dispatcher thread while holding `mutex`; cancel() takes the same mutex, so once it
// returns no callback is running or will run (a callback that cancels its own subscription
// holds the mutex already: it is recursive).
#include <syn/groups.hpp>

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

  std::recursive_mutex mutex;
  bool active = true;

  /// Dispatcher thread.
  void deliver(const GroupEvent& event) {
    std::lock_guard lock(mutex);
    if (active) on_event(event);
  }
};

}  // namespace syn::detail
