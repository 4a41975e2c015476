#pragma once
// The gate of a node with a cluster key (SPEC 7): CURVE on every socket, the ZAP handler that
// admits only a client proving it holds the cluster key, and the monitor of the listening
// socket that counts and logs every refused handshake. A refused peer never gets past ZeroMQ's
// handshake: not one of its frames reaches the transport. Engine thread only.
//
// Every node holds the same key pair, made from the cluster's secret: as a CURVE server its
// ROUTER proves it holds the secret to each client (a client dials with the cluster's public
// key as the server key), and as a CURVE client each DEALER proves it too, which the ZAP
// handler checks (the client's long-term public key must be the cluster's).
#include "common/clock.hpp"
#include "transport/cluster_key.hpp"
#include "transport/monitor_event.hpp"
#include "transport/refusal_log.hpp"

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace syn::transport {

class Gate {
 public:
  /// Binds the ZAP handler in `context` (it must exist before any CURVE socket accepts).
  /// `keys`: the cluster's key pair first (this node's server key), then those also accepted.
  Gate(zmq::context_t& context, std::string node_name, std::vector<CurveKeys> keys,
       std::chrono::milliseconds handshake_timeout, std::uint64_t& refused_counter, RefusalLog& log);
  ~Gate();
  Gate(const Gate&) = delete;
  Gate& operator=(const Gate&) = delete;

  /// Makes `router` a CURVE server and watches its handshakes. Call once, before binding it
  /// and before polling.
  void guard_router(zmq::socket_t& router);
  /// Makes `dealer` a CURVE client with key pair `index` (as server key and client key: a
  /// peer on that key answers to it). Call before connecting it.
  void guard_dealer(zmq::socket_t& dealer, std::size_t index = 0) const;
  /// How many keys a dealer may try (1 outside a key rotation).
  std::size_t key_count() const { return keys_.size(); }

  /// Appends the ZAP and monitor sockets to the poll items; handle_poll reads them.
  void fill_poll_items(std::vector<zmq::pollitem_t>& items);
  void handle_poll(const std::vector<zmq::pollitem_t>& items, std::size_t first);

 private:
  void answer_zap_requests();
  void on_router_event(const MonitorEvent& event);

  zmq::context_t& context_;
  std::string node_name_;
  std::vector<CurveKeys> keys_;
  std::vector<std::string> accepted_public_raw_;  // 32 bytes each, as ZAP requests carry client keys
  std::chrono::milliseconds handshake_timeout_;
  std::uint64_t& refused_;
  zmq::socket_t zap_;
  zmq::socket_t router_monitor_;
  RefusalLog& log_;
};

}  // namespace syn::transport
