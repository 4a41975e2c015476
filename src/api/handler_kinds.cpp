// The registration of handler kinds: the one place that names them all. Adding a handler is a
// folder under src/, its value of syn::Kind, and one line here (docs/internals.md).
#include "api/handler_kinds.hpp"

#include "groups/groups_scope.hpp"
#include "multicast/multicast_scope.hpp"
#include "registry/registry_scope.hpp"

namespace syn::detail {

std::vector<HandlerKind> handler_kinds() {
  return {
      {Kind::registry, &make_handler<RegistryScope>},
      {Kind::groups, &make_handler<GroupsScope>},
      {Kind::multicast, &make_handler<MulticastScope>},
  };
}

}  // namespace syn::detail
