#pragma once
// One local member of a multicast group, as the API threads and the member's callbacks share
// it: its handler, the view its callbacks showed last, and where it is in its life. The engine
// thread never touches it but to queue callbacks; the callbacks (one group's at a time, on its
// strand) and the API calls take its mutex.
#include "common/thread_safety.hpp"

#include <syn/multicast.hpp>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <string>
#include <utility>

namespace syn::detail {

struct MemberState {
  /// Where a member is in its life.
  enum class Phase {
    joining,    ///< join() waits for its first view
    starting,   ///< on_joined runs
    active,     ///< in the group
    left,       ///< on_left ran (or the join failed): nothing more
    abandoned,  ///< join() gave up (timeout): no callback will run
  };

  MemberState(Term group_term, std::string group_key, Pid member, std::shared_ptr<MulticastHandler> first_handler,
              MulticastOptions member_options)
      : group(std::move(group_term)),
        key(std::move(group_key)),
        pid(member),
        options(member_options),
        handler(std::move(first_handler)) {}

  const Term group;
  const std::string key;  ///< the group's canonical bytes
  const Pid pid;
  const MulticastOptions options;

  mutable Mutex mutex;
  std::condition_variable changed;  ///< phase moved
  std::shared_ptr<MulticastHandler> handler SYN_GUARDED_BY(mutex);
  View view SYN_GUARDED_BY(mutex);
  Phase phase SYN_GUARDED_BY(mutex) = Phase::joining;
  bool leave_asked SYN_GUARDED_BY(mutex) = false;  ///< leave() or the destructor asked once
  /// Its first view is installed on its node, its on_joined queued behind the group's other
  /// callbacks: the join waits for it whatever its timeout (the other members saw it join).
  bool first_view_installed SYN_GUARDED_BY(mutex) = false;
  LeaveReason reason SYN_GUARDED_BY(mutex) = LeaveReason::left;

  /// Its on_left is due (it runs next, or now): it publishes nothing more (SPEC 8.3.1: a
  /// member out of the group gets not_in_group, also from its own on_left).
  bool out SYN_GUARDED_BY(mutex) = false;

  /// True while it is a member (active, or its on_joined runs).
  bool in_group() const {
    MutexLock lock(mutex);
    return phase == Phase::active || phase == Phase::starting;
  }
  /// Its leave is under way (asked, or its process died): the outbox takes nothing more from
  /// it. Set and tested under MulticastScope's outbox mutex, with the push of a broadcast and
  /// before the leave drains the outbox: every broadcast that returned ok is drained before
  /// the leave, none is lost (SPEC 8.2.5). (Atomic: may_publish reads it without that mutex.)
  std::atomic<bool> sealed{false};

  /// True while it may publish: in the group, its leave neither asked nor under way, its
  /// on_left not due.
  bool may_publish() const {
    MutexLock lock(mutex);
    return (phase == Phase::active || phase == Phase::starting) && !out && !leave_asked &&
           !sealed.load(std::memory_order_relaxed);
  }
};

}  // namespace syn::detail
