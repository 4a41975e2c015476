// A node under garbage: raw ZeroMQ sockets and a raw TCP socket throw malformed frames at a
// node's endpoint. Every bad frame is dropped and counted (NodeStats::malformed_frames), and
// the node keeps serving its real peer (SPEC section 7).
#include "support/cluster.hpp"
#include "support/loopback_tcp.hpp"
#include "support/raw_wire.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/multicast_messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/syn.hpp>
#include <syn/version.hpp>

#include <catch2/catch.hpp>

#include <zmq.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;
using syn::test::test_options;
using namespace syn::test::raw;

namespace {

int port_of(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

/// A raw TCP connection to 127.0.0.1:port.
struct RawTcp {
  int fd = -1;
  explicit RawTcp(int port) : fd(syn::test::connect_loopback_tcp(port)) { REQUIRE(fd >= 0); }
  ~RawTcp() {
    if (fd >= 0) ::close(fd);
  }
  RawTcp(const RawTcp&) = delete;
  RawTcp& operator=(const RawTcp&) = delete;
  void write(const std::string& data) {
    std::size_t done = 0;
    while (done < data.size()) {
      auto n = ::send(fd, data.data() + done, data.size() - done, MSG_NOSIGNAL);
      if (n <= 0) return;  // the node may close on us mid-way: that is its right
      done += static_cast<std::size_t>(n);
    }
  }
  /// Reads and discards until the node closes the connection (true) or `timeout` passes.
  bool closed_by_peer(std::chrono::milliseconds timeout = 10s) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    char buffer[4096];
    for (;;) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      auto n = ::recv(fd, buffer, sizeof buffer, 0);
      if (n <= 0) return true;
    }
  }
};

/// A message from `from` reaches a fresh process on `to`.
bool delivers(Node& from, Node& to, const Term& body) {
  auto p = to.spawn();
  from.send(p.pid(), body);
  auto m = p.receive(5s);
  return m && m->body == body;
}

/// A ZMTP/1.0 frame (what libzmq still accepts from a peer that opens without a ZMTP/3
/// greeting): a length (of flags + body), a flags byte, the body.
std::string zmtp1_frame(const std::string& body, bool more = false) {
  std::string out;
  std::size_t length = body.size() + 1;
  if (length < 255) {
    out.push_back(static_cast<char>(length));
  } else {
    out.push_back(static_cast<char>(0xff));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((length >> shift) & 0xff));
  }
  out.push_back(static_cast<char>(more ? 1 : 0));
  return out + body;
}

/// A stranger that completes the handshake with `node` (says hello, is welcomed, and welcomes
/// the node's hello on its own ROUTER, which the node dials back): an up peer, which then
/// sends what the test writes on `raw`. It sends no heartbeats: give the node a long
/// peer_timeout.
struct UpStranger {
  zmq::socket_t router;
  RawDealer raw;

  UpStranger(zmq::context_t& context, Node& node, const std::string& name)
      : router(context, zmq::socket_type::router), raw(context, node.endpoint()) {
    router.set(zmq::sockopt::linger, 0);
    router.bind("tcp://127.0.0.1:0");
    const std::string endpoint = router.get(zmq::sockopt::last_endpoint);
    raw.send(hello_frame(wire::Hello{name, 5, 77, 1, endpoint}));
    auto welcome = raw.receive();
    REQUIRE(welcome);
    CHECK(only_message(*welcome, [](wire::MsgType type, const msgpack::object& m) {
            CHECK(type == wire::MsgType::welcome);
            return wire::decode_welcome(m);
          }).name == node.name());
    // The node dials back and says hello: welcome it, and the link is up.
    zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
    REQUIRE(zmq::poll(&item, 1, 10s) == 1);
    zmq::message_t rid, payload;
    REQUIRE(router.recv(rid, zmq::recv_flags::none));
    REQUIRE(rid.more());
    REQUIRE(router.recv(payload, zmq::recv_flags::none));
    auto their_hello = only_message(payload.to_string(), [](wire::MsgType type, const msgpack::object& m) {
      CHECK(type == wire::MsgType::hello);
      return wire::decode_hello(m);
    });
    CHECK(their_hello.name == node.name());
    auto welcome_back = frame_with(protocol_version, [&](wire::OutBuffer& out) {
      wire::encode(out, wire::Welcome{name, 5, false});
    });
    REQUIRE(router.send(zmq::buffer(rid.to_string()), zmq::send_flags::sndmore));
    REQUIRE(router.send(zmq::buffer(welcome_back), zmq::send_flags::none));
    REQUIRE(eventually([&] { return sees_exactly(node, {name}); }));
  }
};

}  // namespace

TEST_CASE("garbage frames are dropped and counted while the node keeps serving", "[cluster][garbage]") {
  Node a(test_options("garbage-a"));
  auto options_b = test_options("garbage-b");
  options_b.seeds.push_back(a.endpoint());
  Node b(std::move(options_b));
  REQUIRE(eventually([&] { return sees_exactly(a, {"garbage-b"}) && sees_exactly(b, {"garbage-a"}); }));
  REQUIRE(delivers(b, a, "before"));
  const auto a_before = a.stats();
  const auto b_before = b.stats();
  CHECK(a_before.malformed_frames == 0);

  // Frames that cannot be anything but malformed, whoever sends them.
  std::vector<std::string> garbage;
  // Random bytes, led by a byte that cannot start a version (not a non-negative integer).
  std::mt19937_64 rng(0xbadf00d);
  for (int i = 0; i < 200; ++i) {
    std::string frame(1 + rng() % 300, '\0');
    for (auto& c : frame) c = static_cast<char>(rng());
    std::uint8_t lead;
    do { lead = static_cast<std::uint8_t>(rng()); } while (lead <= 0x7f || (lead >= 0xcc && lead <= 0xd3));
    frame[0] = static_cast<char>(lead);
    garbage.push_back(frame);
  }
  garbage.push_back("");  // an empty frame
  // A real hello, truncated at many points (but past the version).
  auto hello = hello_frame(wire::Hello{"garbage-intruder", 1, 2, 3, a.endpoint()});
  for (std::size_t n = 2; n < hello.size(); n += 3) garbage.push_back(hello.substr(0, n));
  // A valid version followed by junk.
  for (const auto& junk :
       {bytes({0xc1}), bytes({0x05}), bytes({0x90}), bytes({0x91, 0xa1, 'x'}), bytes({0x92, 0x04, 0xc1}),
        bytes({0xa5, 'h', 'e', 'l', 'l', 'o'}), bytes({0xd4, 0x01, 0x01})}) {
    garbage.push_back(version_byte() + junk);
  }
  // Huge declared sizes and deep nesting.
  garbage.push_back(version_byte() + bytes({0xdd, 0xff, 0xff, 0xff, 0xff}));
  garbage.push_back(version_byte() + bytes({0xdf, 0xff, 0xff, 0xff, 0xff}) + std::string(64, '\x01'));
  garbage.push_back(version_byte() + bytes({0x92, 0x01, 0xdb, 0x7f, 0xff, 0xff, 0xff, 'x'}));
  garbage.push_back(version_byte() + std::string(1000, static_cast<char>(0x91)) + bytes({0x01}));
  // Hellos with wrong field types, counts or values.
  garbage.push_back(version_byte() + bytes({0x96, 0x01, 0x2a, 0x01, 0x02, 0x03, 0xa0}));            // name an integer
  garbage.push_back(version_byte() + bytes({0x96, 0x01, 0xa1, 'x', 0xa1, '1', 0x02, 0x03, 0xa0}));  // creation a string
  garbage.push_back(version_byte() + bytes({0x96, 0x01, 0xa1, 'x', 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0, 0x02, 0x03, 0xa0}));
  garbage.push_back(version_byte() + bytes({0x93, 0x01, 0xa1, 'x', 0x01}));                          // too few fields
  garbage.push_back(version_byte() + bytes({0x97, 0x01, 0xa1, 'x', 0x01, 0x02, 0x03, 0xa0, 0xc0}));  // too many
  garbage.push_back(hello_frame(wire::Hello{"", 1, 2, 3, ""}));                                      // no name
  // Text, whose first byte reads as a version (any byte to 0x7f is a small integer), in one
  // this node speaks or not: garbage all the same, not a peer of another version.
  garbage.push_back("garbage");
  garbage.push_back("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
  garbage.push_back("\x05garbage");
  garbage.push_back(bytes({0x63}) + bytes({0x91, 0x04}));  // version 99, a heartbeat first
  garbage.push_back(bytes({0x63, 0xc1}));                  // version 99, then no value
  // A hello whose type is 2^32 + 1: it must not be read as a hello.
  garbage.push_back(version_byte() + bytes({0x96, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0x01}) + bytes({0xb0}) +
                    "garbage-intruder" + bytes({0x01, 0x02, 0x03, 0xa0}));

  zmq::context_t context;
  RawDealer raw(context, a.endpoint());
  for (const auto& frame : garbage) raw.send(frame);
  // Multipart messages: a node never sends them.
  raw.send_multipart({version_byte(), bytes({0x91, 0x04})});
  raw.send_multipart({"x", "y", "z"});
  const std::uint64_t expected = garbage.size() + 2;

  // Last, a hello speaking another protocol version: refused, and answered on this very
  // connection. Frames of one connection are handled in order, so once the answer is here
  // everything above has been handled.
  raw.send(hello_frame(wire::Hello{"garbage-future", 1, 2, 3, ""}, protocol_version + 1));
  auto answer = raw.receive();
  REQUIRE(answer);
  auto refuse = only_message(*answer, [](wire::MsgType type, const msgpack::object& m) {
    CHECK(type == wire::MsgType::refuse);
    return wire::decode_refuse(m);
  });
  CHECK(refuse.code == wire::RefuseCode::version);
  // Nothing else came back: no garbage frame was taken for a hello.
  CHECK_FALSE(raw.receive(0ms));

  auto a_after = a.stats();
  CHECK(a_after.malformed_frames == a_before.malformed_frames + expected);
  CHECK(a_after.refused_peers == a_before.refused_peers + 1);
  CHECK(a_after.link_resets == a_before.link_resets);

  // A raw TCP connection writing junk: ZeroMQ's handshake rejects it and hangs up.
  {
    RawTcp tcp(port_of(a.endpoint()));
    std::string junk(4096, '\0');
    for (auto& c : junk) c = static_cast<char>(rng());
    junk[0] = static_cast<char>(0xff);  // a ZMTP/3 signature start...
    junk[9] = static_cast<char>(0x7f);
    junk[10] = static_cast<char>(0x7f);  // ...with an impossible version and mechanism
    tcp.write(junk);
    CHECK(tcp.closed_by_peer());
  }
  // A raw TCP connection speaking ZMTP/1.0 with malformed frames in it: they reach the node
  // (as frames from an unknown connection) and are counted like any other.
  {
    RawTcp tcp(port_of(a.endpoint()));
    std::string stream = zmtp1_frame("");  // the identity frame: empty
    stream += zmtp1_frame(bytes({0xc1}));
    stream += zmtp1_frame(version_byte() + bytes({0xdd, 0xff, 0xff, 0xff, 0xff}));
    stream += zmtp1_frame(std::string(300, static_cast<char>(0x91)));
    tcp.write(stream);
    CHECK(eventually([&] { return a.stats().malformed_frames == a_after.malformed_frames + 3; }));
    // A frame length beyond what a node accepts: the connection is dropped.
    tcp.write(bytes({0xff, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00}));
    CHECK(tcp.closed_by_peer());
  }
  CHECK(a.stats().malformed_frames == a_after.malformed_frames + 3);

  // The node still serves: the link to its peer is up on both sides, messages cross both ways.
  CHECK(sees_exactly(a, {"garbage-b"}));
  CHECK(sees_exactly(b, {"garbage-a"}));
  CHECK(delivers(b, a, Term{{"after", "garbage"}}));
  CHECK(delivers(a, b, Term::array({1, 2, 3})));
  // The peer saw none of it, and no link was reset.
  auto b_after = b.stats();
  CHECK(b_after.malformed_frames == b_before.malformed_frames);
  CHECK(b_after.link_resets == b_before.link_resets);
  CHECK(a.stats().link_resets == a_before.link_resets);
  // Nothing posing as a node got in.
  CHECK_FALSE(a.is_alive(Pid("garbage-intruder", 1, 1)));
}

TEST_CASE("garbage: a client that reconnects to send garbage gets one log line, naming its address",
          "[cluster][garbage]") {
  // SPEC 9: a repeated warning is logged once and then counted. Each connection has a new
  // routing id, so lines that named it were never the same line: one per connection.
  struct Lines {
    std::mutex mutex;
    std::vector<std::pair<std::string, std::string>> malformed;  // text, peer
  };
  auto lines = std::make_shared<Lines>();
  set_log_record_sink([lines](const LogRecord& r) {
    if (r.text.find("dropped a malformed frame") == std::string_view::npos) return;
    std::lock_guard lock(lines->mutex);
    lines->malformed.emplace_back(r.text, r.peer);
  });
  struct Restore {
    ~Restore() { set_log_record_sink(nullptr); }
  } restore;
  Node a(test_options("garbage-loop"));
  zmq::context_t context;
  const int connections = 30;
  for (int i = 0; i < connections; ++i) {
    RawDealer raw(context, a.endpoint());
    raw.send(version_byte() + bytes({0xc1}));
    // Its frame is handled before the connection goes (else the node may never read it).
    REQUIRE(eventually([&] { return a.stats().malformed_frames == static_cast<std::uint64_t>(i + 1); }));
  }
  std::lock_guard lock(lines->mutex);
  REQUIRE(lines->malformed.size() == 1);
  CHECK(lines->malformed[0].first.find("from a connection from 127.0.0.1") != std::string::npos);
  CHECK(lines->malformed[0].second == "127.0.0.1");  // SPEC 9: the record's peer field
}

TEST_CASE("garbage: malformed messages inside a live peer session are dropped and counted", "[cluster][garbage]") {
  // A stranger that completes the handshake (says hello, is welcomed), then sends bad data.
  // It sends no heartbeats: a long peer_timeout keeps it up meanwhile.
  auto options = test_options("garbage-c");
  options.peer_timeout = 30s;
  Node a(std::move(options));
  zmq::context_t context;
  UpStranger stranger(context, a, "garbage-stranger");
  RawDealer& raw = stranger.raw;
  const auto before = a.stats();

  // Now, as an up peer: bad messages of known types, an unknown type, a send to a pid with
  // a body that is not a term, and a valid heartbeat last.
  std::vector<std::string> bad = {
      version_byte() + bytes({0x91, 0x63}),                                                      // unknown type 99
      version_byte() + bytes({0x93, 0x0a, 0x01, 0x02}),                                          // send, too few fields
      version_byte() + bytes({0x94, 0x0a, 0x01, 0x02, 0xd4, 0x01, 0x00}),                        // send, ext body
      version_byte() + bytes({0x94, 0x0a, 0x01, 0x02, 0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}),  // dup keys
      version_byte() + bytes({0x94, 0x0a, 0x01, 0x02}) + std::string(50, static_cast<char>(0x91)) + bytes({0x01}),
      version_byte() + bytes({0x92, 0x0d, 0xa1, 'x'}),              // demonitor, ref a string
      version_byte() + bytes({0x92, 0x03, 0x09}),                   // bye, unknown reason
      version_byte() + bytes({0x92, 0x05, 0xc0}),                   // peers, not a list
      version_byte() + bytes({0x92, 0x05, 0x91, 0x91, 0xa1, 'x'}),  // peers, short entry
  };
  for (const auto& frame : bad) raw.send(frame);
  REQUIRE(eventually([&] { return a.stats().malformed_frames >= before.malformed_frames + bad.size(); }));
  CHECK(a.stats().malformed_frames == before.malformed_frames + bad.size());
  // The link survived all of it, and the peer's good messages are still taken.
  CHECK(sees_exactly(a, {"garbage-stranger"}));
  auto p = a.spawn();
  raw.send(frame_with(protocol_version, [&](wire::OutBuffer& out) {
    wire::encode_send(out, {p.pid().creation(), p.pid().id()}, wire::canonical(Term("still here")));
  }));
  auto m = p.receive(5s);
  REQUIRE(m);
  CHECK(m->body == "still here");
  CHECK(a.stats().malformed_frames == before.malformed_frames + bad.size());
}

TEST_CASE("garbage: a hello naming an endpoint that cannot be dialled does not bring the node down",
          "[cluster][garbage]") {
  // Not endpoints at all, and endpoints that look right but that ZeroMQ refuses to dial.
  const std::string bad_endpoint =
      GENERATE(as<std::string>{}, "not an endpoint", "tcp://*:5", "tcp://a b:5", "ipc://@");
  INFO("endpoint " << bad_endpoint);
  Node a(test_options("garbage-d"));
  auto options_b = test_options("garbage-e");
  options_b.seeds.push_back(a.endpoint());
  Node b(std::move(options_b));
  REQUIRE(eventually([&] { return sees_exactly(a, {"garbage-e"}) && sees_exactly(b, {"garbage-d"}); }));

  zmq::context_t context;
  // A listener that refuses the node's dial-back as stale: the node schedules a redial.
  zmq::socket_t router(context, zmq::socket_type::router);
  router.set(zmq::sockopt::linger, 0);
  router.bind("tcp://127.0.0.1:0");
  const std::string refusing_endpoint = router.get(zmq::sockopt::last_endpoint);
  const auto before = a.stats();

  RawDealer first(context, a.endpoint());
  first.send(hello_frame(wire::Hello{"garbage-ghost", 1, 11, 1, refusing_endpoint}));
  REQUIRE(first.receive());  // welcome
  zmq::pollitem_t item{router.handle(), 0, ZMQ_POLLIN, 0};
  REQUIRE(zmq::poll(&item, 1, 10s) == 1);
  zmq::message_t rid, payload;
  REQUIRE(router.recv(rid, zmq::recv_flags::none));
  REQUIRE(router.recv(payload, zmq::recv_flags::none));
  auto refuse = frame_with(protocol_version, [](wire::OutBuffer& out) {
    wire::encode(out, wire::Refuse{wire::RefuseCode::stale, "go away"});
  });
  REQUIRE(router.send(zmq::buffer(rid.to_string()), zmq::send_flags::sndmore));
  REQUIRE(router.send(zmq::buffer(refuse), zmq::send_flags::none));
  REQUIRE(eventually([&] { return a.stats().refused_peers == before.refused_peers + 1; }));

  // The same "node" opens a new session and now claims an endpoint that is not one.
  RawDealer second(context, a.endpoint());
  second.send(hello_frame(wire::Hello{"garbage-ghost", 1, 22, 2, bad_endpoint}));

  // The redial falls due (one second after the refusal); the node must live through it and
  // keep serving its real peer.
  CHECK(stays([&] { return sees_exactly(a, {"garbage-e"}); }, 2500ms));
  CHECK(delivers(b, a, "alive"));
  CHECK(delivers(a, b, "alive"));
  CHECK(sees_exactly(b, {"garbage-d"}));
}

TEST_CASE("garbage: a multicast message that breaks its stream is dropped and counted, and resets the link",
          "[cluster][garbage]") {
  // SPEC 8.5.2: a peer in the multicast scope acknowledges messages of this node's stream
  // that this node never sent; the link is reset, a node down for the group.
  auto options = test_options("garbage-m", {"s"});
  options.peer_timeout = 30s;
  Node a(std::move(options));
  auto member = a.spawn();
  struct Quiet : MulticastHandler {
    void on_message(const Pid&, const Term&) override {}
  };
  auto joined = a.multicast("s").join("g", member, std::make_shared<Quiet>());
  REQUIRE(joined);
  const View view = joined->view();
  REQUIRE(view.members == std::vector<Pid>{member.pid()});
  zmq::context_t context;
  UpStranger stranger(context, a, "garbage-gap");
  const wire::ScopeAddress address{static_cast<std::uint32_t>(Kind::multicast), "s"};
  stranger.raw.send(frame_with(protocol_version, [&](wire::OutBuffer& out) { wire::encode_discover(out, address); }));
  const auto before = a.stats();
  stranger.raw.send(frame_with(protocol_version, [&](wire::OutBuffer& out) {
    wire::begin_scope_message(out, address);
    wire::multicast::encode(
        out, wire::multicast::Envelope{wire::canonical(Term("g")),
                                       wire::multicast::Ack{view.id, {{member.pid().node_atom(), 1000}}}});
  }));
  REQUIRE(eventually([&] { return sees_exactly(a, {}); }));
  CHECK(a.stats().malformed_frames == before.malformed_frames + 1);
  // The group goes on: its member still publishes and is confirmed.
  CHECK(joined->confirmed_broadcast("after", 10s));
}
