#pragma once
// What this host is called and at which addresses, for a node bound to a wildcard address
// (0.0.0.0, [::]) that must tell its peers an endpoint they can dial (advertised_endpoint).
#include <string>
#include <vector>

namespace syn::transport {

/// The host's name and the addresses of its interfaces that are up and running, loopback and
/// link-local ones (169.254/16, fe80::/10) left out: a peer elsewhere cannot dial those.
struct HostAddresses {
  std::string name;               ///< gethostname(); empty when it has none
  std::vector<std::string> ipv4;  ///< "198.18.0.5"
  std::vector<std::string> ipv6;  ///< "fd53::4" (without brackets)
};

/// This host's, now (getifaddrs): no name lookup, so nothing waits for a DNS server.
HostAddresses this_host();

}  // namespace syn::transport
