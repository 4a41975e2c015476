// Cluster membership: how the mesh forms, who sees whom, leaving, bad endpoints, node names
// and incarnations. Several Nodes in this process, real TCP on loopback.
#include "cluster/cluster_helpers.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <thread>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;
using syn::test::test_options;

TEST_CASE("a 3-node mesh forms from one seed", "[cluster][mesh]") {
  syn::test::Cluster cluster(3);
  REQUIRE(cluster.wait_full_mesh());
  CHECK(sees_exactly(cluster[0], {"n2", "n3"}));
  CHECK(sees_exactly(cluster[1], {"n1", "n3"}));
  CHECK(sees_exactly(cluster[2], {"n1", "n2"}));
}

TEST_CASE("a 5-node mesh forms from one seed", "[cluster][mesh]") {
  syn::test::Cluster cluster(5);
  REQUIRE(cluster.wait_full_mesh());
  for (std::size_t i = 0; i < cluster.size(); ++i) CHECK(cluster[i].nodes().size() == 4);
  CHECK(sees_exactly(cluster[4], {"n1", "n2", "n3", "n4"}));
}

TEST_CASE("a 5-node mesh forms when each node knows only the previous one", "[cluster][mesh]") {
  std::vector<std::unique_ptr<Node>> nodes;
  for (int i = 1; i <= 5; ++i) {
    auto o = test_options("chain" + std::to_string(i));
    if (!nodes.empty()) o.seeds = {nodes.back()->endpoint()};
    nodes.push_back(std::make_unique<Node>(std::move(o)));
  }
  REQUIRE(eventually([&] {
    for (auto& n : nodes) {
      if (n->nodes().size() != 4) return false;
    }
    return true;
  }));
  CHECK(sees_exactly(*nodes[0], {"chain2", "chain3", "chain4", "chain5"}));
}

TEST_CASE("two meshes merge into one when one node connects to the other", "[cluster][mesh]") {
  syn::test::Cluster a(2, {}, "left");
  syn::test::Cluster b(3, {}, "right");
  REQUIRE(a.wait_full_mesh());
  REQUIRE(b.wait_full_mesh());
  CHECK(sees_exactly(a[0], {"left2"}));
  a[1].connect(b[2].endpoint());
  std::vector<std::string> all = {"left1", "left2", "right1", "right2", "right3"};
  auto view = [&] {
    std::string out;
    for (std::size_t i = 0; i < 5; ++i) {
      Node& n = i < 2 ? a[i] : b[i - 2];
      out += n.name() + " sees:";
      for (auto& name : n.nodes()) out += " " + name;
      out += "; ";
    }
    return out;
  };
  bool merged = eventually([&] {
    for (std::size_t i = 0; i < 5; ++i) {
      Node& n = i < 2 ? a[i] : b[i - 2];
      std::vector<std::string> others;
      for (auto& name : all) {
        if (name != n.name()) others.push_back(name);
      }
      if (!sees_exactly(n, others)) return false;
    }
    return true;
  });
  INFO(view());
  REQUIRE(merged);
}

TEST_CASE("without auto_connect links exist only where they were made", "[cluster][mesh]") {
  auto o1 = test_options("star1");
  o1.auto_connect = false;
  Node hub(o1);
  std::vector<std::unique_ptr<Node>> spokes;
  for (int i = 2; i <= 5; ++i) {
    auto o = test_options("star" + std::to_string(i));
    o.auto_connect = false;
    o.seeds = {hub.endpoint()};
    spokes.push_back(std::make_unique<Node>(std::move(o)));
  }
  REQUIRE(eventually([&] { return sees_exactly(hub, {"star2", "star3", "star4", "star5"}); }));
  for (auto& s : spokes) REQUIRE(eventually([&] { return sees_exactly(*s, {"star1"}); }));
  // The hub knows everyone, but a spoke does not learn its peers' peers.
  CHECK(stays([&] {
    for (auto& s : spokes) {
      if (!sees_exactly(*s, {"star1"})) return false;
    }
    return true;
  }));

  SECTION("connect() later adds exactly that link") {
    spokes[0]->connect(spokes[1]->endpoint());
    REQUIRE(eventually([&] { return sees_exactly(*spokes[0], {"star1", "star3"}); }));
    REQUIRE(eventually([&] { return sees_exactly(*spokes[1], {"star1", "star2"}); }));
    CHECK(stays([&] {
      return sees_exactly(*spokes[0], {"star1", "star3"}) && sees_exactly(*spokes[2], {"star1"}) &&
             sees_exactly(*spokes[3], {"star1"});
    }));
  }
}

TEST_CASE("a node joining with auto_connect on learns the peers of a hub that has it off", "[cluster][mesh]") {
  // auto_connect is a property of the node that learns: the hub still tells its peers.
  auto o1 = test_options("mixed1");
  o1.auto_connect = false;
  Node hub(o1);
  auto o2 = test_options("mixed2");
  o2.auto_connect = false;
  o2.seeds = {hub.endpoint()};
  Node quiet(o2);
  REQUIRE(eventually([&] { return sees_exactly(hub, {"mixed2"}); }));
  auto o3 = test_options("mixed3");
  o3.seeds = {hub.endpoint()};
  Node eager(o3);
  REQUIRE(eventually([&] { return sees_exactly(eager, {"mixed1", "mixed2"}); }));
  REQUIRE(eventually([&] { return sees_exactly(quiet, {"mixed1", "mixed3"}); }));
}

TEST_CASE("a node that leaves gracefully is seen down at once", "[cluster][mesh]") {
  // peer_timeout is long: only the goodbye can make the peers notice within the deadline.
  std::vector<NodeOptions> options;
  for (int i = 1; i <= 3; ++i) {
    auto o = test_options("leave" + std::to_string(i));
    o.peer_timeout = 20s;
    options.push_back(o);
  }
  syn::test::Cluster cluster(options);
  REQUIRE(cluster.wait_full_mesh());
  cluster.stop(2);
  CHECK(eventually([&] { return sees_exactly(cluster[0], {"leave2"}); }, 3s));
  CHECK(eventually([&] { return sees_exactly(cluster[1], {"leave1"}); }, 3s));
  // And it stays gone: nobody resurrects a node that left.
  CHECK(stays([&] { return sees_exactly(cluster[0], {"leave2"}) && sees_exactly(cluster[1], {"leave1"}); }));
}

TEST_CASE("every node can leave, in any order", "[cluster][mesh]") {
  syn::test::Cluster cluster(4, {}, "order");
  REQUIRE(cluster.wait_full_mesh());
  cluster.stop(0);  // the seed first
  REQUIRE(cluster.wait_full_mesh(5s));
  cluster.stop(2);
  REQUIRE(cluster.wait_full_mesh(5s));
  CHECK(sees_exactly(cluster[1], {"order4"}));
  CHECK(sees_exactly(cluster[3], {"order2"}));
}

TEST_CASE("connecting a node to itself is harmless", "[cluster][mesh]") {
  const int port = syn::test::free_port();
  const std::string own = "tcp://127.0.0.1:" + std::to_string(port);
  auto o = test_options("selfish");
  o.listen = own;
  // Its own endpoint, and an alias of it that only the handshake can recognise.
  o.seeds = {own, "tcp://localhost:" + std::to_string(port)};
  Node self(o);
  REQUIRE(self.endpoint() == own);
  self.connect(self.endpoint());
  CHECK(stays([&] { return self.nodes().empty(); }));

  // It still works as a member.
  Node other(test_options("other-of-selfish", {}));
  other.connect(self.endpoint());
  REQUIRE(eventually([&] { return sees_exactly(self, {"other-of-selfish"}) && sees_exactly(other, {"selfish"}); }));
  auto p = self.spawn();
  other.send(p.pid(), "hi");
  auto m = p.receive(5s);
  REQUIRE(m);
  CHECK(m->body == "hi");
  CHECK(sees_exactly(self, {"other-of-selfish"}));
}

namespace {
/// The code of the Error that connect() throws, or nullopt when it does not throw.
std::optional<Errc> connect_error(Node& node, const std::string& endpoint) {
  try {
    node.connect(endpoint);
    return std::nullopt;
  } catch (const Error& e) { return e.code(); }
}
}  // namespace

TEST_CASE("a malformed endpoint throws bad_argument", "[cluster][mesh][errors]") {
  Node node(test_options("endpoints"));
  for (const char* bad : {"", "garbage", "127.0.0.1:5555", "http://127.0.0.1:80"}) {
    INFO("endpoint '" << bad << "'");
    CHECK(connect_error(node, bad) == std::optional<Errc>(Errc::bad_argument));
  }
  // The node is unharmed.
  Node other(test_options("endpoints-peer"));
  node.connect(other.endpoint());
  CHECK(eventually([&] { return sees_exactly(node, {"endpoints-peer"}); }));
}

TEST_CASE("a malformed endpoint in the options makes the constructor throw", "[cluster][mesh][errors]") {
  SECTION("listen") {
    auto o = test_options("bad-listen");
    o.listen = "not an endpoint";
    try {
      Node node(o);
      FAIL("constructor did not throw");
    } catch (const Error& e) { CHECK(e.code() == Errc::bad_argument); }
  }
  SECTION("seed") {
    auto o = test_options("bad-seed");
    o.seeds = {"not an endpoint"};
    try {
      Node node(o);
      FAIL("constructor did not throw");
    } catch (const Error& e) { CHECK(e.code() == Errc::bad_argument); }
  }
  // The name is free again afterwards.
  Node node(test_options("bad-listen"));
  CHECK(node.nodes().empty());
}

TEST_CASE("binding a port that is taken throws Error", "[cluster][mesh][errors]") {
  Node first(test_options("port-owner"));
  auto o = test_options("port-thief");
  o.listen = first.endpoint();
  try {
    Node second(o);
    FAIL("constructor did not throw");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::bad_argument);
    CHECK_THAT(e.what(), Catch::Contains(syn::test::port_of(first.endpoint())));
  }
  // The owner still accepts peers.
  auto o3 = test_options("port-visitor");
  o3.seeds = {first.endpoint()};
  Node third(o3);
  CHECK(eventually([&] { return sees_exactly(first, {"port-visitor"}); }));
}

namespace {
bool impostor_free_view(syn::test::Cluster& cluster) {
  return sees_exactly(cluster[0], {"uniq2", "uniq3"}) && sees_exactly(cluster[1], {"uniq1", "uniq3"}) &&
         sees_exactly(cluster[2], {"uniq1", "uniq2"});
}
}  // namespace

TEST_CASE("a second live node with a taken name is refused and does not disturb the cluster", "[cluster][mesh]") {
  syn::test::QuietLog quiet;  // the refusals are logged as errors
  syn::test::Cluster cluster(3, {}, "uniq");
  REQUIRE(cluster.wait_full_mesh());
  auto p2 = cluster[1].spawn();
  const auto creation = cluster[1].creation();
  // Monitors of the real uniq2's process notice any drop of its links (noconnection).
  auto downs = std::make_shared<syn::test::DownLog>();
  cluster[0].monitor(p2.pid(), downs->callback());
  cluster[2].monitor(p2.pid(), downs->callback());
  auto undisturbed = [&] { return impostor_free_view(cluster) && downs->size() == 0; };

  SECTION("seeded with another member") {
    auto o = test_options("uniq2");
    o.seeds = {cluster[0].endpoint()};
    Node impostor(o);
    CHECK(eventually([&] { return cluster[0].stats().refused_peers > 0; }));
    CHECK(stays([&] { return impostor.nodes().empty() && undisturbed(); }));
    CHECK(impostor.stats().refused_peers > 0);
  }
  SECTION("seeded with the node of that name") {
    auto o = test_options("uniq2");
    o.seeds = {cluster[1].endpoint()};
    Node impostor(o);
    CHECK(eventually([&] { return cluster[1].stats().refused_peers > 0; }));
    CHECK(stays([&] { return impostor.nodes().empty() && undisturbed(); }));
    CHECK(impostor.stats().refused_peers > 0);
  }
  SECTION("seeded with every member") {
    auto o = test_options("uniq2");
    for (std::size_t i = 0; i < 3; ++i) o.seeds.push_back(cluster[i].endpoint());
    Node impostor(o);
    CHECK(eventually([&] { return cluster[2].stats().refused_peers > 0; }));
    // Long enough for the impostor's retries (one second apart) to be refused again.
    CHECK(stays([&] { return impostor.nodes().empty() && undisturbed(); }, 1500ms));
    CHECK(impostor.stats().refused_peers > 0);
  }

  // The cluster is as it was: same members, the original uniq2 reachable with its processes.
  CHECK(undisturbed());
  CHECK(cluster[1].creation() == creation);
  CHECK(cluster[0].is_alive(p2.pid()));
  cluster[0].send(p2.pid(), "still here");
  auto m = p2.receive(5s);
  REQUIRE(m);
  CHECK(m->body == "still here");
}

TEST_CASE("a node restarted under the same name is a new incarnation", "[cluster][mesh]") {
  Node n1(test_options("reborn1"));
  auto o3 = test_options("reborn3");
  o3.seeds = {n1.endpoint()};
  Node n3(o3);
  auto o2 = test_options("reborn2");
  o2.seeds = {n1.endpoint()};
  auto n2 = std::make_unique<Node>(o2);
  REQUIRE(eventually([&] { return sees_exactly(n3, {"reborn1", "reborn2"}); }));
  REQUIRE(eventually([&] { return sees_exactly(n1, {"reborn2", "reborn3"}); }));

  const auto old_creation = n2->creation();
  const auto old_endpoint = n2->endpoint();
  auto old_process = n2->spawn();
  const Pid old_pid = old_process.pid();
  CHECK(old_pid.creation() == old_creation);
  CHECK(n1.is_alive(old_pid));

  n2.reset();  // its processes die with it
  CHECK_FALSE(old_process.alive());
  CHECK(old_process.exit_reason().has_value());
  REQUIRE(eventually([&] { return sees_exactly(n1, {"reborn3"}) && sees_exactly(n3, {"reborn1"}); }));
  CHECK_FALSE(n1.is_alive(old_pid));

  SECTION("on a new port") {}
  SECTION("on the same port") { o2.listen = old_endpoint; }
  n2 = std::make_unique<Node>(o2);
  if (o2.listen != "tcp://127.0.0.1:0") CHECK(n2->endpoint() == old_endpoint);
  CHECK(n2->creation() != old_creation);
  REQUIRE(eventually([&] { return sees_exactly(*n2, {"reborn1", "reborn3"}); }));
  REQUIRE(eventually([&] { return sees_exactly(n1, {"reborn2", "reborn3"}); }));
  REQUIRE(eventually([&] { return sees_exactly(n3, {"reborn1", "reborn2"}); }));

  // The old pid is dead everywhere, the restarted node included.
  CHECK_FALSE(n1.is_alive(old_pid));
  CHECK_FALSE(n3.is_alive(old_pid));
  CHECK_FALSE(n2->is_alive(old_pid));

  // A new process gets the same local number as the old one; the old pid must not reach it.
  auto fresh = n2->spawn();
  CHECK(fresh.pid().id() == old_pid.id());
  CHECK(fresh.pid() != old_pid);
  CHECK(n1.is_alive(fresh.pid()));
  for (Node* sender : {&n1, &n3, n2.get()}) {
    sender->send(old_pid, "to the old one");
    sender->exit(old_pid, "kill the old one");
    sender->send(fresh.pid(), "to the new one");  // same sender: arrives after the old-pid message
  }
  for (int i = 0; i < 3; ++i) {
    auto m = fresh.receive(5s);
    REQUIRE(m);
    CHECK(m->body == "to the new one");
  }
  CHECK(fresh.alive());
  CHECK(fresh.pending() == 0);
}

TEST_CASE("an endpoint with the right scheme but a malformed address throws bad_argument", "[cluster][mesh][errors]") {
  syn::test::QuietLog quiet;
  Node node(test_options("endpoints2"));
  for (const char* bad : {"tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:", "tcp://127.0.0.1:port", "tcp://:5555",
                          "tcp://127.0.0.1:99999", "ipc://"}) {
    INFO("endpoint '" << bad << "'");
    CHECK(connect_error(node, bad) == std::optional<Errc>(Errc::bad_argument));
  }
  // Well-formed endpoints are accepted even when nobody listens there.
  CHECK_FALSE(connect_error(node, "tcp://127.0.0.1:1").has_value());
  CHECK_FALSE(connect_error(node, "tcp://localhost:1").has_value());
  CHECK_FALSE(connect_error(node, "ipc:///tmp/syn-nobody-listens-here").has_value());
  CHECK(stays([&] { return node.nodes().empty(); }, 100ms));
}

TEST_CASE("nodes that all seed each other at once form one stable mesh", "[cluster][mesh]") {
  constexpr int kNodes = 5;
  std::vector<std::string> endpoints;
  for (int i = 0; i < kNodes; ++i) endpoints.push_back("tcp://127.0.0.1:" + std::to_string(syn::test::free_port()));
  std::vector<NodeOptions> options;
  for (int i = 0; i < kNodes; ++i) {
    auto o = test_options("all" + std::to_string(i + 1));
    o.listen = endpoints[i];
    for (int j = 0; j < kNodes; ++j) {
      if (j != i) o.seeds.push_back(endpoints[j]);
    }
    options.push_back(o);
  }
  // Built concurrently: every handshake races with the one in the other direction.
  std::vector<std::unique_ptr<Node>> nodes(kNodes);
  {
    std::vector<std::thread> threads;
    for (int i = 0; i < kNodes; ++i) threads.emplace_back([&, i] { nodes[i] = std::make_unique<Node>(options[i]); });
    for (auto& t : threads) t.join();
  }
  auto meshed = [&] {
    for (auto& n : nodes) {
      if (n->nodes().size() != kNodes - 1) return false;
    }
    return true;
  };
  REQUIRE(eventually(meshed));
  CHECK(stays(meshed, 500ms));
  for (auto& n : nodes) CHECK(n->stats().link_resets == 0);
}
