#pragma once
// What a mailbox subscription (Groups::monitor with a subscriber process) puts in the
// subscriber's mailbox: the event, and which subscription sent it, so that cancelling the
// subscription can take back the events still queued.
#include <syn/groups.hpp>

#include <cstdint>

namespace syn::detail {

struct SubscriptionEvent {
  GroupEvent event;
  std::uint64_t subscription = 0;
};

}  // namespace syn::detail
