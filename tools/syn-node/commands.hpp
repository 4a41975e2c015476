#pragma once
// The control protocol's command table.
//
// Protocol: one JSON object per line on stdin, e.g. {"id":7,"cmd":"send","to":"<a.3.1>",
// "message":{"hi":1}}; one response line per command on stdout with the same "id":
// {"id":7,"ok":true,...fields} or {"id":7,"ok":false,"error":"...","code":"..."} ("code" is
// there when the failure has an Errc or a protocol code such as "unknown_command"). Commands
// run one at a time in arrival order. Asynchronous events are lines {"event":"...",...}.
//
// Adding a command is one function in one file. In any tools/syn-node/commands_*.cpp (the
// CMake glob picks new files up; registry and groups commands go in commands_registry.cpp
// and commands_groups.cpp):
//
//   #include "commands.hpp"
//
//   SYN_NODE_COMMAND(whereis, "whereis{scope,name} -> {pid} (null when not registered)") {
//     auto pid = ctx.node().registry(args.string("scope")).whereis(args.term("name"));
//     return {{"pid", pid ? syn::Term(pid->to_string()) : syn::Term(nullptr)}};
//   }
//
// The body sees `ctx` (Context&: node, owned processes, output) and `args` (const Args&:
// typed access to the request's fields). It returns the response's fields as a JSON object
// (null or {} for none; a non-object is returned as "result"). To fail, throw CommandError,
// or return unwrap(result) for a syn::Result; syn::Error and other exceptions are turned into
// {"ok":false} responses too, so a handler never needs to catch.
#include "context.hpp"

#include <syn/errors.hpp>
#include <syn/pid.hpp>
#include <syn/result.hpp>
#include <syn/term.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

namespace syn_node {

/// A command failed: becomes {"ok":false,"error":what(),"code":code()}.
class CommandError : public std::runtime_error {
 public:
  explicit CommandError(const std::string& message, std::string code = {})
      : std::runtime_error(message), code_(std::move(code)) {}
  /// Machine-readable code (an Errc name such as "taken", or "" when none).
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

/// The value of a successful syn::Result, or a CommandError carrying its Errc as code.
template <class T>
T unwrap(syn::Result<T> result) {
  if (!result) {
    std::string code(syn::to_string(result.error()));
    throw CommandError(code, code);
  }
  return std::move(*result);
}
/// Nothing for a successful syn::Result<void>, or a CommandError carrying its Errc as code.
inline void unwrap(const syn::Result<void>& result) {
  if (!result) {
    std::string code(syn::to_string(result.error()));
    throw CommandError(code, code);
  }
}

/// Typed, checked access to the fields of a request; a missing or mistyped field is a
/// CommandError naming it.
class Args {
 public:
  explicit Args(const syn::Term& request) : request_(request) {}

  /// The whole request object.
  const syn::Term& raw() const { return request_; }
  bool has(const std::string& key) const;
  /// Any JSON value (required).
  const syn::Term& term(const std::string& key) const;
  /// Any JSON value, or `fallback` when absent.
  syn::Term term_or(const std::string& key, syn::Term fallback) const;
  std::string string(const std::string& key) const;
  std::string string_or(const std::string& key, std::string fallback) const;
  std::int64_t integer(const std::string& key) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  std::vector<std::string> strings(const std::string& key) const;
  /// A pid in Pid::to_string form.
  syn::Pid pid(const std::string& key) const;
  /// A non-negative duration in milliseconds, or `fallback` when absent.
  std::chrono::milliseconds millis_or(const std::string& key, std::chrono::milliseconds fallback) const;

 private:
  const syn::Term& request_;
};

/// A command handler: returns the response's fields.
using Handler = syn::Term (*)(Context& ctx, const Args& args);

/// One entry of the command table.
struct Command {
  std::string name;
  std::string usage;  ///< one line for "help"
  Handler handler;
};

/// Every command, by name. Filled before main() by SYN_NODE_COMMAND registrars.
class CommandTable {
 public:
  static CommandTable& instance();
  /// Adds a command; a second command with the same name is a programming error (aborts).
  void add(Command command);
  const Command* find(const std::string& name) const;
  const std::map<std::string, Command>& all() const { return commands_; }

 private:
  std::map<std::string, Command> commands_;
};

/// Registers a command at static initialisation (used by SYN_NODE_COMMAND).
struct CommandRegistrar {
  CommandRegistrar(const char* name, const char* usage, Handler handler) {
    CommandTable::instance().add({name, usage, handler});
  }
};

/// Runs one request line and returns the response object (never throws).
syn::Term execute(Context& ctx, const std::string& line);
/// Runs one parsed request and returns the response object (never throws).
syn::Term execute(Context& ctx, const syn::Term& request);

}  // namespace syn_node

/// Defines and registers a command: SYN_NODE_COMMAND(name, "usage") { ...body... }. See the
/// comment at the top of this file.
#define SYN_NODE_COMMAND(NAME, USAGE)                                                                          \
  static ::syn::Term syn_node_command_##NAME(::syn_node::Context& ctx, const ::syn_node::Args& args);          \
  static const ::syn_node::CommandRegistrar syn_node_registrar_##NAME(#NAME, USAGE, &syn_node_command_##NAME); \
  static ::syn::Term syn_node_command_##NAME([[maybe_unused]] ::syn_node::Context& ctx,                        \
                                             [[maybe_unused]] const ::syn_node::Args& args)
