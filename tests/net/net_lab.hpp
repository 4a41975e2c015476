#pragma once
// A lab of hosts on a private network, made of Linux network namespaces, for tests that need
// what loopback hides: an address per host, and cuts that drop packets silently (symmetric,
// one-way, or between two hosts while both still see a third).
//
// Layout, all of it created by the lab and deleted with it:
//
//   namespace <prefix>-br :  bridge br0, ports p1..pN (no address)
//   namespace <prefix>-h1 :  lo, eth0 = 198.18.S.1/24 and fd53:796e:74::S:1/64, veth to p1
//   ...
//   namespace <prefix>-hN :  lo, eth0 = 198.18.S.N/24 ...
//
// 198.18.0.0/15 is reserved for benchmarking (RFC 2544) and fd00::/8 is unique-local, so no
// address can mean anything outside. No namespace has a default route, and the bridge lives in
// a namespace of its own, so the root namespace (its interfaces, routes and firewall) is never
// touched and no packet can leave the lab.
//
// Cuts are nftables rules in a table of the lab's own (inet synlab) inside the receiving host's
// namespace: packets are dropped without any answer, as by a pulled cable, so the nodes find out
// only through their own timeouts.
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::net {

/// Why a lab cannot be made here (not root, ip or nft missing, no namespace support), or
/// nullopt when it can. Checked once and remembered.
std::optional<std::string> lab_unavailable_reason();

/// One host of a lab.
struct Host {
  int index = 0;      ///< 0-based, as NetLab calls take it
  std::string name;   ///< "h1", "h2", ... (1-based, for people)
  std::string netns;  ///< the namespace, e.g. "synt-4242-1-h1"
  std::string ipv4;   ///< e.g. "198.18.7.1"
  std::string ipv6;   ///< e.g. "fd53:796e:74::7:1"
};

/// Hosts in network namespaces on one bridge, with cuts between them. Not copyable or movable.
///
/// The constructor builds everything or throws std::runtime_error (cleaning up what it made);
/// the destructor deletes every namespace it made (which deletes the veths and the rules with
/// them), also when a test fails. Processes still running inside a host keep its namespace
/// alive until they exit, so destroy the nodes before the lab.
class NetLab {
 public:
  /// Makes `hosts` hosts (1 to 250).
  explicit NetLab(int hosts);
  ~NetLab();
  NetLab(const NetLab&) = delete;
  NetLab& operator=(const NetLab&) = delete;

  int size() const { return static_cast<int>(hosts_.size()); }
  const Host& host(int index) const;
  const std::vector<Host>& hosts() const { return hosts_; }
  /// The namespaces' common prefix, e.g. "synt-4242-1".
  const std::string& prefix() const { return prefix_; }

  /// The words that run a program inside a host: {"/usr/sbin/ip", "netns", "exec", netns}
  /// (`ip netns exec` execs the program in place, so the pid stays the program's).
  std::vector<std::string> exec_prefix(int index) const;
  /// Runs a command inside a host and returns its output (run_checked's rules).
  std::string run_in(int index, std::vector<std::string> argv, const std::string& input = {}) const;

  // ---- cuts -----------------------------------------------------------------------------
  /// `to` stops hearing `from`: every packet from `from` to `to` is dropped on arrival, while
  /// `to` still reaches `from`.
  void cut_one_way(int from, int to);
  /// Neither of `a` and `b` hears the other (other hosts still see both: a partial cut).
  void cut(int a, int b);
  /// Lifts both directions of a cut between `a` and `b`.
  void heal(int a, int b);
  /// Lifts every cut.
  void heal_all();
  /// The directed cuts in force, as (from, to) pairs.
  const std::set<std::pair<int, int>>& cuts() const { return cuts_; }
  /// The lab's nftables table in a host, as nft lists it (for failure messages and tests).
  std::string rules(int index) const;

 private:
  void build(int hosts);
  void add_host(int index);
  void apply_rules(int index);
  void destroy() noexcept;

  std::string ip_;
  std::string nft_;
  std::string prefix_;
  std::string bridge_netns_;
  int subnet_ = 0;
  std::vector<Host> hosts_;
  std::vector<std::string> made_;  // namespaces made so far, deleted in reverse order
  std::set<std::pair<int, int>> cuts_;
};

}  // namespace syn::test::net
