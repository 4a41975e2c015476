#include "net/net_lab.hpp"

#include "net/command.hpp"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace syn::test::net {

namespace {

// Every namespace of ours starts with this, then the test process's pid.
constexpr const char* kNamePrefix = "synt-";
constexpr const char* kTable = "inet synlab";

std::string find_or_empty(const std::string& program) { return find_program(program).value_or(""); }

std::vector<std::string> netns_names(const std::string& ip) {
  std::vector<std::string> names;
  std::stringstream lines(run_checked({ip, "netns", "list"}));
  std::string line;
  while (std::getline(lines, line)) {
    auto name = line.substr(0, line.find(' '));  // "name (id: 3)"
    if (!name.empty()) names.push_back(name);
  }
  return names;
}

// A test killed outright (SIGKILL, a crash) runs no destructor and leaves its namespaces.
// They are ours by their prefix and dead by their pid: delete those once per test process,
// and nothing else.
void sweep_stale_namespaces(const std::string& ip) {
  static std::once_flag once;
  std::call_once(once, [&] {
    const std::string prefix = kNamePrefix;
    for (const auto& name : netns_names(ip)) {
      if (name.rfind(prefix, 0) != 0) continue;
      auto rest = name.substr(prefix.size());
      auto dash = rest.find('-');
      if (dash == 0 || dash == std::string::npos) continue;
      auto pid_text = rest.substr(0, dash);
      if (pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
      struct stat st {};
      if (::stat(("/proc/" + pid_text).c_str(), &st) == 0) continue;  // its test still runs
      auto result = run_command({ip, "netns", "delete", name});
      std::fprintf(stderr, "net lab: deleted namespace %s left by a test that died%s\n", name.c_str(),
                   result.status == 0 ? "" : " (failed)");
    }
  });
}

std::string probe_lab(const std::string& ip, const std::string& nft) {
  if (::geteuid() != 0) return "needs root (network namespaces and nftables)";
  if (ip.empty()) return "`ip` (iproute2) not found: run scripts/install-deps";
  if (nft.empty()) return "`nft` (nftables) not found: run scripts/install-deps";
  // Both may be installed and still unusable (a container without CAP_SYS_ADMIN or
  // CAP_NET_ADMIN, a kernel without nf_tables): try them once, in a namespace of our own.
  std::string probe = std::string(kNamePrefix) + std::to_string(::getpid()) + "-probe";
  auto made = run_command({ip, "netns", "add", probe});
  if (made.status != 0) return "cannot create a network namespace: " + made.output;
  auto table = run_command({ip, "netns", "exec", probe, nft, "add", "table", "inet", "synlab"});
  run_command({ip, "netns", "delete", probe});
  if (table.status != 0) return "nftables does not work inside a network namespace: " + table.output;
  return {};
}

}  // namespace

std::optional<std::string> lab_unavailable_reason() {
  static const std::string reason = probe_lab(find_or_empty("ip"), find_or_empty("nft"));
  if (reason.empty()) return std::nullopt;
  return reason;
}

NetLab::NetLab(int hosts) {
  if (hosts < 1 || hosts > 250) throw std::invalid_argument("NetLab: 1 to 250 hosts");
  if (auto why = lab_unavailable_reason()) throw std::runtime_error("NetLab: " + *why);
  ip_ = *find_program("ip");
  nft_ = *find_program("nft");
  sweep_stale_namespaces(ip_);
  static std::atomic<int> labs{0};
  int seq = ++labs;
  prefix_ = kNamePrefix + std::to_string(::getpid()) + "-" + std::to_string(seq);
  // Each lab has a bridge of its own, so subnets never clash; varying it only tells the labs
  // of one run apart in logs.
  subnet_ = static_cast<int>((static_cast<unsigned>(::getpid()) + static_cast<unsigned>(seq)) % 250u) + 1;
  try {
    build(hosts);
  } catch (...) {
    destroy();  // the destructor does not run for a failed constructor
    throw;
  }
}

NetLab::~NetLab() { destroy(); }

void NetLab::build(int hosts) {
  bridge_netns_ = prefix_ + "-br";
  run_checked({ip_, "netns", "add", bridge_netns_});
  made_.push_back(bridge_netns_);
  // No multicast snooping: the bridge floods IPv6 neighbour discovery to every port from the
  // first packet, instead of depending on MLD reports that a host may send before its port
  // is attached.
  run_checked({ip_, "-n", bridge_netns_, "-batch", "-"},
              "link set lo up\n"
              "link add br0 type bridge mcast_snooping 0\n"
              "link set br0 up\n");
  for (int i = 0; i < hosts; ++i) add_host(i);
}

void NetLab::add_host(int index) {
  Host host;
  host.index = index;
  host.name = "h" + std::to_string(index + 1);
  host.netns = prefix_ + "-" + host.name;
  host.ipv4 = "198.18." + std::to_string(subnet_) + "." + std::to_string(index + 1);
  char ipv6[64];
  std::snprintf(ipv6, sizeof ipv6, "fd53:796e:7400:%x::%x", subnet_, index + 1);
  host.ipv6 = ipv6;

  run_checked({ip_, "netns", "add", host.netns});
  made_.push_back(host.netns);
  const std::string port = "p" + std::to_string(index + 1);
  // Both ends are made where they live (eth0 in the host, its peer in the bridge's
  // namespace): nothing ever appears in the root namespace.
  run_checked(
      {ip_, "-n", host.netns, "link", "add", "eth0", "type", "veth", "peer", "name", port, "netns", bridge_netns_});
  run_checked({ip_, "-n", bridge_netns_, "link", "set", port, "master", "br0", "up"});
  // nodad: the address is usable at once, instead of after duplicate address detection.
  run_checked({ip_, "-n", host.netns, "-batch", "-"},
              "link set lo up\n"
              "link set eth0 up\n"
              "addr add " +
                  host.ipv4 +
                  "/24 dev eth0\n"
                  "addr add " +
                  host.ipv6 + "/64 dev eth0 nodad\n");
  hosts_.push_back(host);
  apply_rules(index);
}

void NetLab::destroy() noexcept {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
    try {
      auto result = run_command({ip_, "netns", "delete", *it});
      if (result.status != 0)
        std::fprintf(stderr, "net lab: cannot delete namespace %s: %s\n", it->c_str(), result.output.c_str());
    } catch (const std::exception& e) {
      std::fprintf(stderr, "net lab: cannot delete namespace %s: %s\n", it->c_str(), e.what());
    }
  }
  made_.clear();
}

const Host& NetLab::host(int index) const {
  if (index < 0 || index >= size()) throw std::out_of_range("NetLab: no host " + std::to_string(index));
  return hosts_[static_cast<std::size_t>(index)];
}

std::vector<std::string> NetLab::exec_prefix(int index) const { return {ip_, "netns", "exec", host(index).netns}; }

std::string NetLab::run_in(int index, std::vector<std::string> argv, const std::string& input) const {
  auto words = exec_prefix(index);
  words.insert(words.end(), argv.begin(), argv.end());
  return run_checked(words, input);
}

// ---- cuts -------------------------------------------------------------------------------

void NetLab::cut_one_way(int from, int to) {
  (void)host(from);  // throws for a host that does not exist
  (void)host(to);
  if (from == to) throw std::invalid_argument("NetLab: a host cannot be cut from itself");
  cuts_.insert({from, to});
  apply_rules(to);
}

void NetLab::cut(int a, int b) {
  cut_one_way(a, b);
  cut_one_way(b, a);
}

void NetLab::heal(int a, int b) {
  (void)host(a);
  (void)host(b);
  cuts_.erase({a, b});
  cuts_.erase({b, a});
  apply_rules(a);
  apply_rules(b);
}

void NetLab::heal_all() {
  cuts_.clear();
  for (int i = 0; i < size(); ++i) apply_rules(i);
}

// The host's whole input chain is rewritten in one nft transaction from cuts_, so the rules
// always say exactly what cuts_ says, whatever order cuts and heals came in.
void NetLab::apply_rules(int index) {
  const std::string table = kTable;
  std::string script = "add table " + table + "\n" + "add chain " + table +
                       " input { type filter hook input priority filter; policy accept; }\n" + "flush chain " + table +
                       " input\n";
  bool any = false;
  for (const auto& [from, to] : cuts_) {
    if (to != index) continue;
    if (!any) {
      // The inet family never sees ARP, so IPv4 neighbours still resolve across a cut; let
      // IPv6 neighbour discovery through as well, so that a one-way cut stays one-way in both
      // families (otherwise `to` could not even resolve the address of the host it still
      // reaches).
      script += "add rule " + table + " input icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert } accept\n";
      any = true;
    }
    const Host& source = host(from);
    script += "add rule " + table + " input ip saddr " + source.ipv4 + " drop\n";
    script += "add rule " + table + " input ip6 saddr " + source.ipv6 + " drop\n";
  }
  run_in(index, {nft_, "-f", "-"}, script);
}

std::string NetLab::rules(int index) const { return run_in(index, {nft_, "list", "table", "inet", "synlab"}); }

}  // namespace syn::test::net
