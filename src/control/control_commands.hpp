#pragma once
// The control protocol's command table (SPEC 9; include/syn/control.hpp). Adding a command is
// one lambda in one commands_*.cpp file of this folder, in its add_*_commands function:
//
//   table.add("lookup", Access::read, "lookup{scope, name} -> {found, pid, meta}",
//             [](Node& node, const ControlArgs& args) -> Term { ... });
//
// A handler returns the answer's fields as a JSON object. To fail, throw ControlError;
// syn::Error becomes its Errc's name. Access::write commands are refused unless the node
// allows writes (control_writes). The table is filled explicitly, not by static registrars:
// the library is static, and a linker keeps no object file nothing refers to.
#include <syn/control.hpp>
#include <syn/errors.hpp>
#include <syn/groups.hpp>
#include <syn/node.hpp>
#include <syn/pid.hpp>
#include <syn/registry.hpp>
#include <syn/term.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace syn::detail {

/// A command failed: {"ok":false,"error":what(),"code":code()}.
class ControlError : public std::runtime_error {
 public:
  ControlError(const std::string& message, std::string code) : std::runtime_error(message), code_(std::move(code)) {}
  const std::string& code() const noexcept { return code_; }

 private:
  std::string code_;
};

/// Typed access to a request's fields; a missing or mistyped field is a ControlError naming it.
class ControlArgs {
 public:
  explicit ControlArgs(const Term& request) : request_(request) {}
  bool has(const std::string& key) const { return request_.contains(key); }
  const Term& term(const std::string& key) const;
  std::string string(const std::string& key) const;
  std::optional<std::string> optional_string(const std::string& key) const;
  std::int64_t integer_or(const std::string& key, std::int64_t fallback) const;
  bool boolean_or(const std::string& key, bool fallback) const;
  Pid pid(const std::string& key) const;

 private:
  const Term& request_;
};

using ControlHandler = Term (*)(Node& node, const ControlArgs& args);

enum class Access { read, write };

class ControlTable {
 public:
  struct Entry {
    ControlCommand command;
    ControlHandler handler;
  };
  /// Adds a command; a second one with the same name is a programming error (aborts).
  void add(const char* name, Access access, const char* usage, ControlHandler handler);
  const Entry* find(const std::string& name) const;
  const std::map<std::string, Entry>& all() const { return entries_; }

 private:
  std::map<std::string, Entry> entries_;
};

/// The table, filled on first use.
const ControlTable& control_table();

// One per commands_*.cpp file.
void add_cluster_commands(ControlTable& table);
void add_entry_commands(ControlTable& table);
void add_write_commands(ControlTable& table);

// ---- what the commands share ----
/// The registry / groups of the request's "scope" (invalid_scope when not joined).
Registry registry_of(Node& node, const ControlArgs& args);
Groups groups_of(Node& node, const ControlArgs& args);
/// {pid, meta} with the pid as Pid::to_string().
Term pid_meta_json(const Pid& pid, const Term& meta);
/// {kind, exit_reason?, node?}.
Term reason_json(const Reason& reason);
/// A syn::Result's error as a ControlError with the Errc's name.
[[noreturn]] void throw_errc(Errc code);

}  // namespace syn::detail
