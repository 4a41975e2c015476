// Protocol versions (SPEC 9, rolling upgrades): a node offers the range of versions it speaks,
// a link runs the highest both ends speak, and a node one version behind joins a cluster of
// current nodes, replicates, and is never sent a message it does not know.
//
// Two views: nodes of this build held at protocol 1 (NodeOptions::max_protocol_version), and a
// peer written by hand that speaks protocol 1 exactly as the first build did (6-field hello,
// refusals of anything else), so that compatibility does not rest on this build's own code.
#include "cluster/cluster_helpers.hpp"
#include "support/raw_wire.hpp"

#include <syn/control.hpp>
#include <syn/errors.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::raw;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::test_options;

namespace {

/// The protocol version of `node`'s link with `peer`, as its control endpoint reports it.
std::int64_t link_protocol(Node& node, const std::string& peer) {
  auto answer = control_request(node, {{"cmd", "nodes"}});
  for (const auto& link : answer["links"]) {
    if (link["node"] == peer) return link["protocol"].get<std::int64_t>();
  }
  return -1;
}

/// The protocol version `node` reports in its metrics for its link with `peer`.
std::int64_t metrics_protocol(const Node& node, const std::string& peer) {
  for (const auto& p : node.metrics().peers) {
    if (p.node == peer) return p.protocol;
  }
  return -1;
}

}  // namespace

TEST_CASE("versions: a node held at protocol 1 joins current nodes and replicates both ways", "[cluster][versions]") {
  Node a(test_options("versions-a", {"s"}));
  auto options_b = test_options("versions-b", {"s"});
  options_b.seeds = {a.endpoint()};
  Node b(std::move(options_b));
  auto options_old = test_options("versions-old", {"s"});
  options_old.seeds = {a.endpoint()};
  options_old.max_protocol_version = 1;
  Node old(std::move(options_old));
  REQUIRE(eventually([&] {
    return sees_exactly(a, {"versions-b", "versions-old"}) && sees_exactly(b, {"versions-a", "versions-old"}) &&
           sees_exactly(old, {"versions-a", "versions-b"});
  }));

  // Each link runs the highest version both ends speak, and both ends agree on it.
  CHECK(link_protocol(a, "versions-b") == protocol_version);
  CHECK(link_protocol(b, "versions-a") == protocol_version);
  CHECK(link_protocol(a, "versions-old") == 1);
  CHECK(link_protocol(b, "versions-old") == 1);
  CHECK(link_protocol(old, "versions-a") == 1);
  CHECK(link_protocol(old, "versions-b") == 1);
  CHECK(metrics_protocol(a, "versions-old") == 1);
  CHECK(metrics_protocol(a, "versions-b") == protocol_version);

  // Names and members replicate both ways across the old links.
  auto on_old = old.spawn();
  auto on_a = a.spawn();
  REQUIRE(old.registry("s").register_name("held-by-old", on_old.pid()));
  REQUIRE(a.registry("s").register_name("held-by-a", on_a.pid()));
  REQUIRE(old.groups("s").join("mixed", on_old.pid()));
  auto on_b = b.spawn();
  REQUIRE(b.groups("s").join("mixed", on_b.pid()));
  CHECK(eventually([&] {
    return a.registry("s").lookup("held-by-old") && b.registry("s").lookup("held-by-old") &&
           old.registry("s").lookup("held-by-a") && old.groups("s").member_count("mixed") == 2 &&
           a.groups("s").member_count("mixed") == 2;
  }));
  // A conflict across an old link resolves as anywhere else: one holder, the same everywhere.
  auto rival = b.spawn();
  auto taken = b.registry("s").register_name("held-by-old", rival.pid());
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == Errc::taken);
  CHECK(b.registry("s").lookup("held-by-old")->pid == on_old.pid());

  // Every node gets ready: nobody waits for an answer the old node would never give.
  CHECK(eventually([&] { return a.ready() && b.ready() && old.ready(); }));
  CHECK(old.stats().malformed_frames == 0);
  CHECK(a.stats().malformed_frames == 0);
}

TEST_CASE("versions: readiness does not wait on an old node for a scope it does not run", "[cluster][versions]") {
  // The current node runs a scope the old one does not: a current peer would answer its
  // discover with not_here, a protocol-1 peer never does. Waiting for it would never end.
  Node a(test_options("versions-c", {"s", "only-here"}));
  auto options_old = test_options("versions-old-2", {"s"});
  options_old.seeds = {a.endpoint()};
  options_old.max_protocol_version = 1;
  Node old(std::move(options_old));
  REQUIRE(eventually([&] { return sees_exactly(a, {"versions-old-2"}) && sees_exactly(old, {"versions-c"}); }));
  CHECK(eventually([&] { return a.ready() && old.ready(); }));
  // The scope both run still syncs from the old node.
  auto p = old.spawn();
  REQUIRE(old.registry("s").register_name("from-old", p.pid()));
  CHECK(eventually([&] { return a.registry("s").lookup("from-old").has_value(); }));
}

TEST_CASE("versions: max_protocol_version outside this build's versions is refused", "[cluster][versions]") {
  auto options = test_options("versions-bad");
  options.max_protocol_version = protocol_version + 1;
  CHECK_THROWS_AS(Node(options), Error);
  options.max_protocol_version = oldest_protocol_version - 1;  // 0: the newest, accepted
  CHECK_NOTHROW(Node(options));
  CHECK_THROWS_AS(NodeOptions::from_json(Term{{"name", "x"}, {"max_protocol_version", "two"}}), Error);
  CHECK(NodeOptions::from_json(Term{{"name", "x"}, {"max_protocol_version", 1}}).max_protocol_version == 1);
}

TEST_CASE("versions: a peer speaking protocol 1 as the first build did links at version 1", "[cluster][versions]") {
  auto options = test_options("versions-d", {"s"});
  options.peer_timeout = 30s;  // the hand-written peer sends no heartbeats
  Node a(std::move(options));
  zmq::context_t context;
  RawRouter router(context);
  RawDealer dealer(context, a.endpoint());

  // Its hello: protocol 1, six fields, no range. The welcome comes back in protocol 1.
  dealer.send(hello_frame(wire::Hello{"versions-first-build", 5, 77, 1, router.endpoint}, 1));
  auto welcome = dealer.receive();
  REQUIRE(welcome);
  CHECK(only_message(
            *welcome,
            [](wire::MsgType type, const msgpack::object& m) {
              CHECK(type == wire::MsgType::welcome);
              return wire::decode_welcome(m);
            },
            1)
            .name == "versions-d");

  // The node dials back offering its range in the newest version...
  auto first = router.receive();
  REQUIRE(first);
  auto offered = only_message(first->second, [](wire::MsgType type, const msgpack::object& m) {
    CHECK(type == wire::MsgType::hello);
    return wire::decode_hello(m, protocol_version);
  });
  CHECK(offered.min_version == oldest_protocol_version);
  CHECK(offered.max_version == protocol_version);
  // ...which the first build refused, in protocol 1, as it refused any other version.
  router.send(first->first, frame_with(1, [](wire::OutBuffer& out) {
                wire::encode(out, wire::Refuse{wire::RefuseCode::version, "protocol version 1 required"});
              }));
  // The node says hello again in protocol 1, on the same connection, and is welcomed.
  auto second = router.receive();
  REQUIRE(second);
  CHECK(second->first == first->first);
  auto again = only_message(
      second->second,
      [](wire::MsgType type, const msgpack::object& m) {
        CHECK(type == wire::MsgType::hello);
        return wire::decode_hello(m, 1);
      },
      1);
  CHECK(again.name == "versions-d");
  router.send(second->first, frame_with(1, [](wire::OutBuffer& out) {
                wire::encode(out, wire::Welcome{"versions-first-build", 5, false});
              }));
  REQUIRE(eventually([&] { return sees_exactly(a, {"versions-first-build"}); }));
  CHECK(link_protocol(a, "versions-first-build") == 1);
  const auto refused_before = a.stats().refused_peers;

  // It asks for a scope the node does not run: a current peer would get not_here, this one
  // must get nothing it cannot read. Everything the node sends it is protocol 1.
  dealer.send(frame_with(1, [](wire::OutBuffer& out) {
    wire::encode_discover(out, {static_cast<std::uint32_t>(Kind::registry), "nowhere"});
  }));
  std::size_t frames = 0;
  auto until = std::chrono::steady_clock::now() + 1500ms;
  while (std::chrono::steady_clock::now() < until) {
    auto frame = router.receive(100ms);
    if (!frame) continue;
    ++frames;
    wire::FrameReader reader(frame->second.data(), frame->second.size());
    CHECK(reader.read_version() == 1);
    while (auto m = reader.next()) CHECK(wire::message_type(*m) != static_cast<std::uint64_t>(wire::MsgType::not_here));
  }
  CHECK(frames > 0);  // its discovers of the node's scopes, at least
  // The node is ready although this peer never answers: it does not wait on a protocol-1 peer
  // that has not said it runs a scope.
  CHECK(eventually([&] { return a.ready(); }));
  CHECK(a.stats().refused_peers == refused_before);
  CHECK(sees_exactly(a, {"versions-first-build"}));
}

TEST_CASE("versions: a hello from a newer build in a version this node does not speak is refused in ours",
          "[cluster][versions]") {
  Node a(test_options("versions-e"));
  zmq::context_t context;
  RawDealer dealer(context, a.endpoint());
  // A newer build says hello in its newest version first; we answer in our newest, which tells
  // it what to say hello in next.
  dealer.send(frame_with(protocol_version + 1, [](wire::OutBuffer& out) {
    wire::encode(out, wire::Hello{"versions-next-build", 1, 2, 1, "", 1, protocol_version + 1}, protocol_version + 1);
  }));
  auto answer = dealer.receive();
  REQUIRE(answer);
  auto refuse = only_message(*answer, [](wire::MsgType type, const msgpack::object& m) {
    CHECK(type == wire::MsgType::refuse);
    return wire::decode_refuse(m);
  });
  CHECK(refuse.code == wire::RefuseCode::version);
  // In our newest version, with its range, it is welcomed.
  dealer.send(hello_frame(wire::Hello{"versions-next-build", 1, 3, 1, "", 1, protocol_version + 1}));
  auto welcome = dealer.receive();
  REQUIRE(welcome);
  CHECK(only_message(*welcome, [](wire::MsgType type, const msgpack::object& m) {
          CHECK(type == wire::MsgType::welcome);
          return wire::decode_welcome(m);
        }).name == "versions-e");
  // A hello whose range does not hold the version of its frame is malformed.
  const auto malformed_before = a.stats().malformed_frames;
  dealer.send(hello_frame(wire::Hello{"versions-liar", 1, 4, 1, "", protocol_version + 1, protocol_version + 2}));
  CHECK(eventually([&] { return a.stats().malformed_frames == malformed_before + 1; }));
}
