// ControlClient (include/syn/control.hpp): a DEALER to a node's control endpoint; CURVE with
// the cluster key on tcp, as a peer's connection does (transport/gate.hpp). A socket monitor
// tells a refused key apart from nobody answering.
#include <syn/control.hpp>

#include "transport/cluster_key.hpp"
#include "transport/monitor_event.hpp"
#include "transport/transport.hpp"

#include <syn/errors.hpp>

#include <zmq.hpp>

#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <thread>

namespace syn {

namespace {

/// Followers hear at least a heartbeat a second; this much silence means the node is gone.
constexpr auto kFollowSilence = std::chrono::seconds(5);

std::string monitor_address() {
  static std::atomic<std::uint64_t> counter{0};
  return "inproc://syn-control-client-" + std::to_string(++counter);
}

}  // namespace

struct ControlClient::State {
  ControlClientOptions options;
  zmq::context_t context{1};
  zmq::socket_t dealer{context, zmq::socket_type::dealer};
  zmq::socket_t monitor{context, zmq::socket_type::pair};
  bool curve = false;
  std::optional<std::string> refused;  // why the node refused us, when ZeroMQ said so

  /// Reads the monitor: a failed handshake means the node is there but refused our key.
  void read_monitor() {
    while (auto event = transport::read_monitor_event(monitor)) {
      if (event->id & transport::kHandshakeFailures) {
        refused = curve ? "the node refused this cluster key (or wants none)"
                        : "the handshake failed: the node may require a cluster key (--key-file)";
      }
    }
  }

  [[noreturn]] void unreachable(const char* what) {
    read_monitor();
    std::string text = "cannot reach the control endpoint " + options.endpoint + ": ";
    text += refused ? *refused : std::string(what);
    throw Error(Errc::node_down, text);
  }

  /// The next frame within `timeout`, or nullopt.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      zmq::pollitem_t items[] = {{dealer.handle(), 0, ZMQ_POLLIN, 0}, {monitor.handle(), 0, ZMQ_POLLIN, 0}};
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      zmq::poll(items, 2, left);
      if (items[1].revents & ZMQ_POLLIN) read_monitor();
      if (refused) return std::nullopt;
      if (items[0].revents & ZMQ_POLLIN) {
        zmq::message_t frame;
        if (dealer.recv(frame, zmq::recv_flags::dontwait)) return frame.to_string();
      }
    }
  }

  Term parse(const std::string& frame) {
    try {
      return Term::parse(frame);
    } catch (const std::exception&) {
      throw Error(Errc::bad_argument, "the control endpoint " + options.endpoint + " answered with invalid JSON");
    }
  }
};

ControlClient::ControlClient(ControlClientOptions options) : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.options = std::move(options);
  const auto& endpoint = s.options.endpoint;
  bool ipc = endpoint.rfind("ipc://", 0) == 0;
  if (!ipc) transport::check_endpoint(endpoint);
  if (ipc) {
    // A node started a moment ago may not have made its socket yet (a script that starts a
    // node and asks it at once): wait for the file within the timeout.
    auto deadline = std::chrono::steady_clock::now() + s.options.timeout;
    struct stat st {};
    bool exists = false;
    while (endpoint.size() > 6 && !(exists = ::stat(endpoint.c_str() + 6, &st) == 0) &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (!exists) {
      throw Error(Errc::node_down, "cannot reach the control endpoint " + endpoint + ": no such socket file");
    }
  }
  auto keys = transport::configured_keys(s.options.cluster_key, s.options.cluster_key_file);
  s.dealer.set(zmq::sockopt::linger, 0);
  s.dealer.set(zmq::sockopt::ipv6, transport::is_ipv6_endpoint(endpoint) ? 1 : 0);
  if (!ipc && !keys.empty()) {
    s.curve = true;
    s.dealer.set(zmq::sockopt::curve_serverkey, keys.front().public_key);
    s.dealer.set(zmq::sockopt::curve_publickey, keys.front().public_key);
    s.dealer.set(zmq::sockopt::curve_secretkey, keys.front().secret);
  }
  auto address = monitor_address();
  if (zmq_socket_monitor(s.dealer.handle(), address.c_str(), transport::kHandshakeFailures) != 0) {
    throw Error(Errc::bad_argument, "cannot monitor the control connection");
  }
  s.monitor.connect(address);
  s.dealer.connect(endpoint);
}

ControlClient::~ControlClient() = default;

Term ControlClient::request(const Term& request) {
  auto& s = *state_;
  s.dealer.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  auto answer = s.receive(s.options.timeout);
  if (!answer) s.unreachable("no answer");
  return s.parse(*answer);
}

void ControlClient::follow(const Term& request, const std::function<bool(const Term& line)>& on_line) {
  auto& s = *state_;
  s.dealer.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  auto first = s.receive(s.options.timeout);
  if (!first) s.unreachable("no answer");
  if (!on_line(s.parse(*first))) return;
  for (;;) {
    auto line = s.receive(std::chrono::duration_cast<std::chrono::milliseconds>(kFollowSilence));
    if (!line) s.unreachable("the node went silent");
    if (!on_line(s.parse(*line))) return;
  }
}

}  // namespace syn
