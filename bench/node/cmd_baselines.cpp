// Baselines measured in the same run as syn-cpp (issue 14): the floors a syn-cpp round trip
// and a one-way stream are compared against. Bare ZeroMQ REQ/REP and PUSH/PULL between two
// bench node processes, over TCP on 127.0.0.1, with small messages: what the transport alone
// costs, without syn's threads.
#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/bench_node.hpp"
#include "node/latency.hpp"

#include <zmq.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <thread>

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

// The receiving end of the one-way floor: when the last of the expected messages arrived.
struct ZmqSink {
  std::atomic<std::size_t> received{0};
  std::atomic<std::int64_t> done_at{0};  ///< monotonic ns; 0 until all arrived
};

/// The one-way floor's message size: PERFORMANCE.md's bare ZeroMQ figure is for 64 bytes.
constexpr std::size_t kOneWayBytes = 64;

// A PULL socket that takes `expected` messages on a thread of its own (zmq_sink_wait tells
// when the last arrived). ZeroMQ's defaults otherwise, as a user would have them.
Term zmq_sink(BenchNode& b, const Term& args) {
  auto expected = required<std::size_t>(args, "expected");
  auto context = std::make_shared<zmq::context_t>(1);
  auto socket = std::make_shared<zmq::socket_t>(*context, zmq::socket_type::pull);
  socket->set(zmq::sockopt::linger, 0);
  socket->bind("tcp://127.0.0.1:0");
  std::string endpoint = socket->get(zmq::sockopt::last_endpoint);
  auto sink = std::make_shared<ZmqSink>();
  b.keep("zmq_sink", sink);
  b.start_background([&b, context, socket, sink, expected] {
    zmq::pollitem_t item{socket->handle(), 0, ZMQ_POLLIN, 0};
    std::size_t received = 0;
    while (!b.stopping() && received < expected) {
      if (zmq::poll(&item, 1, std::chrono::milliseconds(100)) == 0) continue;
      zmq::message_t message;
      while (received < expected && socket->recv(message, zmq::recv_flags::dontwait)) ++received;
      sink->received.store(received, std::memory_order_relaxed);
    }
    if (received == expected) sink->done_at.store(now_ns(), std::memory_order_release);
    socket->close();
  });
  return Term{{"endpoint", endpoint}};
}

// Waits until the zmq_sink of this node took all it expected: its time.
Term zmq_sink_wait(BenchNode& b, const Term& args) {
  auto sink = std::static_pointer_cast<ZmqSink>(b.kept("zmq_sink"));
  if (!sink) throw std::runtime_error("zmq_sink_wait: no zmq_sink on this node");
  auto deadline = now_ns() + ms_to_ns(arg<std::int64_t>(args, "timeout_ms", 60000));
  while (sink->done_at.load(std::memory_order_acquire) == 0) {
    if (now_ns() > deadline || b.stopping()) {
      throw std::runtime_error("zmq_sink_wait: received " + std::to_string(sink->received.load()) + " in time");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return Term{{"t", sink->done_at.load()}, {"received", sink->received.load()}};
}

// Sends `count` messages of kOneWayBytes to a zmq_sink, from start_at on, as fast as ZeroMQ
// takes them (a full queue blocks the sender, as it would a user).
Term zmq_push_many(BenchNode&, const Term& args) {
  auto endpoint = required<std::string>(args, "endpoint");
  auto count = required<std::size_t>(args, "count");
  auto start_at = arg<std::int64_t>(args, "start_at", 0);
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::push);
  socket.set(zmq::sockopt::linger, 10000);  // what is queued still goes out after the loop
  socket.connect(endpoint);
  auto late = lateness(start_at, now_ns());
  sleep_until_ns(start_at);
  char payload[kOneWayBytes] = {};
  for (std::size_t i = 0; i < count; ++i) {
    std::memcpy(payload, &i, sizeof i);
    if (!socket.send(zmq::buffer(payload, sizeof payload), zmq::send_flags::none)) {
      throw std::runtime_error("zmq_push_many: a send failed");
    }
  }
  return Term{{"t_end", now_ns()}, {"late_ns", late}};
}

}  // namespace

void add_baseline_commands(CommandTable& table) {
  table["zmq_echo"] = zmq_echo;
  table["zmq_ping"] = zmq_ping;
  table["zmq_sink"] = zmq_sink;
  table["zmq_sink_wait"] = zmq_sink_wait;
  table["zmq_push_many"] = zmq_push_many;
}

}  // namespace syn::bench
