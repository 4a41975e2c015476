// Mailbox subscriptions (SPEC 4, from OTP pg): Groups::monitor with a subscriber process puts
// each event in that process's mailbox as a Message (group_event() non-null), in the order
// applied, among its other messages. The subscription ends when the subscriber dies: it is
// watched like a membership, through an attachment of the process (ProcessControl::attach)
// under a key no group key can be (0xc1, a byte MessagePack never uses, then the id).
#include "groups/groups_scope.hpp"
#include "node/subscription_event.hpp"

#include <cstring>

namespace syn::detail {

namespace {

constexpr char kSubscriptionKeyTag = '\xc1';

std::string subscription_key(std::uint64_t id) {
  std::string key(1 + sizeof id, kSubscriptionKeyTag);
  std::memcpy(key.data() + 1, &id, sizeof id);
  return key;
}

}  // namespace

bool is_subscription_key(std::string_view key) {
  return key.size() == 1 + sizeof(std::uint64_t) && key[0] == kSubscriptionKeyTag;
}

std::shared_ptr<SubscriptionState> GroupsScope::mailbox_state(const Process& subscriber) {
  auto state = std::make_shared<SubscriptionState>();
  state->subscriber = subscriber.control();
  state->id = next_subscription_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  // The state owns the subscriber's control block, and the callback lives in the state.
  state->on_event = [control = state->subscriber.get(), id = state->id](const GroupEvent& event) {
    if (!control) return;
    Message message;
    message.event = std::make_shared<const SubscriptionEvent>(SubscriptionEvent{event, id});
    control->deliver(std::move(message));  // dropped when dead: the exit ends the subscription
  };
  return state;
}

Subscription GroupsScope::watch_subscriber(Subscription subscription, const std::shared_ptr<SubscriptionState>& state) {
  {
    MutexLock lock(mailbox_subscriptions_mutex_);
    mailbox_subscriptions_[state->id] = state;
  }
  // After subscribing: a subscriber dying from here on is seen by on_process_exit; one dead
  // already (or no process at all) ends the subscription now.
  if (!state->subscriber || !state->subscriber->attach(this, subscription_key(state->id))) {
    unsubscribe(state);
    state->deactivate();
  }
  return subscription;
}

Subscription GroupsScope::monitor(const Term& group, const Process& subscriber, std::vector<Member>* current) {
  auto state = mailbox_state(subscriber);
  return watch_subscriber(subscribe_group(group, state, current), state);
}

Subscription GroupsScope::monitor_scope(const Process& subscriber, std::map<Term, std::vector<Member>>* current) {
  auto state = mailbox_state(subscriber);
  return watch_subscriber(subscribe_scope(state, current), state);
}

void GroupsScope::forget_subscriber(const SubscriptionState& state) {
  {
    MutexLock lock(mailbox_subscriptions_mutex_);
    mailbox_subscriptions_.erase(state.id);
  }
  state.subscriber->detach(this, subscription_key(state.id));
}

void GroupsScope::end_subscriptions_of_dead(const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    if (!is_subscription_key(key)) continue;
    std::uint64_t id = 0;
    std::memcpy(&id, key.data() + 1, sizeof id);
    std::shared_ptr<SubscriptionState> state;
    {
      MutexLock lock(mailbox_subscriptions_mutex_);
      auto it = mailbox_subscriptions_.find(id);
      if (it == mailbox_subscriptions_.end()) continue;
      state = it->second.lock();
    }
    if (!state) continue;
    unsubscribe(state);
    state->deactivate();
  }
}

}  // namespace syn::detail
