#pragma once
// Telling systemd how the node is doing (Type=notify units, sd_notify(3)'s protocol): one
// datagram per state change on the unix socket named by $NOTIFY_SOCKET. READY=1 goes once the
// node is ready (SPEC 9: a seed reached, every scope synced), STOPPING=1 when a stop begins.
// Written here rather than taken from libsystemd: the protocol is one sendto(), and syn-node
// then runs the same with or without systemd.
#include <syn/node.hpp>

#include <atomic>
#include <string>
#include <string_view>
#include <thread>

namespace syn_node {

class SystemdNotifier {
 public:
  /// Takes $NOTIFY_SOCKET (and unsets it, so that children do not inherit it). Without it,
  /// every call does nothing.
  SystemdNotifier();
  /// Whether systemd asked to be told (NOTIFY_SOCKET was set).
  bool enabled() const { return !socket_path_.empty(); }
  /// Sends one notification ("READY=1\nSTATUS=..."); false when it could not be sent.
  bool notify(std::string_view state) const;

 private:
  std::string socket_path_;  // '@' first: an abstract socket
};

/// Watches a node until it is ready, then tells systemd READY=1 (with a STATUS line). Stops
/// watching when destroyed.
class ReadinessNotifier {
 public:
  ReadinessNotifier(syn::Node& node, const SystemdNotifier& notifier);
  ~ReadinessNotifier();
  ReadinessNotifier(const ReadinessNotifier&) = delete;
  ReadinessNotifier& operator=(const ReadinessNotifier&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace syn_node
