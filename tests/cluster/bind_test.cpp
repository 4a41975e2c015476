// What a node binds (NodeOptions::listen and control): localhost is loopback, and a socket
// file that a running node answers on is not taken from it.
#include "cluster/cluster_helpers.hpp"

#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>

using namespace syn;
using namespace syn::test;

namespace {

std::string socket_path(const std::string& what) {
  return "/tmp/syn-bind-" + what + "-" + std::to_string(::getpid()) + ".sock";
}

/// The message of the Error that constructing a node with `options` throws ("" if none).
std::string refusal(const NodeOptions& options) {
  try {
    Node node(options);
  } catch (const Error& e) {
    CHECK(e.code() == Errc::bad_argument);
    return e.what();
  }
  return "";
}

/// Options of a node named `name` whose `endpoint` (listen or control) is the socket file `path`.
NodeOptions on_socket(const std::string& name, std::string NodeOptions::*endpoint, const std::string& path) {
  auto o = test_options(name);
  o.*endpoint = "ipc://" + path;
  return o;
}

/// The refusal of a second node asking for a socket file a running node answers on.
void check_in_use(const std::string& error, const char* option) {
  CHECK(error.find(option) != std::string::npos);
  CHECK(error.find("in use") != std::string::npos);
}

}  // namespace

TEST_CASE("a node listens on tcp://localhost, loopback as docs/security.md says, and peers dial it",
          "[cluster][bind]") {
  auto o = test_options("bind_local1");
  o.listen = "tcp://localhost:0";  // ZeroMQ alone reads "localhost" as an interface name: No such device
  Node a(o);
  CHECK(a.endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
  auto port = a.endpoint().substr(a.endpoint().rfind(':') + 1);
  auto ob = test_options("bind_local2");
  ob.seeds = {"tcp://localhost:" + port};
  Node b(ob);
  CHECK(eventually([&] { return sees_exactly(a, {"bind_local2"}) && sees_exactly(b, {"bind_local1"}); }));
}

TEST_CASE("a node refuses a socket file that a running node answers on, and takes one left by a dead process",
          "[cluster][bind]") {
  QuietLog quiet;
  SECTION("control") {
    const auto path = socket_path("control");
    Node first(on_socket("bind_ctl1", &NodeOptions::control, path));
    check_in_use(refusal(on_socket("bind_ctl2", &NodeOptions::control, path)), "NodeOptions.control");
    CHECK(::access(path.c_str(), F_OK) == 0);  // the first node's socket file is still there
  }
  SECTION("listen") {
    const auto path = socket_path("listen");
    Node first(on_socket("bind_ipc1", &NodeOptions::listen, path));
    check_in_use(refusal(on_socket("bind_ipc2", &NodeOptions::listen, path)), "NodeOptions.listen");
    // The first still takes peers on it.
    auto third = test_options("bind_ipc3");
    third.seeds = {"ipc://" + path};
    Node peer(third);
    CHECK(eventually([&] { return sees_exactly(first, {"bind_ipc3"}); }));
  }
  SECTION("a file nobody answers on") {
    const auto path = socket_path("stale");
    // A socket file left behind: bound, never listened on, closed without unlinking.
    int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, path.c_str(), path.size());
    ::unlink(path.c_str());
    REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0);
    ::close(fd);
    CHECK(refusal(on_socket("bind_stale", &NodeOptions::control, path)).empty());
  }
}
