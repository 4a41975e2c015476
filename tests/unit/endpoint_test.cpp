// transport::check_endpoint: which endpoints a node accepts to dial.
#include "transport/transport.hpp"

#include <syn/errors.hpp>

#include <catch2/catch.hpp>

#include <unistd.h>

#include <optional>
#include <string>

using syn::Errc;
using syn::Error;

namespace {
std::optional<Errc> check(const std::string& endpoint) {
  try {
    syn::transport::check_endpoint(endpoint);
    return std::nullopt;
  } catch (const Error& e) { return e.code(); }
}
}  // namespace

TEST_CASE("check_endpoint accepts dialable endpoints", "[unit][endpoint]") {
  for (const char* good :
       {"tcp://127.0.0.1:1", "tcp://127.0.0.1:65535", "tcp://localhost:4369", "tcp://node-7.example.com:4369",
        "tcp://[::1]:4369", "ipc:///tmp/syn.sock", "ipc://relative"}) {
    INFO(good);
    CHECK_FALSE(check(good).has_value());
  }
}

TEST_CASE("check_endpoint refuses malformed endpoints with bad_argument", "[unit][endpoint]") {
  for (const char* bad :
       {"", "garbage", "127.0.0.1:5555", "http://127.0.0.1:80", "tcp://", "tcp://127.0.0.1",
        "tcp://127.0.0.1:", "tcp://127.0.0.1:port", "tcp://:5555", "tcp://127.0.0.1:0", "tcp://127.0.0.1:65536",
        "tcp://127.0.0.1:99999999999", "tcp://127.0.0.1:-1", "tcp://127.0.0.1:12 ", "tcp://*:5555", "tcp://a b:5555",
        "tcp://\tx:5555", "ipc://", "TCP://127.0.0.1:5555"}) {
    INFO("'" << bad << "'");
    CHECK(check(bad) == std::optional<Errc>(Errc::bad_argument));
  }
}

TEST_CASE("the advertised endpoint is what peers can dial", "[unit][endpoint]") {
  using syn::transport::advertised_endpoint;
  CHECK(advertised_endpoint("tcp://127.0.0.1:5555", "") == "tcp://127.0.0.1:5555");
  CHECK(advertised_endpoint("tcp://127.0.0.1:5555", "tcp://gateway.example") == "tcp://gateway.example:5555");
  CHECK(advertised_endpoint("tcp://127.0.0.1:5555", "tcp://10.0.0.7:7000") == "tcp://10.0.0.7:7000");
  // IPv6 hosts have colons of their own: only one after the ']' is a port.
  CHECK(advertised_endpoint("tcp://[::]:5555", "tcp://[fd53::4]") == "tcp://[fd53::4]:5555");
  CHECK(advertised_endpoint("tcp://[::]:5555", "tcp://[fd53::4]:7000") == "tcp://[fd53::4]:7000");
  CHECK(advertised_endpoint("tcp://[::1]:5555", "") == "tcp://[::1]:5555");
  CHECK_THROWS_AS(advertised_endpoint("tcp://127.0.0.1:5555", "tcp://:"), syn::Error);
}

TEST_CASE("a wildcard bind advertises the host's one address of its family, else its name", "[unit][endpoint]") {
  using syn::transport::advertised_endpoint;
  using syn::transport::HostAddresses;
  HostAddresses one{"lab", {"198.18.0.5"}, {"fd53::4"}};
  CHECK(advertised_endpoint("tcp://0.0.0.0:5555", "", one) == "tcp://198.18.0.5:5555");
  CHECK(advertised_endpoint("tcp://*:5555", "", one) == "tcp://198.18.0.5:5555");
  CHECK(advertised_endpoint("tcp://[::]:5555", "", one) == "tcp://[fd53::4]:5555");
  // Several, or none: which one peers reach is not to be guessed; the host's name.
  HostAddresses several{"lab", {"198.18.0.5", "172.17.0.1"}, {}};
  CHECK(advertised_endpoint("tcp://0.0.0.0:5555", "", several) == "tcp://lab:5555");
  CHECK(advertised_endpoint("tcp://[::]:5555", "", several) == "tcp://lab:5555");
  // advertise wins, and a specific address is kept as bound.
  CHECK(advertised_endpoint("tcp://0.0.0.0:5555", "tcp://gateway.example", one) == "tcp://gateway.example:5555");
  CHECK(advertised_endpoint("tcp://198.18.0.9:5555", "", one) == "tcp://198.18.0.9:5555");
  // No name and no single address: the bound endpoint, all there is.
  CHECK(advertised_endpoint("tcp://0.0.0.0:5555", "", HostAddresses{}) == "tcp://0.0.0.0:5555");

  // This host: its one address when it has one, else its name.
  auto here = syn::transport::this_host();
  for (const auto& a : here.ipv4) {
    CHECK(a.rfind("127.", 0) != 0);      // loopback left out
    CHECK(a.rfind("169.254.", 0) != 0);  // and link-local
  }
  for (const auto& a : here.ipv6) {
    CHECK(a != "::1");
    CHECK(a.rfind("fe80:", 0) != 0);
  }
  auto advertised = advertised_endpoint("tcp://0.0.0.0:5555", "");
  CHECK(advertised ==
        (here.ipv4.size() == 1 ? "tcp://" + here.ipv4.front() + ":5555" : "tcp://" + here.name + ":5555"));
}
