#pragma once
/// \file
/// The control protocol (SPEC 9): what a node's control endpoint (NodeOptions::control)
/// answers, and a client for it (what synctl uses).
///
/// A request is a JSON object {"cmd": NAME, ...fields}; the answer is {"ok": true, ...fields}
/// or {"ok": false, "error": TEXT, "code": CODE}. Codes are Errc names ("invalid_scope",
/// "bad_argument", ...) or "unknown_command" and "read_only" (a write to a node without
/// NodeOptions::control_writes). control_commands() lists every command with its fields.
#include <syn/term.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace syn {

class Node;

/// Answers one control request against `node`, as its control endpoint does; never throws.
/// `allow_writes`: whether write commands (register, join, kill, ...) may run.
Term control_request(Node& node, const Term& request, bool allow_writes = false);

/// One control command: its name, whether it writes, and a one-line description of its fields
/// and answer.
struct ControlCommand {
  std::string name{};
  bool writes = false;
  std::string usage{};
};

/// Every control command, sorted by name.
std::vector<ControlCommand> control_commands();

/// Where and how a ControlClient reaches a node's control endpoint.
struct ControlClientOptions {
  std::string endpoint{};                   ///< the node's NodeOptions::control ("ipc://path" or "tcp://host:port")
  std::string cluster_key{};                ///< the cluster key (needed for a tcp endpoint of a node with a key)
  std::string cluster_key_file{};           ///< or a file holding it (mode 0600 or stricter)
  std::chrono::milliseconds timeout{5000};  ///< how long to wait for an answer
};

/// A connection to a node's control endpoint. Not thread-safe: one thread at a time.
class ControlClient {
 public:
  /// Throws Error{bad_argument} for a malformed endpoint or key (the key is never shown), and
  /// Error{node_down} for an ipc endpoint whose socket file does not appear within the timeout.
  explicit ControlClient(ControlClientOptions options);
  ~ControlClient();
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;

  /// Sends one request and returns the node's answer. Throws Error{node_down} naming the
  /// endpoint when no answer came within the timeout (nobody there, or a node that refused
  /// our key: the text says which when ZeroMQ told us).
  Term request(const Term& request);

  /// Sends a streaming request ({"cmd":"events","follow":true,...}) and calls `on_line` with
  /// every line the node sends, the first being its answer, until `on_line` returns false or
  /// the node goes silent (throws Error{node_down}). The node sends a heartbeat line
  /// {"heartbeat":true} when idle; on_line sees those too.
  void follow(const Term& request, const std::function<bool(const Term& line)>& on_line);

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace syn
