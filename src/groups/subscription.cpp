// The public Subscription handle.
#include <syn/groups.hpp>

#include "groups/groups_scope.hpp"
#include "groups/subscription_state.hpp"

namespace syn {

Subscription& Subscription::operator=(Subscription&& other) noexcept {
  if (this != &other) {
    cancel();
    state_ = std::move(other.state_);
  }
  return *this;
}

Subscription::~Subscription() { cancel(); }

void Subscription::cancel() {
  if (!state_) return;
  auto state = std::move(state_);
  if (auto scope = state->scope.lock()) scope->unsubscribe(state);
  // Waits for a callback of this subscription running on the dispatcher (unless we are that
  // callback: the mutex is recursive); events queued later see it inactive.
  state->deactivate();
}

bool Subscription::active() const { return state_ != nullptr && state_->active.load(std::memory_order_acquire); }

}  // namespace syn
