#pragma once
// The public handles (Registry, Groups, Multicast) keep their scope's handler alive; once this
// node left the scope (Node::remove_node_from_scopes) they fail with invalid_scope (SPEC 4):
// their writes return it (see write_refused), their reads throw it (live_handler).
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

/// The handler behind a handle, for a read: throws Error{invalid_scope} once this node left
/// the scope.
template <class Handler>
Handler& live_handler(const std::shared_ptr<Handler>& handler) {
  if (handler->engine().removed()) {
    throw Error(Errc::invalid_scope, "this node left the scope '" + handler->scope() + "'");
  }
  return *handler;
}

}  // namespace syn::detail
