#pragma once
// Small helpers shared by the in-process cluster tests (tests/cluster/*.cpp).
#include "scope/scope_directory.hpp"
#include "support/cluster.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace syn::test {

using namespace std::chrono_literals;

/// Test options with a short peer_timeout, for tests that must outlast it (stays()).
inline NodeOptions quick_options(const std::string& name, std::chrono::milliseconds peer_timeout = 400ms,
                                 std::vector<std::string> seeds = {}) {
  auto o = test_options(name);
  o.heartbeat_interval = 50ms;
  o.peer_timeout = peer_timeout;
  o.seeds = std::move(seeds);
  return o;
}

/// Silences logging while alive (for tests that provoke expected errors); restores the level.
class QuietLog {
 public:
  QuietLog() : saved_(log_level()) { set_log_level(LogLevel::off); }
  ~QuietLog() { set_log_level(saved_); }
  QuietLog(const QuietLog&) = delete;
  QuietLog& operator=(const QuietLog&) = delete;

 private:
  LogLevel saved_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago.
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    throw std::runtime_error("bind");
  }
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

/// The port of a "tcp://host:port" endpoint.
inline std::string port_of(const std::string& endpoint) { return endpoint.substr(endpoint.rfind(':') + 1); }

/// Records the calls of monitor callbacks, thread-safe. Make it with std::make_shared: the
/// callbacks keep it alive.
struct DownLog : std::enable_shared_from_this<DownLog> {
  std::mutex mutex;
  std::vector<std::pair<Pid, Term>> calls;

  std::function<void(const Pid&, const Term&)> callback() {
    return [self = shared_from_this()](const Pid& pid, const Term& reason) {
      std::lock_guard lock(self->mutex);
      self->calls.emplace_back(pid, reason);
    };
  }
  std::size_t size() {
    std::lock_guard lock(mutex);
    return calls.size();
  }
  std::pair<Pid, Term> at(std::size_t i) {
    std::lock_guard lock(mutex);
    return calls.at(i);
  }
};

/// The broken rules of every handler table of `node` (ScopeHandler::check_invariants), each
/// line naming the node; empty when all hold.
inline std::vector<std::string> broken_invariants(const Node& node) {
  std::vector<std::string> out;
  for (auto& line : node.scope_directory()->check_invariants()) out.push_back(node.name() + ": " + line);
  return out;
}

/// Checks that no handler table of `node` breaks its own rules.
inline void check_invariants(const Node& node) {
  auto broken = broken_invariants(node);
  for (const auto& line : broken) UNSCOPED_INFO(line);
  CHECK(broken.empty());
}

}  // namespace syn::test
