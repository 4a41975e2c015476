// A second live node under a name that is taken is refused; the original keeps its place.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::agent_sees_exactly;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;

TEST_CASE("a second live node with a taken name is refused and the original keeps working", "[process][name_clash]") {
  syn::test::ProcessCluster cluster;
  REQUIRE_MESH(cluster);
  auto beta_pid = cluster.beta->spawn();

  // Another "beta", seeded to the cluster while the first one is alive.
  // Its refusal is logged at error level: make sure the level lets it through.
  auto impostor = syn::test::start_agent("beta", {cluster.alpha->endpoint()}, {"--log-level", "warn"});
  REQUIRE(impostor->creation() != cluster.beta->creation());
  CHECK(impostor->wait_stderr("is taken", 5s));
  INFO("impostor stderr: " << impostor->stderr_text());

  // Through more than one retry of the impostor (it redials every second), nobody replaces
  // the original and the impostor stays alone.
  CHECK(stays(
      [&] {
        return agent_sees_exactly(*cluster.alpha, {"beta", "gamma", "observer"}) &&
               sees_exactly(*cluster.observer, {"alpha", "beta", "gamma"}) && impostor->nodes().empty();
      },
      1500ms, 50ms));
  CHECK(cluster.alpha->ok("stats")["refused_peers"].get<int>() > 0);

  // The pids of the original are the live ones (is_alive checks the incarnation)...
  CHECK(cluster.observer->is_alive(*Pid::parse(beta_pid)));
  CHECK(cluster.gamma->ok("is_alive", {{"pid", beta_pid}})["alive"] == true);
  // ...and it still gets its messages.
  cluster.alpha->ok("send", {{"to", beta_pid}, {"message", "still you"}});
  CHECK(cluster.beta->ok("receive", {{"pid", beta_pid}, {"timeout_ms", 3000}})["message"] == "still you");
}
