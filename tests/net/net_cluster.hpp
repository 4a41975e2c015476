#pragma once
// syn-node agents on the hosts of a NetLab: one node per host, named after it, listening on
// the host's own address (or a wildcard with "advertise"), over IPv4 or IPv6, with the
// security options of this run (net_security.hpp). What the cluster looks like from each
// node, and the SIGSTOP/SIGCONT/SIGKILL of node processes.
#include "net/net_lab.hpp"
#include "net/net_security.hpp"
#include "support/agent.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <vector>

namespace syn::test::net {

/// The nodes' failure detector (agent_options' peer_timeout): the cut tests' deadlines are
/// multiples of it.
inline constexpr std::chrono::milliseconds kPeerTimeout{1000};
/// Every node listens on this port: each host has addresses of its own, so they never clash.
inline constexpr int kPort = 7100;

/// Which addresses the nodes use.
enum class Family { ipv4, ipv6 };
/// What a node binds, and what it advertises when that is a wildcard.
enum class Bind {
  own_address,            ///< tcp://<its address>:7100
  wildcard,               ///< tcp://0.0.0.0:7100 or tcp://[::]:7100, advertising tcp://<its address>
                          ///< (no port: the node adds the bound one)
  wildcard_with_port,     ///< the same wildcard, advertising tcp://<its address>:7100
  wildcard_unadvertised,  ///< the same wildcard and nothing more: the node finds its one address
};

/// A node's state as the test drives it.
enum class NodeState { not_started, running, frozen, dead };

/// A NetLab and the nodes on its hosts. Not copyable.
class NetCluster {
 public:
  /// A lab of `hosts` hosts; nodes join `scopes` when started.
  NetCluster(int hosts, Family family, std::vector<std::string> scopes);
  ~NetCluster();
  NetCluster(const NetCluster&) = delete;
  NetCluster& operator=(const NetCluster&) = delete;

  NetLab& lab() { return lab_; }
  int size() const { return lab_.size(); }
  NetSecurity security() const { return security_; }

  /// The host's address as it goes in an endpoint: "198.18.7.1" or "[fd53:...:1]".
  std::string address(int host) const;
  /// The endpoint the node of `host` is reached at: tcp://<address>:7100.
  std::string endpoint(int host) const;
  /// The node's name: the host's ("h1", ...).
  std::string name(int host) const;

  /// Starts the node of `host` (once), seeded with the endpoints of `seed_hosts` (which need
  /// not be started yet: nodes keep dialling their seeds). Throws when it does not start.
  /// `own_security`, an object, replaces the cluster's security options (an intruder's key).
  /// `extra_options`, an object, adds node options (e.g. "events": true) over all the others.
  test::Agent& start(int host, Bind bind, const std::vector<int>& seed_hosts, const Term& own_security = nullptr,
                     const Term& extra_options = nullptr);
  /// The node of `host`; throws std::logic_error when it was never started.
  test::Agent& node(int host);
  NodeState state(int host) const;

  /// SIGSTOP: the node freezes, as a host that hangs.
  void freeze(int host);
  /// SIGCONT after freeze.
  void thaw(int host);
  /// SIGKILL: the node dies, as a host that crashes.
  void crash(int host);
  /// SIGKILL (when it still runs), and the node is forgotten: start() may then start a new
  /// incarnation on that host.
  void discard(int host);

  /// True when the node of `host` is connected to exactly the nodes of `others`.
  bool sees_exactly(int host, const std::vector<int>& others);
  /// Every running node sees every other running node, and nothing else.
  bool full_mesh();
  /// Waits up to `timeout` for full_mesh().
  bool wait_full_mesh(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// "h1 sees [h2,h3]; h2 sees [h1]; h3 frozen; ..." plus the cuts in force, for messages.
  std::string views();

 private:
  NetLab lab_;  // first: destroyed last, once no node runs inside its namespaces
  Family family_;
  std::vector<std::string> scopes_;
  NetSecurity security_;
  std::unique_ptr<KeyFile> key_file_;
  std::vector<std::unique_ptr<test::Agent>> agents_;
  std::vector<NodeState> states_;
};

}  // namespace syn::test::net
