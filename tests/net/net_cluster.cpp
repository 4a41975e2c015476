#include "net/net_cluster.hpp"

#include "support/eventually.hpp"

#include <syn/security.hpp>

#include <algorithm>
#include <iterator>
#include <stdexcept>

namespace syn::test::net {

NetCluster::NetCluster(int hosts, Family family, std::vector<std::string> scopes)
    : lab_(hosts),
      family_(family),
      scopes_(std::move(scopes)),
      security_(net_security()),
      agents_(static_cast<std::size_t>(hosts)),
      states_(static_cast<std::size_t>(hosts), NodeState::not_started) {
  if (security_ == NetSecurity::cluster_key) key_file_ = std::make_unique<KeyFile>(syn::generate_cluster_key());
}

// Nodes go first (SIGKILL, as the Agent destructor does), so that the lab's namespaces are
// empty and really gone once the lab deletes them.
NetCluster::~NetCluster() { agents_.clear(); }

std::string NetCluster::address(int host) const {
  const Host& h = lab_.host(host);
  return family_ == Family::ipv4 ? h.ipv4 : "[" + h.ipv6 + "]";
}

std::string NetCluster::endpoint(int host) const { return "tcp://" + address(host) + ":" + std::to_string(kPort); }

std::string NetCluster::name(int host) const { return lab_.host(host).name; }

test::Agent& NetCluster::start(int host, Bind bind, const std::vector<int>& seed_hosts, const Term& own_security,
                               const Term& extra_options) {
  auto& slot = agents_.at(static_cast<std::size_t>(host));
  if (slot) throw std::logic_error("NetCluster: the node of " + name(host) + " was already started");
  std::vector<std::string> seeds;
  for (int s : seed_hosts) seeds.push_back(endpoint(s));
  Term options = agent_options(name(host), seeds, scopes_);
  if (bind == Bind::own_address) {
    options["listen"] = endpoint(host);
  } else {
    std::string any = family_ == Family::ipv4 ? "0.0.0.0" : "[::]";
    options["listen"] = "tcp://" + any + ":" + std::to_string(kPort);
    if (bind != Bind::wildcard_unadvertised) {
      options["advertise"] = bind == Bind::wildcard ? "tcp://" + address(host) : endpoint(host);
    }
  }
  if (own_security.is_object()) {
    for (const auto& [key, value] : own_security.items()) options[key] = value;
  } else {
    add_security_options(options, security_, key_file_.get());
  }
  if (extra_options.is_object()) {
    for (const auto& [key, value] : extra_options.items()) options[key] = value;
  }

  AgentConfig config;
  config.binary = SYN_NODE_BINARY;
  config.command_prefix = lab_.exec_prefix(host);
  slot = std::make_unique<test::Agent>(std::move(options), std::move(config));
  states_[static_cast<std::size_t>(host)] = NodeState::running;
  return *slot;
}

test::Agent& NetCluster::node(int host) {
  auto& slot = agents_.at(static_cast<std::size_t>(host));
  if (!slot) throw std::logic_error("NetCluster: the node of " + name(host) + " was never started");
  return *slot;
}

NodeState NetCluster::state(int host) const { return states_.at(static_cast<std::size_t>(host)); }

void NetCluster::freeze(int host) {
  node(host).stop();
  states_[static_cast<std::size_t>(host)] = NodeState::frozen;
}

void NetCluster::thaw(int host) {
  node(host).resume();
  states_[static_cast<std::size_t>(host)] = NodeState::running;
}

void NetCluster::crash(int host) {
  node(host).kill();
  states_[static_cast<std::size_t>(host)] = NodeState::dead;
}

void NetCluster::discard(int host) {
  agents_.at(static_cast<std::size_t>(host)).reset();  // the Agent's destructor SIGKILLs and reaps
  states_[static_cast<std::size_t>(host)] = NodeState::not_started;
}

bool NetCluster::sees_exactly(int host, const std::vector<int>& others) {
  std::vector<std::string> expected;
  for (int o : others) expected.push_back(name(o));
  std::sort(expected.begin(), expected.end());
  return node(host).nodes() == expected;  // nodes() is sorted
}

bool NetCluster::full_mesh() {
  std::vector<int> running;
  for (int h = 0; h < size(); ++h) {
    if (state(h) == NodeState::running) running.push_back(h);
  }
  for (int h : running) {
    std::vector<int> others;
    std::copy_if(running.begin(), running.end(), std::back_inserter(others), [h](int o) { return o != h; });
    if (!sees_exactly(h, others)) return false;
  }
  return true;
}

bool NetCluster::wait_full_mesh(std::chrono::milliseconds timeout) {
  return eventually([&] { return full_mesh(); }, timeout, std::chrono::milliseconds(50));
}

std::string NetCluster::views() {
  std::string out;
  for (int h = 0; h < size(); ++h) {
    if (!out.empty()) out += "; ";
    out += name(h);
    switch (state(h)) {
      case NodeState::not_started: out += " not started"; continue;
      case NodeState::frozen: out += " frozen"; continue;
      case NodeState::dead: out += " dead"; continue;
      case NodeState::running: break;
    }
    std::string seen;
    for (const auto& n : node(h).nodes()) seen += (seen.empty() ? "" : ",") + n;
    out += " sees [" + seen + "]";
  }
  std::string cuts;
  for (const auto& [from, to] : lab_.cuts()) cuts += " " + name(from) + "->" + name(to);
  return out + "; packets dropped:" + (cuts.empty() ? " none" : cuts);
}

}  // namespace syn::test::net
