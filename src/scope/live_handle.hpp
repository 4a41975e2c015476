#pragma once
// The public handles (Registry, Groups, Multicast) keep their scope's handler alive; once this
// node left the scope (Node::remove_node_from_scopes) they fail with invalid_scope (SPEC 4):
// their writes return it (see write_refused), their reads throw it (live_handler). Once it
// added the scope again, they act through its new handler (current_handler), as a handle
// taken then would: a scope is a name, as in syn, and adding it again works for every handle.
#include "scope/scope_engine.hpp"

#include <syn/errors.hpp>

#include <memory>
#include <optional>
#include <string>

namespace syn::detail {

/// Why a write on `engine`'s scope cannot start: the node stopped, or it left the scope.
inline std::optional<Errc> write_refused(const ScopeEngine& engine, bool node_stopped) {
  if (node_stopped) return Errc::node_down;
  if (engine.removed()) return Errc::invalid_scope;
  return std::nullopt;
}

/// The handler a handle acts through: its own while this node is in the scope; after the node
/// left the scope and added it again, the newest handler of its kind (each one that left
/// keeps its successor alive, ScopeEngine::set_successor); a removed one while the scope is
/// not added again, whose writes answer invalid_scope. No reference count moves: lookups stay
/// lock-free and shared-nothing.
template <class Handler>
Handler& current_handler(const std::shared_ptr<Handler>& handler) {
  Handler* h = handler.get();
  while (h->engine().removed()) {
    auto* next = h->engine().successor();
    if (next == nullptr) break;
    h = static_cast<Handler*>(next);
  }
  return *h;
}

/// The same, owned (for what outlives the call, such as a Membership).
template <class Handler>
std::shared_ptr<Handler> current_handler_owned(const std::shared_ptr<Handler>& handler) {
  std::shared_ptr<Handler> h = handler;
  while (h->engine().removed()) {
    auto next = h->engine().successor_owned();
    if (!next) break;
    h = std::static_pointer_cast<Handler>(std::move(next));
  }
  return h;
}

/// The handler behind a handle, for a read (current_handler): throws Error{invalid_scope}
/// while this node is out of the scope.
template <class Handler>
Handler& live_handler(const std::shared_ptr<Handler>& handler) {
  Handler& h = current_handler(handler);
  if (h.engine().removed()) { throw Error(Errc::invalid_scope, "this node left the scope '" + h.scope() + "'"); }
  return h;
}

}  // namespace syn::detail
