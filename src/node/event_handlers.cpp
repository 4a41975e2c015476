#include "node/event_handlers.hpp"

#include "common/log.hpp"

#include <exception>

namespace syn::detail {

template <class F>
void TeeHandler::both(F&& fn) {
  // The user's handler must not starve the tap (nor the tap the user's) by throwing.
  std::exception_ptr first_error;
  if (first_) {
    try {
      fn(*first_);
    } catch (...) { first_error = std::current_exception(); }
  }
  if (second_) fn(*second_);
  if (first_error) std::rethrow_exception(first_error);
}

void TeeHandler::on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                       const Reason& reason) {
  both([&](EventHandler& h) { h.on_process_registered(scope, name, pid, meta, reason); });
}
void TeeHandler::on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid,
                                             const Term& previous_meta, const Term& meta, const Reason& reason) {
  both([&](EventHandler& h) { h.on_registry_process_updated(scope, name, pid, previous_meta, meta, reason); });
}
void TeeHandler::on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                         const Reason& reason) {
  both([&](EventHandler& h) { h.on_process_unregistered(scope, name, pid, meta, reason); });
}
void TeeHandler::on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                                   const Reason& reason) {
  both([&](EventHandler& h) { h.on_process_joined(scope, group, pid, meta, reason); });
}
void TeeHandler::on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid,
                                          const Term& previous_meta, const Term& meta, const Reason& reason) {
  both([&](EventHandler& h) { h.on_group_process_updated(scope, group, pid, previous_meta, meta, reason); });
}
void TeeHandler::on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                                 const Reason& reason) {
  both([&](EventHandler& h) { h.on_process_left(scope, group, pid, meta, reason); });
}
void TeeHandler::on_node_up(const std::string& node) {
  both([&](EventHandler& h) { h.on_node_up(node); });
}
void TeeHandler::on_node_down(const std::string& node, const std::string& reason) {
  both([&](EventHandler& h) { h.on_node_down(node, reason); });
}
void TeeHandler::on_scope_synced(Kind kind, std::string_view scope, const std::string& node) {
  both([&](EventHandler& h) { h.on_scope_synced(kind, scope, node); });
}

EventHandlers::EventHandlers(std::shared_ptr<EventHandler> node_handler) {
  MutexLock lock(write_mutex_);
  user_node_ = std::move(node_handler);
  publish();
}

void EventHandlers::set_for_node(std::shared_ptr<EventHandler> handler) {
  MutexLock lock(write_mutex_);
  user_node_ = std::move(handler);
  publish();
}

void EventHandlers::set_for_scope(std::string_view scope, std::shared_ptr<EventHandler> handler) {
  MutexLock lock(write_mutex_);
  if (handler) {
    user_scopes_[std::string(scope)] = std::move(handler);
  } else if (auto it = user_scopes_.find(scope); it != user_scopes_.end()) {
    user_scopes_.erase(it);
  }
  publish();
}

void EventHandlers::set_tap(std::shared_ptr<EventHandler> tap) {
  MutexLock lock(write_mutex_);
  tap_ = std::move(tap);
  publish();
}

void EventHandlers::publish() {
  const auto tap = tap_;  // the lambda below is not seen to hold the lock
  auto with_tap = [&tap](const std::shared_ptr<EventHandler>& user) -> std::shared_ptr<EventHandler> {
    if (!tap) return user;
    if (!user) return tap;
    return std::make_shared<TeeHandler>(user, tap);
  };
  auto next = std::make_shared<Table>();
  next->node = with_tap(user_node_);
  for (const auto& [scope, handler] : user_scopes_) next->scopes.emplace(scope, with_tap(handler));
  const bool none = !next->node && next->scopes.empty();
  std::atomic_store(&table_, std::shared_ptr<const Table>(std::move(next)));
  none_.store(none, std::memory_order_release);
}

}  // namespace syn::detail
