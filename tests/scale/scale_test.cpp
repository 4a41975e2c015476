// 64 node processes on this machine, full mesh, one scope (issue 14). Out of the default run:
// `scripts/test --scale` runs it (ctest label "scale"). The figures of the same scenario are
// in bench/driver/wl_scale.cpp; this test asserts only what must hold.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::Agent;
using syn::test::eventually;

namespace {

constexpr std::size_t kNodes = 64;
constexpr std::size_t kNamesPerNode = 1000;
constexpr auto kConverge = 180s;  // a Debug build of 64 processes on 2 cores

std::string node_name(std::size_t i) { return "s" + std::to_string(i + 1); }

// Heartbeats and timeouts at the defaults rather than the tests' fast ones: 64 nodes heartbeat
// 63 peers each, on 2 cores.
std::unique_ptr<Agent> start_scale_agent(std::size_t i, std::vector<std::string> seeds) {
  Term options = syn::test::agent_options(node_name(i), std::move(seeds), {"scale"});
  options["heartbeat_interval"] = 500;
  options["peer_timeout"] = 5000;
  options["call_timeout"] = 30000;
  auto config = syn::test::process_agent_config();
  config.ready_timeout = 60s;
  return std::make_unique<Agent>(std::move(options), config);
}

std::int64_t count_on(Agent& agent, const std::string& node = "") {
  Term args{{"scope", "scale"}};
  if (!node.empty()) args["node"] = node;
  return agent.ok("count", args, 30s)["count"].get<std::int64_t>();
}

// Registers `count` names "<prefix>:<k>" for one new process of `agent`, pipelined.
void register_names(Agent& agent, const std::string& prefix, std::size_t count) {
  std::string pid = agent.spawn();
  Term entries = Term::array();
  for (std::size_t k = 0; k < count; ++k) entries.push_back({{"name", prefix + ":" + std::to_string(k)}, {"pid", pid}});
  auto results = agent.ok("register_async", {{"scope", "scale"}, {"entries", entries}}, 120s)["results"];
  REQUIRE(results.size() == count);
  for (const auto& r : results) REQUIRE(r == "ok");
}

struct ScaleCluster {
  std::vector<std::unique_ptr<Agent>> agents;

  ScaleCluster() {
    agents.push_back(start_scale_agent(0, {}));
    for (std::size_t i = 1; i < kNodes; ++i) agents.push_back(start_scale_agent(i, {agents[0]->endpoint()}));
  }

  std::vector<Agent*> alive() {
    std::vector<Agent*> out;
    for (auto& a : agents) {
      if (a && a->running()) out.push_back(a.get());
    }
    return out;
  }

  // Every running agent sees every other running one.
  bool meshed() {
    auto up = alive();
    for (Agent* a : up) {
      if (a->nodes().size() != up.size() - 1) return false;
    }
    return true;
  }

  // Every running agent holds `expected` names.
  bool converged(std::int64_t expected) {
    for (Agent* a : alive()) {
      if (count_on(*a) != expected) return false;
    }
    return true;
  }
};

}  // namespace

TEST_CASE("64 node processes mesh from one seed, agree on their names, and heal after kills and joins", "[scale]") {
  ScaleCluster cluster;
  REQUIRE(eventually([&] { return cluster.meshed(); }, kConverge));

  // Names from every node at once.
  {
    std::vector<std::int64_t> requests;
    for (std::size_t i = 0; i < kNodes; ++i) {
      std::string pid = cluster.agents[i]->spawn();
      Term entries = Term::array();
      for (std::size_t k = 0; k < kNamesPerNode; ++k) {
        entries.push_back({{"name", node_name(i) + ":" + std::to_string(k)}, {"pid", pid}});
      }
      requests.push_back(
          cluster.agents[i]->send_request({{"cmd", "register_async"}, {"scope", "scale"}, {"entries", entries}}));
    }
    for (std::size_t i = 0; i < kNodes; ++i) {
      auto answer = cluster.agents[i]->await(requests[i], 120s);
      REQUIRE(answer["ok"] == true);
      for (const auto& r : answer["results"]) REQUIRE(r == "ok");
    }
  }
  auto total = static_cast<std::int64_t>(kNodes * kNamesPerNode);
  REQUIRE(eventually([&] { return cluster.converged(total); }, kConverge));

  SECTION("a node killed and restarted under the same name while another node churns") {
    const std::size_t victim = 9, churner = 1;
    cluster.agents[victim]->kill();
    // The churner registers more names while the victim is gone and while it comes back.
    register_names(*cluster.agents[churner], "churn-a", 500);
    REQUIRE(eventually([&] { return cluster.converged(total - kNamesPerNode + 500); }, kConverge));
    cluster.agents[victim] = start_scale_agent(victim, {cluster.agents[0]->endpoint()});
    register_names(*cluster.agents[churner], "churn-b", 500);
    register_names(*cluster.agents[victim], node_name(victim) + "-again", kNamesPerNode);
    REQUIRE(eventually([&] { return cluster.meshed(); }, kConverge));
    REQUIRE(eventually([&] { return cluster.converged(total + 1000); }, kConverge));
    // The old incarnation's names are gone everywhere; the new one's are there.
    for (Agent* a : cluster.alive()) {
      CHECK(count_on(*a, node_name(victim)) == static_cast<std::int64_t>(kNamesPerNode));
    }
  }

  SECTION("8 nodes killed in the same instant") {
    for (std::size_t i = 40; i < 48; ++i) cluster.agents[i]->kill();
    REQUIRE(eventually([&] { return cluster.meshed(); }, kConverge));
    REQUIRE(eventually([&] { return cluster.converged(total - 8 * kNamesPerNode); }, kConverge));
  }

  SECTION("a new node joins the scope and receives all of it") {
    cluster.agents.push_back(start_scale_agent(kNodes, {cluster.agents[kNodes / 2]->endpoint()}));
    REQUIRE(eventually([&] { return cluster.meshed(); }, kConverge));
    Agent& joiner = *cluster.agents.back();
    REQUIRE(eventually([&] { return count_on(joiner) == total; }, kConverge));
    auto found = joiner.ok("lookup", {{"scope", "scale"}, {"name", node_name(63) + ":999"}})["entry"];
    CHECK_FALSE(found.is_null());
  }
}
