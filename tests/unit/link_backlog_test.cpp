// A peer that reads slower than it is sent is reset once more than max_link_backlog bytes wait
// unread between the two (protocol 5 on: its heartbeats on our connection say what it read).
// Before, only ZeroMQ's queue of 100,000 frames bounded that, gigabytes of 64 kB frames, and a
// steady overload grew memory instead of resetting the link (SPEC 7: when a queue overflows,
// the link is reset and both sides resync). Real transports over ZeroMQ on loopback; the
// reader applies each message slowly.
#include "support/eventually.hpp"
#include "support/transport_node.hpp"
#include "wire/messages.hpp"

#include <syn/version.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::transport_config;
using syn::test::TransportNode;

namespace {

constexpr auto kHeartbeat = 50ms;  // the reader says what it read this often
constexpr auto kPeerTimeout = 3000ms;
constexpr auto kPerMessage = 5ms;  // the reader's pace: 6 MB/s of these frames
constexpr std::size_t kBodyBytes = 32 << 10;
constexpr int kFrames = 48;                  // 1.5 MB at once, 240 ms to apply
constexpr std::uint64_t kBound = 256 << 10;  // a sixth of that

struct Outcome {
  int sender_overflows, sender_downs, reader_downs, applied;
};

/// `kFrames` frames of one 32 kB message each, sent at once to a reader that takes 5 ms a
/// message; returns once it applied them all or the link ended.
Outcome send_to_slow_reader(std::uint64_t max_link_backlog, std::uint32_t protocol) {
  zmq::context_t context;
  auto sender_config = transport_config("backlog-sender", kHeartbeat, kPeerTimeout, protocol);
  sender_config.max_link_backlog = max_link_backlog;
  TransportNode reader(context, transport_config("backlog-reader", kHeartbeat, kPeerTimeout, protocol), kPerMessage);
  TransportNode sender(context, sender_config);
  sender.dial(reader);
  REQUIRE(eventually([&] { return reader.listener.ups == 1 && sender.listener.ups == 1; }, 10s));

  wire::OutBuffer body;
  msgpack::packer<wire::OutBuffer>(body).pack(std::string(kBodyBytes, 'x'));
  std::atomic<int> sent{0};
  sender.engine.post([&] {
    for (int frame = 0; frame < kFrames; ++frame) {
      wire::OutBuffer* out = sender.transport.out(reader.atom);
      if (out == nullptr) return;  // the link ended: counted below
      wire::encode_send(*out, {1, static_cast<std::uint64_t>(frame + 1)}, body.view());
      sender.transport.flush();  // a frame of its own
      ++sent;
    }
  });
  bool ended = eventually(
      [&] { return sender.listener.downs > 0 || (sent == kFrames && reader.listener.applied == kFrames); }, 30s, 10ms);
  CHECK(ended);
  return {sender.listener.overflows, sender.listener.downs, reader.listener.downs, reader.listener.applied};
}

}  // namespace

TEST_CASE("link backlog: a peer further behind than max_link_backlog is reset", "[unit][transport][backlog]") {
  REQUIRE(protocol_version >= wire::read_acks_since);
  auto outcome = send_to_slow_reader(kBound, protocol_version);
  CHECK(outcome.sender_overflows >= 1);
  CHECK(outcome.applied < kFrames);  // it never had to read what was left
}

TEST_CASE("link backlog: the same load within the bound, or with no bound, keeps the link",
          "[unit][transport][backlog]") {
  // Shows the load alone does not end the link: what ends it above is the bound.
  for (std::uint64_t bound : {std::uint64_t{0}, std::uint64_t{64} << 20}) {
    INFO("max_link_backlog " << bound);
    auto outcome = send_to_slow_reader(bound, protocol_version);
    CHECK(outcome.sender_downs == 0);
    CHECK(outcome.reader_downs == 0);
    CHECK(outcome.applied == kFrames);
  }
}

TEST_CASE("link backlog: a peer of protocol 4 says nothing of what it read and is never reset for it",
          "[unit][transport][backlog]") {
  // A node of the build before: its heartbeats carry no count, and no count is not "nothing read".
  auto outcome = send_to_slow_reader(kBound, wire::read_acks_since - 1);
  CHECK(outcome.sender_downs == 0);
  CHECK(outcome.applied == kFrames);
}

TEST_CASE("link backlog: a reader that keeps up is not reset, however much passes between two of its heartbeats",
          "[unit][transport][backlog]") {
  // The link is judged when a heartbeat brings a count: between two of them, what was sent
  // since the last one is not late yet. Heartbeats a second apart, and eight times the bound
  // sent within one second, each frame read before the next goes.
  constexpr auto kSlowHeartbeat = 1000ms;
  constexpr int kSteadyFrames = 64;  // 2 MB
  zmq::context_t context;
  auto sender_config = transport_config("steady-sender", kSlowHeartbeat, 10'000ms);
  sender_config.max_link_backlog = kBound;
  TransportNode reader(context, transport_config("steady-reader", kSlowHeartbeat, 10'000ms));
  TransportNode sender(context, sender_config);
  sender.dial(reader);
  REQUIRE(eventually([&] { return reader.listener.ups == 1 && sender.listener.ups == 1; }, 10s));

  wire::OutBuffer body;
  msgpack::packer<wire::OutBuffer>(body).pack(std::string(kBodyBytes, 'x'));
  for (int frame = 0; frame < kSteadyFrames; ++frame) {
    sender.engine.post([&, frame] {
      wire::OutBuffer* out = sender.transport.out(reader.atom);
      if (out == nullptr) return;  // the link ended: checked below
      wire::encode_send(*out, {1, static_cast<std::uint64_t>(frame + 1)}, body.view());
      sender.transport.flush();
    });
    REQUIRE(eventually([&] { return reader.listener.applied == frame + 1 || sender.listener.downs > 0; }, 10s, 1ms));
    REQUIRE(sender.listener.downs == 0);
  }
  // A heartbeat after the last frame says the reader read it all: judged on it, the link held.
  auto unread = [&] {
    for (const auto& link : sender.engine.call([&] { return sender.transport.links(); })) {
      if (link.name == "steady-reader" && link.up) return link.unread_bytes;
    }
    return std::uint64_t{1};
  };
  CHECK(eventually([&] { return unread() == 0; }, 10s));
  CHECK(sender.listener.downs == 0);
  CHECK(sender.listener.overflows == 0);
  CHECK(reader.listener.downs == 0);
}
