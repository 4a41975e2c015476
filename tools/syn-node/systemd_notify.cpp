#include "systemd_notify.hpp"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace syn_node {

SystemdNotifier::SystemdNotifier() {
  if (const char* path = std::getenv("NOTIFY_SOCKET"); path && (path[0] == '/' || path[0] == '@')) {
    socket_path_ = path;
  }
  ::unsetenv("NOTIFY_SOCKET");
}

bool SystemdNotifier::notify(std::string_view state) const {
  if (socket_path_.empty()) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (socket_path_.size() >= sizeof address.sun_path) return false;
  std::memcpy(address.sun_path, socket_path_.data(), socket_path_.size());
  if (address.sun_path[0] == '@') address.sun_path[0] = '\0';  // abstract namespace
  auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + socket_path_.size());
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&address), length);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

ReadinessNotifier::ReadinessNotifier(syn::Node& node, const SystemdNotifier& notifier) {
  if (!notifier.enabled()) return;
  thread_ = std::thread([this, &node, &notifier] {
    // Readiness is a state to poll (Node::ready()); a tenth of a second is far below what a
    // service manager notices, and the loop ends with the node.
    while (!stop_.load()) {
      if (node.ready()) {
        notifier.notify("READY=1\nSTATUS=ready: " + std::to_string(node.nodes().size()) + " peers up");
        return;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
}

ReadinessNotifier::~ReadinessNotifier() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace syn_node
