#pragma once
/// \file
/// Error codes returned by fallible calls, and the exception thrown for misuse.

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

namespace syn {

/// Why a call failed. Every fallible call documents which of these it returns.
enum class Errc {
  taken,                 ///< the name is registered to another process
  not_alive,             ///< the process is not alive
  undefined,             ///< no such entry (name not registered, member not found)
  race_condition,        ///< the authority holds the entry under another pid; nothing changed
  not_self,              ///< strict mode: only a process may register or join itself
  not_in_group,          ///< leave: the process is not a member of the group
  invalid_scope,         ///< this node has not added the scope
  invalid_remote_scope,  ///< the pid's node has not added the scope (or is not in the subcluster)
  timeout,               ///< the authority did not answer in time; the call may still have happened
  node_down,             ///< the authority node is not connected, or this node is stopped
  bad_argument,          ///< an argument is malformed (bad option, bad endpoint, bad term)
};

/// The snake_case name of the code, e.g. "taken".
std::string_view to_string(Errc code);

/// Prints to_string(code).
std::ostream& operator<<(std::ostream& out, Errc code);

/// Thrown only for misuse and construction failures (a scope the node is not in, an endpoint
/// that cannot be bound, bad options). Carries the code.
class Error : public std::runtime_error {
 public:
  /// An error with a code and a message for people.
  Error(Errc code, const std::string& message);
  /// The code of the failure.
  Errc code() const noexcept { return code_; }

 private:
  Errc code_;
};

}  // namespace syn
