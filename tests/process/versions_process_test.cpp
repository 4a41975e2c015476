// A rolling upgrade with real processes (SPEC 9): a syn-node held at protocol 1 (the JSON option
// max_protocol_version, as an operator would set it) in a keyed cluster of current syn-nodes.
// It links at version 1 with each, replicates both ways, and every node gets ready.
#include "process/process_support.hpp"

#include <syn/version.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace syn;
using namespace syn::test;

namespace {

const char* const kScope = "upgrade";

/// The protocol version `agent` reports for its link with `peer` (-1 when it knows no such peer).
std::int64_t link_protocol(Agent& agent, const std::string& peer) {
  auto answer = agent.ok("nodes");  // kept: a loop over a temporary's member would dangle
  for (const auto& link : answer["links"]) {
    if (link["node"] == peer) return link["protocol"].get<std::int64_t>();
  }
  return -1;
}

}  // namespace

TEST_CASE("a syn-node one protocol version behind joins a keyed cluster and replicates", "[process][versions]") {
  auto key = generate_cluster_key();
  auto options = [&](const std::string& name, std::vector<std::string> seeds) {
    auto o = agent_options(name, std::move(seeds), {kScope});
    o["cluster_key"] = key;
    return o;
  };
  Agent alpha(options("alpha", {}), process_agent_config());
  Agent beta(options("beta", {alpha.endpoint()}), process_agent_config());
  auto old_options = options("old", {alpha.endpoint()});
  old_options["max_protocol_version"] = protocol_version - 1;
  Agent old(old_options, process_agent_config());
  REQUIRE(eventually([&] {
    return agent_sees_exactly(alpha, {"beta", "old"}) && agent_sees_exactly(beta, {"alpha", "old"}) &&
           agent_sees_exactly(old, {"alpha", "beta"});
  }));

  CHECK(link_protocol(alpha, "beta") == protocol_version);
  CHECK(link_protocol(alpha, "old") == protocol_version - 1);
  CHECK(link_protocol(beta, "old") == protocol_version - 1);
  CHECK(link_protocol(old, "alpha") == protocol_version - 1);
  CHECK(old.ok("health")["protocol"] == protocol_version - 1);

  auto on_old = old.spawn();
  auto on_beta = beta.spawn();
  old.ok("register", {{"scope", kScope}, {"name", "from-old"}, {"pid", on_old}});
  beta.ok("register", {{"scope", kScope}, {"name", "from-beta"}, {"pid", on_beta}});
  old.ok("join", {{"scope", kScope}, {"group", "g"}, {"pid", on_old}});
  CHECK(eventually([&] {
    return alpha.call("whereis", {{"scope", kScope}, {"name", "from-old"}}).value("pid", Term()) == on_old &&
           old.call("whereis", {{"scope", kScope}, {"name", "from-beta"}}).value("pid", Term()) == on_beta &&
           beta.call("members", {{"scope", kScope}, {"group", "g"}})["members"].size() == 1;
  }));
  CHECK(eventually([&] {
    return alpha.ok("ready")["ready"] == true && beta.ok("ready")["ready"] == true && old.ok("ready")["ready"] == true;
  }));
}
