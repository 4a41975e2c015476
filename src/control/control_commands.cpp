// The control table, request dispatch and the helpers the commands share.
#include "control/control_commands.hpp"

#include <cstdio>
#include <cstdlib>
#include <exception>

namespace syn::detail {

// ---- ControlArgs ----------------------------------------------------------------------------

const Term& ControlArgs::term(const std::string& key) const {
  auto it = request_.find(key);
  if (it == request_.end()) throw ControlError("missing field '" + key + "'", "bad_argument");
  return *it;
}

std::string ControlArgs::string(const std::string& key) const {
  const auto& value = term(key);
  if (!value.is_string()) throw ControlError("field '" + key + "' must be a string", "bad_argument");
  return value.get<std::string>();
}

std::optional<std::string> ControlArgs::optional_string(const std::string& key) const {
  if (!has(key) || request_.at(key).is_null()) return std::nullopt;
  return string(key);
}

std::int64_t ControlArgs::integer_or(const std::string& key, std::int64_t fallback) const {
  if (!has(key)) return fallback;
  const auto& value = term(key);
  if (!value.is_number_integer()) throw ControlError("field '" + key + "' must be an integer", "bad_argument");
  return value.get<std::int64_t>();
}

bool ControlArgs::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& value = term(key);
  if (!value.is_boolean()) throw ControlError("field '" + key + "' must be true or false", "bad_argument");
  return value.get<bool>();
}

Pid ControlArgs::pid(const std::string& key) const {
  auto text = string(key);
  auto pid = Pid::parse(text);
  if (!pid) throw ControlError("field '" + key + "' is not a pid: '" + text + "'", "bad_argument");
  return *pid;
}

// ---- the table ------------------------------------------------------------------------------

void ControlTable::add(const char* name, Access access, const char* usage, ControlHandler handler) {
  Entry entry{ControlCommand{name, access == Access::write, usage}, handler};
  if (!entries_.emplace(name, std::move(entry)).second) {
    std::fprintf(stderr, "syn: control command '%s' is defined twice\n", name);
    std::abort();
  }
}

const ControlTable::Entry* ControlTable::find(const std::string& name) const {
  auto it = entries_.find(name);
  return it == entries_.end() ? nullptr : &it->second;
}

const ControlTable& control_table() {
  static const ControlTable table = [] {
    ControlTable t;
    add_cluster_commands(t);
    add_entry_commands(t);
    add_write_commands(t);
    return t;
  }();
  return table;
}

// ---- shared helpers -------------------------------------------------------------------------

Registry registry_of(Node& node, const ControlArgs& args) { return node.registry(args.string("scope")); }
Groups groups_of(Node& node, const ControlArgs& args) { return node.groups(args.string("scope")); }

Term pid_meta_json(const Pid& pid, const Term& meta) { return {{"pid", pid.to_string()}, {"meta", meta}}; }

Term reason_json(const Reason& reason) {
  Term out = {{"kind", std::string(to_string(reason.kind))}};
  if (reason.kind == Reason::Kind::process_exit) out["exit_reason"] = reason.exit_reason;
  if (!reason.node.empty()) out["node"] = reason.node;
  return out;
}

void throw_errc(Errc code) {
  std::string name(to_string(code));
  throw ControlError(name, name);
}

namespace {

Term failure(const Term& id, const std::string& error, const std::string& code) {
  Term answer = {{"ok", false}, {"error", error}, {"code", code}};
  if (!id.is_null()) answer["id"] = id;
  return answer;
}

}  // namespace

}  // namespace syn::detail

namespace syn {

Term control_request(Node& node, const Term& request, bool allow_writes) {
  using detail::failure;
  if (!request.is_object()) return failure(nullptr, "a request must be a JSON object", "bad_request");
  Term id = request.value("id", Term(nullptr));
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) {
    return failure(id, "a request needs a string field 'cmd' (try {\"cmd\":\"help\"})", "bad_request");
  }
  const auto* entry = detail::control_table().find(cmd->get<std::string>());
  if (!entry) {
    return failure(id, "unknown command '" + cmd->get<std::string>() + "' (try {\"cmd\":\"help\"})", "unknown_command");
  }
  if (entry->command.writes && !allow_writes) {
    return failure(id,
                   "'" + entry->command.name +
                       "' writes, and this node's control endpoint is read-only "
                       "(NodeOptions::control_writes)",
                   "read_only");
  }
  try {
    Term fields = entry->handler(node, detail::ControlArgs(request));
    Term answer = {{"ok", true}};
    if (!id.is_null()) answer["id"] = id;
    if (fields.is_object()) {
      for (auto& [key, value] : fields.items()) {
        if (key != "id" && key != "ok") answer[key] = std::move(value);
      }
    }
    return answer;
  } catch (const detail::ControlError& e) { return failure(id, e.what(), e.code()); } catch (const Error& e) {
    return failure(id, e.what(), std::string(to_string(e.code())));
  } catch (const std::exception& e) { return failure(id, e.what(), "internal"); }
}

std::vector<ControlCommand> control_commands() {
  std::vector<ControlCommand> out;
  for (const auto& [name, entry] : detail::control_table().all()) out.push_back(entry.command);
  return out;
}

}  // namespace syn
