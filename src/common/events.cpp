#include <syn/events.hpp>

namespace syn {

std::string_view to_string(Kind kind) {
  switch (kind) {
    case Kind::registry: return "registry";
    case Kind::groups: return "groups";
    case Kind::multicast: return "multicast";
  }
  return "?";
}

std::string_view to_string(Reason::Kind kind) {
  switch (kind) {
    case Reason::Kind::normal: return "normal";
    case Reason::Kind::process_exit: return "process_exit";
    case Reason::Kind::remote_scope_node_up: return "remote_scope_node_up";
    case Reason::Kind::remote_scope_node_down: return "remote_scope_node_down";
    case Reason::Kind::conflict_resolution: return "conflict_resolution";
    case Reason::Kind::undefined: return "undefined";
  }
  return "?";
}

std::string Reason::to_string() const {
  std::string out(syn::to_string(kind));
  if (kind == Kind::process_exit) out.append("(").append(exit_reason.dump()).append(")");
  if (kind == Kind::remote_scope_node_up || kind == Kind::remote_scope_node_down) {
    out.append("(").append(node).append(")");
  }
  return out;
}

// Every callback is optional: the defaults do nothing.
void EventHandler::on_process_registered(std::string_view, const Term&, const Pid&, const Term&, const Reason&) {}
void EventHandler::on_registry_process_updated(std::string_view, const Term&, const Pid&, const Term&, const Term&,
                                               const Reason&) {}
void EventHandler::on_process_unregistered(std::string_view, const Term&, const Pid&, const Term&, const Reason&) {}
void EventHandler::on_process_joined(std::string_view, const Term&, const Pid&, const Term&, const Reason&) {}
void EventHandler::on_group_process_updated(std::string_view, const Term&, const Pid&, const Term&, const Term&,
                                            const Reason&) {}
void EventHandler::on_process_left(std::string_view, const Term&, const Pid&, const Term&, const Reason&) {}
void EventHandler::on_node_up(const std::string&) {}
void EventHandler::on_node_down(const std::string&, const std::string&) {}
void EventHandler::on_scope_synced(Kind, std::string_view, const std::string&) {}

}  // namespace syn
