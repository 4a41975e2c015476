// Links found down in one pass over the sockets are told in one call (issue 14). When 8 of 64
// nodes died at once, every survivor purged each of them with its own scan of the whole table:
// 8 scans of a million names. The transport now holds the downs of a pass and tells them
// together (TransportListener::on_peers_down), and each scope purges them in one scan. Real
// transports and engine threads over ZeroMQ on loopback: three peers end while the hub's
// engine thread is held, and the hub must hear of all three in one call. A link that ends
// while the node is idle, or that the node ends itself outside a pass, is told alone and at once.
#include "support/eventually.hpp"
#include "support/transport_node.hpp"

#include <catch2/catch.hpp>

#include <poll.h>

#include <atomic>
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::transport_config;
using syn::test::TransportNode;

namespace {

/// True once every fd in `fds` is readable, polling until `deadline`.
bool all_readable(const std::vector<int>& fds, std::chrono::steady_clock::time_point deadline) {
  std::vector<pollfd> items;
  for (int fd : fds) items.push_back(pollfd{fd, POLLIN, 0});
  while (std::chrono::steady_clock::now() < deadline) {
    if (::poll(items.data(), items.size(), 10) < 0) return false;
    std::size_t readable = 0;
    for (auto& item : items) {
      if (item.revents & POLLIN) ++readable;
      item.revents = 0;
    }
    if (readable == items.size()) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("links that end while a node is busy are told down together, in one call", "[unit][transport]") {
  constexpr int kPeers = 3;
  zmq::context_t context;
  auto config = [](const std::string& name) { return transport_config(name, 50ms, 3000ms); };
  TransportNode hub(context, config("together-hub"));
  std::vector<std::unique_ptr<TransportNode>> peers;
  for (int i = 0; i < kPeers; ++i) {
    peers.push_back(std::make_unique<TransportNode>(context, config("together-" + std::to_string(i))));
    peers.back()->dial(hub);
  }
  REQUIRE(eventually([&] { return hub.listener.ups == kPeers; }, 10s));

  // The hub's engine thread is held by a task of its own while the peers end. It lets go once
  // ZeroMQ holds news of every link for it (their monitors are readable), so that the hub's
  // next pass over its sockets finds all three down.
  std::promise<std::vector<int>> held;
  std::atomic<bool> news_of_all{false};
  hub.engine.post([&] {
    auto fds = hub.transport.up_link_monitor_fds();
    held.set_value(fds);
    news_of_all = all_readable(fds, std::chrono::steady_clock::now() + 10s);
  });
  auto fds = held.get_future().get();
  REQUIRE(fds.size() == static_cast<std::size_t>(kPeers));
  peers.clear();  // their sockets close: the hub's connections to them end

  REQUIRE(eventually([&] { return hub.listener.downs == kPeers; }, 10s));
  CHECK(news_of_all);
  CHECK(hub.listener.largest_down_batch == kPeers);
}

TEST_CASE("a link that ends while the node is idle is told down at once, alone", "[unit][transport]") {
  zmq::context_t context;
  auto config = [](const std::string& name) { return transport_config(name, 50ms, 3000ms); };
  TransportNode hub(context, config("alone-hub"));
  auto peer = std::make_unique<TransportNode>(context, config("alone-peer"));
  TransportNode other(context, config("alone-other"));
  peer->dial(hub);
  other.dial(hub);
  REQUIRE(eventually([&] { return hub.listener.ups == 2; }, 10s));
  peer.reset();
  REQUIRE(eventually([&] { return hub.listener.downs == 1; }, 10s));
  CHECK(hub.listener.largest_down_batch == 1);
}

TEST_CASE("a link the node ends itself outside a pass is told down before the call returns", "[unit][transport]") {
  // Node::disconnect runs as an engine task, not inside a pass over the sockets: nothing
  // would tell a down held there until the next pass (a tick, up to a heartbeat later), and
  // nodes() would still list the peer after disconnect returned.
  zmq::context_t context;
  auto config = [](const std::string& name) { return transport_config(name, 50ms, 3000ms); };
  TransportNode hub(context, config("outside-hub"));
  TransportNode peer(context, config("outside-peer"));
  TransportNode other(context, config("outside-other"));
  peer.dial(hub);
  other.dial(hub);
  REQUIRE(eventually([&] { return hub.listener.ups == 2; }, 10s));
  std::promise<int> told_within;
  hub.engine.post([&] {
    hub.transport.disconnect(peer.atom);
    told_within.set_value(hub.listener.downs.load());
  });
  CHECK(told_within.get_future().get() == 1);
  CHECK(hub.listener.largest_down_batch == 1);
  CHECK(hub.listener.downs == 1);  // the other link stays up
}
