// syn-node under systemd (Type=notify, packaging/syn-node.service): READY=1 on $NOTIFY_SOCKET
// once the node is ready (SPEC 9: a seed reached, every scope synced), not before; STOPPING=1
// when SIGTERM starts its graceful stop. The test plays systemd's part: it binds the datagram
// socket and hands its path to the node in NOTIFY_SOCKET.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <sys/socket.h>
#include <sys/un.h>
#include <poll.h>
#include <unistd.h>

using namespace syn;
using namespace syn::test;
using namespace std::chrono_literals;

namespace {

/// systemd's end of the notification protocol: a unix datagram socket in a scratch directory.
class NotifySocket {
 public:
  NotifySocket() {
    char pattern[] = "/tmp/syn-notify-XXXXXX";
    REQUIRE(::mkdtemp(pattern) != nullptr);
    dir_ = pattern;
    path_ = dir_ + "/notify";
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::snprintf(address.sun_path, sizeof address.sun_path, "%s", path_.c_str());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0);
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
  }
  NotifySocket(const NotifySocket&) = delete;
  NotifySocket& operator=(const NotifySocket&) = delete;

  const std::string& path() const { return path_; }
  /// The next notification, waiting at most `timeout` (a poll with a deadline).
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buffer[4096];
    auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  std::string dir_, path_;
  int fd_ = -1;
};

}  // namespace

TEST_CASE("syn-node tells systemd it is ready once its seed is reached, and that it stops on SIGTERM",
          "[process][systemd]") {
  NotifySocket systemd;
  Agent seed(agent_options("notify-seed"), process_agent_config());
  seed.stop();  // SIGSTOP: its port accepts connections, but nothing answers a handshake

  auto config = process_agent_config();
  config.command_prefix = {"/usr/bin/env", "NOTIFY_SOCKET=" + systemd.path()};
  Agent node(agent_options("notify-node", {seed.endpoint()}), config);
  // Up, but its seed has not answered: not ready, and systemd is not told it is.
  CHECK_FALSE(systemd.receive(700ms).has_value());
  CHECK_FALSE(node.ok("ready")["ready"].get<bool>());

  seed.resume();
  auto ready = systemd.receive(10s);
  REQUIRE(ready);
  CHECK(ready->find("READY=1") != std::string::npos);
  CHECK(node.ok("ready")["ready"].get<bool>());

  auto exit_code = node.terminate();  // SIGTERM
  auto stopping = systemd.receive(10s);
  REQUIRE(stopping);
  CHECK(*stopping == "STOPPING=1");
  REQUIRE(exit_code);
  CHECK(*exit_code == 0);
}
