#pragma once
// Speaking the wire protocol by hand, as any ZeroMQ program (or an older build of syn-cpp)
// could: frames written byte by byte or with the wire encoders, a raw DEALER that dials a
// node, a raw ROUTER that a node dials. For tests of malformed input and of protocol versions.
#include "wire/frame.hpp"
#include "wire/messages.hpp"

#include <syn/version.hpp>

#include <catch2/catch.hpp>

#include <zmq.hpp>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::raw {

using namespace std::chrono_literals;

/// Bytes from a list of byte values.
inline std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

/// The first byte of a frame of the newest protocol.
inline std::string version_byte() { return bytes({static_cast<int>(protocol_version)}); }

/// A frame of protocol `version` holding what `encode` writes.
template <class Encode>
std::string frame_with(std::uint64_t version, Encode&& encode) {
  wire::OutBuffer out;
  wire::Packer(out).pack_uint64(version);
  encode(out);
  return out.release();
}

/// A frame holding one hello, written in the format of protocol `version`.
inline std::string hello_frame(const wire::Hello& hello, std::uint64_t version = protocol_version) {
  return frame_with(version, [&](wire::OutBuffer& out) { wire::encode(out, hello, version); });
}

/// The one message of a frame sent by a node, as decoded by `decode(type, message)`; the frame
/// must be of protocol `version`.
template <class Decode>
auto only_message(const std::string& frame, Decode&& decode, std::uint64_t version = protocol_version) {
  wire::FrameReader reader(frame.data(), frame.size());
  REQUIRE(reader.read_version() == version);
  auto m = reader.next();
  REQUIRE(m);
  auto type = static_cast<wire::MsgType>(wire::message_type(*m));
  auto decoded = decode(type, *m);
  CHECK_FALSE(reader.next());
  return decoded;
}

/// The next frame on `socket`, waiting at most `timeout` (a poll with a deadline, not a sleep).
inline std::optional<zmq::message_t> receive_on(zmq::socket_t& socket, std::chrono::milliseconds timeout) {
  zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
  if (zmq::poll(&item, 1, timeout) == 0) return std::nullopt;
  zmq::message_t message;
  if (!socket.recv(message, zmq::recv_flags::dontwait)) return std::nullopt;
  return message;
}

/// A raw DEALER, as any ZeroMQ program could open against a node's endpoint.
struct RawDealer {
  zmq::socket_t socket;
  RawDealer(zmq::context_t& context, const std::string& endpoint) : socket(context, zmq::socket_type::dealer) {
    socket.set(zmq::sockopt::linger, 0);
    socket.connect(endpoint);
  }
  void send(const std::string& frame) { REQUIRE(socket.send(zmq::buffer(frame), zmq::send_flags::none)); }
  void send_multipart(const std::vector<std::string>& parts) {
    for (std::size_t i = 0; i < parts.size(); ++i) {
      auto flags = i + 1 < parts.size() ? zmq::send_flags::sndmore : zmq::send_flags::none;
      REQUIRE(socket.send(zmq::buffer(parts[i]), flags));
    }
  }
  /// The next frame, waiting at most `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout = 10s) {
    auto message = receive_on(socket, timeout);
    if (!message) return std::nullopt;
    return message->to_string();
  }
};

/// A raw ROUTER bound on loopback: what a node dials when told this endpoint.
struct RawRouter {
  zmq::socket_t socket;
  std::string endpoint;
  explicit RawRouter(zmq::context_t& context) : socket(context, zmq::socket_type::router) {
    socket.set(zmq::sockopt::linger, 0);
    socket.bind("tcp://127.0.0.1:0");
    endpoint = socket.get(zmq::sockopt::last_endpoint);
  }
  /// The next (routing id, frame), waiting at most `timeout`.
  std::optional<std::pair<std::string, std::string>> receive(std::chrono::milliseconds timeout = 10s) {
    auto rid = receive_on(socket, timeout);
    if (!rid) return std::nullopt;
    REQUIRE(rid->more());
    zmq::message_t payload;
    REQUIRE(socket.recv(payload, zmq::recv_flags::none));
    return std::make_pair(rid->to_string(), payload.to_string());
  }
  void send(const std::string& rid, const std::string& frame) {
    REQUIRE(socket.send(zmq::buffer(rid), zmq::send_flags::sndmore));
    REQUIRE(socket.send(zmq::buffer(frame), zmq::send_flags::none));
  }
};

}  // namespace syn::test::raw
