// The public multicast handles (Node::multicast, Multicast, Membership): they forward to the
// scope's MulticastScope.
#include "common/clock.hpp"
#include "multicast/multicast_scope.hpp"
#include "scope/live_handle.hpp"
#include "scope/scope_directory.hpp"

#include <syn/multicast.hpp>
#include <syn/node.hpp>

namespace syn {

Multicast Node::multicast(std::string_view scope) {
  return Multicast(scopes_->get<detail::MulticastScope>(Kind::multicast, scope));
}

// ---- Multicast -----------------------------------------------------------------------------

Result<Membership> Multicast::join(const Term& group, const Process& self, std::shared_ptr<MulticastHandler> handler,
                                   MulticastOptions options) {
  // The scope's handler now (added again since this handle was taken: its new one); the
  // membership keeps it.
  auto scope = detail::current_handler_owned(impl_);
  auto member = scope->join(group, self.pid(), std::move(handler), options);
  if (!member) return syn::unexpected(member.error());
  return Membership(std::move(scope), std::move(*member));
}

std::optional<View> Multicast::view(const Term& group) const { return detail::live_handler(impl_).view(group); }
std::vector<Term> Multicast::group_names() const { return detail::live_handler(impl_).group_names(); }
const std::string& Multicast::scope() const { return impl_->scope(); }

// ---- Membership ----------------------------------------------------------------------------

Membership::Membership(std::shared_ptr<detail::MulticastScope> scope, std::shared_ptr<detail::MemberState> state)
    : scope_(std::move(scope)), state_(std::move(state)) {}

Membership::Membership(Membership&&) noexcept = default;

Membership& Membership::operator=(Membership&& other) noexcept {
  if (this != &other) {
    if (state_) (void)scope_->leave(state_, false);
    scope_ = std::move(other.scope_);
    state_ = std::move(other.state_);
  }
  return *this;
}

Membership::~Membership() {
  if (state_) (void)scope_->leave(state_, false);  // not in the group any more: nothing to do
}

namespace {
const Term& no_group() {
  static const Term none;
  return none;
}
const Pid& no_pid() {
  static const Pid none;
  return none;
}
}  // namespace

const Term& Membership::group() const { return state_ ? state_->group : no_group(); }
const Pid& Membership::pid() const { return state_ ? state_->pid : no_pid(); }
bool Membership::active() const { return state_ && state_->in_group(); }

View Membership::view() const {
  if (!state_) return {};
  detail::MutexLock lock(state_->mutex);
  return state_->view;
}

Result<void> Membership::broadcast(Term message) {
  if (!state_) return syn::unexpected(Errc::not_in_group);
  return scope_->broadcast(state_, message);
}

Result<void> Membership::confirmed_broadcast(Term message, std::chrono::milliseconds timeout) {
  if (!state_) return syn::unexpected(Errc::not_in_group);
  // It would wait on its own deliveries (the async form may be called there: it waits for
  // nothing, and inside a callback a broadcast never waits for room).
  if (scope_->in_callback()) return syn::unexpected(Errc::bad_argument);
  // One deadline for the wait for room under flow control and the wait for confirmation.
  auto deadline = detail::deadline_after(timeout);
  auto future = scope_->confirmed(state_, message, deadline);
  if (!future) return syn::unexpected(future.error());
  if (future->wait_until(deadline) != std::future_status::ready) return syn::unexpected(Errc::timeout);
  return future->get();
}

std::future<Result<void>> Membership::confirmed_broadcast_async(Term message) {
  Result<std::future<Result<void>>> future = syn::unexpected(Errc::not_in_group);
  if (state_) future = scope_->confirmed(state_, message);
  if (future) return std::move(*future);
  std::promise<Result<void>> failed;
  failed.set_value(syn::unexpected(future.error()));
  return failed.get_future();
}

Result<void> Membership::leave() {
  if (!state_) return syn::unexpected(Errc::not_in_group);
  return scope_->leave(state_, true);
}

void Membership::set_handler(std::shared_ptr<MulticastHandler> handler) {
  if (!state_ || !handler) return;
  detail::MutexLock lock(state_->mutex);
  state_->handler = std::move(handler);
}

}  // namespace syn
