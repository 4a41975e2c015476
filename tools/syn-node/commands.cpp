#include "commands.hpp"

#include <syn/control.hpp>

#include <cstdio>
#include <cstdlib>

namespace syn_node {

// ---- Args -------------------------------------------------------------------------------

bool Args::has(const std::string& key) const { return request_.contains(key); }

const syn::Term& Args::term(const std::string& key) const {
  auto it = request_.find(key);
  if (it == request_.end()) throw CommandError("missing field '" + key + "'", "bad_argument");
  return *it;
}

syn::Term Args::term_or(const std::string& key, syn::Term fallback) const {
  auto it = request_.find(key);
  return it == request_.end() ? std::move(fallback) : *it;
}

std::string Args::string(const std::string& key) const {
  const auto& value = term(key);
  if (!value.is_string()) throw CommandError("field '" + key + "' must be a string", "bad_argument");
  return value.get<std::string>();
}

std::string Args::string_or(const std::string& key, std::string fallback) const {
  return has(key) ? string(key) : std::move(fallback);
}

std::int64_t Args::integer(const std::string& key) const {
  const auto& value = term(key);
  if (!value.is_number_integer()) throw CommandError("field '" + key + "' must be an integer", "bad_argument");
  return value.get<std::int64_t>();
}

std::int64_t Args::integer_or(const std::string& key, std::int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

bool Args::boolean_or(const std::string& key, bool fallback) const {
  if (!has(key)) return fallback;
  const auto& value = term(key);
  if (!value.is_boolean()) throw CommandError("field '" + key + "' must be true or false", "bad_argument");
  return value.get<bool>();
}

std::vector<std::string> Args::strings(const std::string& key) const {
  const auto& value = term(key);
  std::vector<std::string> out;
  if (value.is_array()) {
    for (const auto& item : value) {
      if (!item.is_string()) break;
      out.push_back(item.get<std::string>());
    }
    if (out.size() == value.size()) return out;
  }
  throw CommandError("field '" + key + "' must be an array of strings", "bad_argument");
}

syn::Pid Args::pid(const std::string& key) const {
  auto text = string(key);
  auto pid = syn::Pid::parse(text);
  if (!pid) throw CommandError("field '" + key + "' is not a pid: '" + text + "'", "bad_argument");
  return *pid;
}

std::chrono::milliseconds Args::millis_or(const std::string& key, std::chrono::milliseconds fallback) const {
  if (!has(key)) return fallback;
  auto value = integer(key);
  if (value < 0) throw CommandError("field '" + key + "' must not be negative", "bad_argument");
  return std::chrono::milliseconds(value);
}

// ---- the table --------------------------------------------------------------------------

CommandTable& CommandTable::instance() {
  // A function-local static: registrars in other files may run before anything here.
  static CommandTable table;
  return table;
}

void CommandTable::add(Command command) {
  auto name = command.name;
  if (!commands_.emplace(name, std::move(command)).second) {
    std::fprintf(stderr, "syn-node: command '%s' is defined twice\n", name.c_str());
    std::abort();
  }
}

const Command* CommandTable::find(const std::string& name) const {
  auto it = commands_.find(name);
  return it == commands_.end() ? nullptr : &it->second;
}

// ---- execution --------------------------------------------------------------------------

namespace {

syn::Term failure(const syn::Term& id, const std::string& error, const std::string& code) {
  syn::Term response = {{"id", id}, {"ok", false}, {"error", error}};
  if (!code.empty()) response["code"] = code;
  return response;
}

}  // namespace

syn::Term execute(Context& ctx, const syn::Term& request) {
  if (!request.is_object()) return failure(nullptr, "a request must be a JSON object", "bad_request");
  syn::Term id = request.value("id", syn::Term(nullptr));
  auto cmd = request.find("cmd");
  if (cmd == request.end() || !cmd->is_string()) {
    return failure(id, "a request needs a string field 'cmd' (try {\"cmd\":\"help\"})", "bad_request");
  }
  const Command* command = CommandTable::instance().find(cmd->get<std::string>());
  if (!command) {
    // The library's control commands (what synctl asks a control endpoint: names, lookup,
    // ready, ...): one implementation for both. Whoever holds stdin owns the node: writes too.
    syn::Term answer = syn::control_request(ctx.node(), request, true);
    answer["id"] = id;
    return answer;
  }
  try {
    syn::Term fields = command->handler(ctx, Args(request));
    syn::Term response = {{"id", id}, {"ok", true}};
    if (fields.is_object()) {
      for (auto& [key, value] : fields.items()) {
        if (key != "id" && key != "ok") response[key] = std::move(value);
      }
    } else if (!fields.is_null()) {
      response["result"] = std::move(fields);
    }
    return response;
  } catch (const CommandError& e) { return failure(id, e.what(), e.code()); } catch (const syn::Error& e) {
    return failure(id, e.what(), std::string(syn::to_string(e.code())));
  } catch (const std::exception& e) { return failure(id, e.what(), ""); }
}

syn::Term execute(Context& ctx, const std::string& line) {
  syn::Term request;
  try {
    request = syn::Term::parse(line);
  } catch (const std::exception& e) {
    return failure(nullptr, std::string("invalid JSON: ") + e.what(), "bad_request");
  }
  return execute(ctx, request);
}

// Built in, as it needs the table itself.
SYN_NODE_COMMAND(help, "help -> {commands: {name: usage}} (this program's and the control endpoint's)") {
  syn::Term commands = syn::Term::object();
  for (const auto& command : syn::control_commands()) commands[command.name] = command.usage;
  for (const auto& [name, command] : CommandTable::instance().all()) commands[name] = command.usage;
  return {{"commands", commands}};
}

}  // namespace syn_node
