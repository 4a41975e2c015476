// Control commands that write (refused unless NodeOptions::control_writes): register,
// unregister, join, leave, kill. They act as any code on the node would, through the API.
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

}  // namespace

void add_write_commands(ControlTable& table) {
  table.add("register", Access::write, "register{scope, name, pid, meta=null} -> {}", register_name);
  table.add("unregister", Access::write, "unregister{scope, name} -> {}", unregister_name);
  table.add("join", Access::write, "join{scope, group, pid, meta=null} -> {}", join);
  table.add("leave", Access::write, "leave{scope, group, pid} -> {}", leave);
  table.add("kill", Access::write, "kill{pid, reason=\"killed\"} -> {} (as Node::exit, to any node)", kill);
}

}  // namespace syn::detail
