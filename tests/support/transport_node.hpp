#pragma once
// A transport and its engine thread on 127.0.0.1, for tests of links under load: real ZeroMQ,
// no node above it. The listener counts what the transport tells and can apply each message
// slowly (a sleep: the few percent of a core a crowded node gets).
#include "node/engine.hpp"
#include "transport/transport.hpp"

#include <syn/version.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace syn::test {

/// Counts what the transport tells; applies each message in `per_message` (engine thread).
class CountingListener : public transport::TransportListener {
 public:
  explicit CountingListener(std::chrono::milliseconds per_message) : per_message_(per_message) {}
  void on_peer_up(std::uint32_t, std::uint32_t) override { ++ups; }
  void on_peer_down(std::uint32_t, std::uint32_t, transport::DownReason reason) override {
    ++downs;
    if (reason == transport::DownReason::timeout) ++timeouts;
    if (reason == transport::DownReason::overflow) ++overflows;
  }
  void on_peers_down(const std::vector<transport::PeerDown>& downs) override {
    int size = static_cast<int>(downs.size());
    int seen = largest_down_batch.load();
    while (size > seen && !largest_down_batch.compare_exchange_weak(seen, size)) {}
    TransportListener::on_peers_down(downs);  // each one, counted above
  }
  void on_peer_message(std::uint32_t, const msgpack::object&, std::size_t) override {
    // The load itself (a crowded node's share of a core), not a wait for an outcome.
    if (per_message_.count() > 0) std::this_thread::sleep_for(per_message_);
    ++applied;
  }
  std::atomic<int> ups{0}, downs{0}, timeouts{0}, overflows{0}, applied{0};
  /// The most links told down in one call (on_peers_down).
  std::atomic<int> largest_down_batch{0};

 private:
  std::chrono::milliseconds per_message_;
};

/// Test settings of a transport: no auto-connect, the given timings and newest protocol.
inline transport::TransportConfig transport_config(const std::string& name, std::chrono::milliseconds heartbeat,
                                                   std::chrono::milliseconds peer_timeout,
                                                   std::uint32_t max_protocol = protocol_version) {
  transport::TransportConfig c;
  c.node_name = name;
  c.creation = 1;
  c.heartbeat_interval = heartbeat;
  c.peer_timeout = peer_timeout;
  c.auto_connect = false;
  c.max_protocol = max_protocol;
  return c;
}

/// A transport bound on 127.0.0.1 and its engine thread; stops the thread first.
struct TransportNode {
  TransportNode(zmq::context_t& context, const transport::TransportConfig& config,
                std::chrono::milliseconds per_message = std::chrono::milliseconds(0))
      : listener(per_message),
        transport(context, config, listener),
        engine(config.node_name),
        atom(detail::intern_node_name(config.node_name)),
        endpoint(transport.bind("tcp://127.0.0.1:0")) {
    engine.start(transport);
  }
  ~TransportNode() { engine.stop(); }
  TransportNode(const TransportNode&) = delete;
  TransportNode& operator=(const TransportNode&) = delete;

  /// Dials `other` from this node's engine thread.
  void dial(const TransportNode& other) {
    engine.post([this, endpoint = other.endpoint] { transport.connect(endpoint); });
  }

  CountingListener listener;
  transport::Transport transport;
  detail::Engine engine;
  std::uint32_t atom;
  std::string endpoint;
};

}  // namespace syn::test
