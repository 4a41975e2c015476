#pragma once
// A node's control endpoint (SPEC 9): a thread that answers control requests (JSON, one
// ZeroMQ frame each) on a ROUTER socket bound to NodeOptions::control, and streams live events
// to the clients that follow them.
//
// Security: an ipc:// endpoint is a socket file of mode 0600 (only the node's user may talk
// to it). A tcp:// endpoint takes CURVE with the cluster's key when the node has one (a client
// proves it holds the key, as a peer does: transport/gate.hpp), and is refused without a key
// unless it is loopback.
#include "common/thread_safety.hpp"

#include <syn/node.hpp>

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace syn::detail {

class ControlServer {
 public:
  /// Binds `options.control` and starts the thread. Throws Error{bad_argument} for an
  /// endpoint that cannot be bound or is refused (tcp beyond loopback without a key).
  ControlServer(Node& node, const NodeOptions& options);
  /// Stops the thread and closes the socket (an ipc socket file is removed).
  ~ControlServer();
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

 private:
  struct State;
  void run();
  std::unique_ptr<State> state_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace syn::detail
