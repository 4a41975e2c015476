#pragma once
// The handler kinds every node runs in each of its scopes.
#include "scope/scope_handler.hpp"

#include <vector>

namespace syn::detail {

/// One entry per Kind, in the order of the Kind values.
std::vector<HandlerKind> handler_kinds();

}  // namespace syn::detail
