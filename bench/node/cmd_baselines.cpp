// Baselines measured in the same run as syn-cpp (issue 14): the floor a syn-cpp round trip is
// compared against. Bare ZeroMQ REQ/REP between two bench node processes, over TCP on
// 127.0.0.1, with small messages: what the transport alone costs, without syn's threads.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <zmq.hpp>

#include <memory>
#include <stdexcept>
#include <string>

namespace syn::bench {

namespace {

// A REP socket that sends back every request, on a thread of its own until the node stops.
Term zmq_echo(BenchNode& b, const Term&) {
  auto context = std::make_shared<zmq::context_t>(1);
  auto socket = std::make_shared<zmq::socket_t>(*context, zmq::socket_type::rep);
  socket->set(zmq::sockopt::linger, 0);
  socket->bind("tcp://127.0.0.1:0");
  std::string endpoint = socket->get(zmq::sockopt::last_endpoint);
  // The socket moves to the background thread (thread start orders everything before it).
  b.start_background([&b, context, socket] {
    zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    while (!b.stopping()) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      zmq::message_t request;
      if (!socket->recv(request, zmq::recv_flags::dontwait)) continue;
      (void)socket->send(request, zmq::send_flags::none);
    }
    socket->close();
  });
  return Term{{"endpoint", endpoint}};
}

// Round trips to a zmq_echo: a REQ socket sends an 8-byte counter and waits for it back.
Term zmq_ping(BenchNode&, const Term& args) {
  auto endpoint = required<std::string>(args, "endpoint");
  auto iterations = std::max<std::size_t>(1, arg<std::size_t>(args, "iterations", 1000));
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::linger, 0);
  socket.set(zmq::sockopt::rcvtimeo, 2000);
  socket.connect(endpoint);
  std::vector<double> samples;
  samples.reserve(iterations);
  const std::size_t warm_up = 100;  // the connection and the first allocations
  for (std::size_t i = 0; i < warm_up + iterations; ++i) {
    std::uint64_t counter = i;
    auto t0 = now_ns();
    (void)socket.send(zmq::buffer(&counter, sizeof counter), zmq::send_flags::none);
    zmq::message_t reply;
    if (!socket.recv(reply, zmq::recv_flags::none)) throw std::runtime_error("zmq_ping: no answer within 2 s");
    if (reply.size() != sizeof counter || *reply.data<std::uint64_t>() != counter) {
      throw std::runtime_error("zmq_ping: a wrong answer");
    }
    if (i >= warm_up) samples.push_back(static_cast<double>(now_ns() - t0));
  }
  return Term{{"latency", latency_json(std::move(samples))}};
}

}  // namespace

void add_baseline_commands(CommandTable& table) {
  table["zmq_echo"] = zmq_echo;
  table["zmq_ping"] = zmq_ping;
}

}  // namespace syn::bench
