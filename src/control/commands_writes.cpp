// Control commands that write (refused unless NodeOptions::control_writes): register,
// unregister, join, leave, kill, add_scopes, remove_scopes. They act as any code on the node would, through the API.
#include "control/control_commands.hpp"

namespace syn::detail {

namespace {

void check(const Result<void>& result) {
  if (!result) throw_errc(result.error());
}

Term register_name(Node& node, const ControlArgs& args) {
  check(registry_of(node, args)
            .register_name(args.term("name"), args.pid("pid"), args.has("meta") ? args.term("meta") : Term()));
  return {};
}

Term unregister_name(Node& node, const ControlArgs& args) {
  check(registry_of(node, args).unregister_name(args.term("name")));
  return {};
}

Term join(Node& node, const ControlArgs& args) {
  check(groups_of(node, args).join(args.term("group"), args.pid("pid"), args.has("meta") ? args.term("meta") : Term()));
  return {};
}

Term leave(Node& node, const ControlArgs& args) {
  check(groups_of(node, args).leave(args.term("group"), args.pid("pid")));
  return {};
}

Term kill(Node& node, const ControlArgs& args) {
  node.exit(args.pid("pid"), args.has("reason") ? args.term("reason") : Term("killed"));
  return {};
}

/// The "scopes" field: a non-empty array of scope names.
std::vector<std::string> scope_names(const ControlArgs& args) {
  const Term& list = args.term("scopes");
  if (!list.is_array() || list.empty())
    throw Error(Errc::bad_argument, "field 'scopes' must be an array of scope names");
  std::vector<std::string> out;
  for (const auto& scope : list) {
    if (!scope.is_string() || scope.get<std::string>().empty()) {
      throw Error(Errc::bad_argument, "field 'scopes' must hold non-empty strings");
    }
    out.push_back(scope.get<std::string>());
  }
  return out;
}

Term add_scopes(Node& node, const ControlArgs& args) {
  node.add_node_to_scopes(scope_names(args));
  return {{"scopes", node.node_scopes()}};
}

Term remove_scopes(Node& node, const ControlArgs& args) {
  node.remove_node_from_scopes(scope_names(args));
  return {{"scopes", node.node_scopes()}};
}

}  // namespace

void add_write_commands(ControlTable& table) {
  table.add("register", Access::write, "register{scope, name, pid, meta=null} -> {}", register_name);
  table.add("unregister", Access::write, "unregister{scope, name} -> {}", unregister_name);
  table.add("join", Access::write, "join{scope, group, pid, meta=null} -> {}", join);
  table.add("leave", Access::write, "leave{scope, group, pid} -> {}", leave);
  table.add("kill", Access::write, "kill{pid, reason=\"killed\"} -> {} (as Node::exit, to any node)", kill);
  table.add("add_scopes", Access::write,
            "add_scopes{scopes: [name...]} -> {scopes: [name...]} (Node::add_node_to_scopes; the node's scopes after)",
            add_scopes);
  table.add("remove_scopes", Access::write,
            "remove_scopes{scopes: [name...]} -> {scopes: [name...]} (Node::remove_node_from_scopes: this node's "
            "names and memberships there go, everywhere; the node's scopes after)",
            remove_scopes);
}

}  // namespace syn::detail
