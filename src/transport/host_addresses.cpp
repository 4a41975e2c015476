#include "transport/host_addresses.hpp"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <unistd.h>

namespace syn::transport {

HostAddresses this_host() {
  HostAddresses out;
  char name[256] = {};
  if (::gethostname(name, sizeof name - 1) == 0) out.name = name;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    // Up and running (a bridge with nothing plugged in is up, not running), not loopback.
    if (i->ifa_addr == nullptr || !(i->ifa_flags & IFF_UP) || !(i->ifa_flags & IFF_RUNNING) ||
        (i->ifa_flags & IFF_LOOPBACK)) {
      continue;
    }
    char text[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* a = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      // 169.254.0.0/16 is link-local, as fe80::/10 below: only its own link reaches it.
      if ((ntohl(a->sin_addr.s_addr) >> 16) == 0xA9FE) continue;
      if (::inet_ntop(AF_INET, &a->sin_addr, text, sizeof text)) out.ipv4.emplace_back(text);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* a = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      // A link-local address needs its interface named to be dialled (fe80::1%eth0): not one to give.
      if (IN6_IS_ADDR_LINKLOCAL(&a->sin6_addr)) continue;
      if (::inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text)) out.ipv6.emplace_back(text);
    }
  }
  ::freeifaddrs(list);
  return out;
}

}  // namespace syn::transport
