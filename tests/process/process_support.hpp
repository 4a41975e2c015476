#pragma once
// Shared by the multi-process tests: syn-node agents (separate OS processes) on loopback, and
// an optional in-test Node observing the same cluster.
#include "support/agent.hpp"
#include "support/cluster.hpp"
#include "support/eventually.hpp"

#include <catch2/catch.hpp>

#include <syn/syn.hpp>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

namespace syn::test {

/// Agent settings for these tests: the syn-node built with them (SYN_NODE_BINARY is defined
/// for the process_tests target only, hence this header-only helper).
inline AgentConfig process_agent_config(std::vector<std::string> extra_args = {}) {
  AgentConfig config;
  config.binary = SYN_NODE_BINARY;
  config.extra_args = std::move(extra_args);
  return config;
}

/// Starts a syn-node agent named `name` with test options, seeded with `seeds`.
inline std::unique_ptr<Agent> start_agent(const std::string& name, std::vector<std::string> seeds = {},
                                          std::vector<std::string> extra_args = {}) {
  return std::make_unique<Agent>(agent_options(name, std::move(seeds)), process_agent_config(std::move(extra_args)));
}

/// Sorted copy.
inline std::vector<std::string> sorted(std::vector<std::string> names) {
  std::sort(names.begin(), names.end());
  return names;
}

/// True when the agent's nodes() equals `expected` (any order).
inline bool agent_sees_exactly(Agent& agent, std::vector<std::string> expected) {
  return agent.nodes() == sorted(std::move(expected));
}

/// Three agents alpha, beta, gamma (beta and gamma seeded with alpha) and an in-test observer
/// Node seeded with alpha.
struct ProcessCluster {
  std::unique_ptr<Agent> alpha = start_agent("alpha");
  std::unique_ptr<Agent> beta = start_agent("beta", {alpha->endpoint()});
  std::unique_ptr<Agent> gamma = start_agent("gamma", {alpha->endpoint()});
  std::unique_ptr<Node> observer = make_observer();

  std::unique_ptr<Node> make_observer() {
    auto options = test_options("observer");
    options.seeds.push_back(alpha->endpoint());
    return std::make_unique<Node>(std::move(options));
  }

  /// Every running member (agents that are null are left out) sees every other one.
  bool full_mesh() {
    std::vector<std::string> all = {"observer"};
    for (auto* agent : {alpha.get(), beta.get(), gamma.get()}) {
      if (agent) all.push_back(agent->name());
    }
    auto others = [&](const std::string& self) {
      std::vector<std::string> out;
      for (auto& n : all) {
        if (n != self) out.push_back(n);
      }
      return out;
    };
    for (auto* agent : {alpha.get(), beta.get(), gamma.get()}) {
      if (agent && !agent_sees_exactly(*agent, others(agent->name()))) return false;
    }
    return sees_exactly(*observer, others("observer"));
  }

  bool wait_full_mesh(std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return eventually([&] { return full_mesh(); }, timeout);
  }

  /// What each member sees now, for failure messages.
  std::string views() {
    std::string out;
    auto list = [](const std::vector<std::string>& names) {
      std::string s = "[";
      for (auto& n : names) s += (s.size() > 1 ? "," : "") + n;
      return s + "]";
    };
    for (auto* agent : {alpha.get(), beta.get(), gamma.get()}) {
      if (agent) out += agent->name() + " sees " + list(agent->nodes()) + "; ";
    }
    return out + "observer sees " + list(observer->nodes());
  }
};

}  // namespace syn::test

/// Requires the full mesh of a ProcessCluster within 10 s, saying who sees whom otherwise.
#define REQUIRE_MESH(cluster)                                          \
  do {                                                                 \
    bool meshed_ = (cluster).wait_full_mesh();                         \
    if (!meshed_) FAIL("no full mesh in 10 s: " << (cluster).views()); \
  } while (false)
