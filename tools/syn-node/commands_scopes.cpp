// Scope commands: joining and leaving scopes, and looking at their subclusters.
#include "commands.hpp"
#include "scope_terms.hpp"

namespace syn_node {

namespace {

syn::Kind kind_of(const Args& args) {
  auto kind = args.string("kind");
  if (kind == "registry") return syn::Kind::registry;
  if (kind == "groups") return syn::Kind::groups;
  if (kind == "multicast") return syn::Kind::multicast;
  throw CommandError("field 'kind' must be \"registry\", \"groups\" or \"multicast\"", "bad_argument");
}

}  // namespace

SYN_NODE_COMMAND(add_scopes, "add_scopes{scopes: [name...]} -> {} (idempotent)") {
  ctx.node().add_node_to_scopes(args.strings("scopes"));
  return {};
}

SYN_NODE_COMMAND(remove_scopes,
                 "remove_scopes{scopes: [name...]} -> {} (Node::remove_node_from_scopes: leaves them while running; "
                 "unknown ones are skipped)") {
  ctx.node().remove_node_from_scopes(args.strings("scopes"));
  return {};
}

SYN_NODE_COMMAND(subcluster,
                 "subcluster{kind: \"registry\"|\"groups\"|\"multicast\", scope} -> {nodes: [name...]} (the other "
                 "nodes of that handler's subcluster, up now)") {
  try {
    return {{"nodes", ctx.node().subcluster_nodes(kind_of(args), args.string("scope"))}};
  } catch (const syn::Error& e) { rethrow_as_errc(e); }
}

}  // namespace syn_node
