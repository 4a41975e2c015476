// The wire layer never trusts its input: every protocol message round-trips through a
// FrameWriter and a FrameReader, and every malformed frame or message is rejected with
// wire::DecodeError (never a crash, never a silent accept, never an absurd allocation).
#include "fuzz/frame_fuzz_body.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/version.hpp>

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

using syn::Term;
namespace wire = syn::wire;
using wire::DecodeError;
using wire::MsgType;

namespace {

constexpr std::uint32_t u32_max = std::numeric_limits<std::uint32_t>::max();
constexpr std::uint64_t u64_max = std::numeric_limits<std::uint64_t>::max();

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

std::string hex(std::string_view s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s.substr(0, 48)) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
    out.push_back(' ');
  }
  if (s.size() > 48) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

/// Bytes written by a msgpack packer.
template <class F>
std::string pk(F&& f) {
  wire::OutBuffer out;
  wire::Packer p(out);
  f(p);
  return out.release();
}

std::string version_byte() {
  return pk([](wire::Packer& p) { p.pack_uint32(syn::protocol_version); });
}

/// A frame of hand-built messages.
std::string frame_of(std::initializer_list<std::string> messages) {
  std::string out = version_byte();
  for (const auto& m : messages) out += m;
  return out;
}

/// A copy on the heap of exactly `size` bytes, so that a sanitizer build catches any read
/// past the end (a std::string's small buffer would hide it).
std::vector<char> exact(std::string_view s) { return std::vector<char>(s.begin(), s.end()); }

bool same_term(const Term& a, const Term& b) { return a == b && wire::canonical(a) == wire::canonical(b); }

Term to_term(const msgpack::object& o) {
  Term t;
  REQUIRE(wire::to_term(o, t));
  return t;
}

/// Reads a whole frame: its version and all its messages (objects live as long as this).
struct ReadFrame {
  std::vector<char> data;
  wire::FrameReader reader;
  std::vector<msgpack::object> messages;
  explicit ReadFrame(std::string_view frame) : data(exact(frame)), reader(data.data(), data.size()) {
    REQUIRE(reader.read_version() == syn::protocol_version);
    while (auto m = reader.next()) messages.push_back(*m);
  }
  const msgpack::object& only() {
    REQUIRE(messages.size() == 1);
    return messages[0];
  }
};

/// Encodes one message into a fresh frame, the way the transport does.
template <class Encode>
std::string frame_with(Encode&& encode) {
  wire::FrameWriter w;
  w.packer();  // starts the frame: the version
  encode(w.buffer());
  return w.take();
}

/// Decodes any message by its type (reset has no fields and no decoder).
void decode_any(const msgpack::object& m) {
  switch (static_cast<MsgType>(wire::message_type(m))) {
    case MsgType::hello: wire::decode_hello(m); break;
    case MsgType::refuse: wire::decode_refuse(m); break;
    case MsgType::bye: wire::decode_bye(m); break;
    case MsgType::heartbeat: wire::decode_heartbeat_bytes_read(m); break;
    case MsgType::peers: wire::decode_peers(m); break;
    case MsgType::welcome: wire::decode_welcome(m); break;
    case MsgType::reset: break;
    case MsgType::send: wire::decode_send(m); break;
    case MsgType::exit: wire::decode_exit(m); break;
    case MsgType::monitor: wire::decode_monitor(m); break;
    case MsgType::demonitor: wire::decode_demonitor(m); break;
    case MsgType::down: wire::decode_down(m); break;
    case MsgType::mcall: wire::decode_mcall(m); break;
    case MsgType::mcall_reply: wire::decode_mcall_reply(m); break;
    case MsgType::publish: wire::decode_publish(m); break;
    case MsgType::discover: wire::decode_discover(m); break;
    case MsgType::not_here: wire::decode_not_here(m); break;
    case MsgType::ack_sync: wire::decode_ack_sync(m); break;
    case MsgType::scope: wire::decode_scope_message(m); break;
    case MsgType::call: wire::decode_call(m); break;
    case MsgType::reply: wire::decode_reply(m); break;
    default: throw DecodeError("unknown type");
  }
}

/// Reads and decodes a whole frame; returns how many messages it held. Throws DecodeError.
std::size_t read_and_decode(std::string_view frame) {
  auto data = exact(frame);
  wire::FrameReader reader(data.data(), data.size());
  reader.read_version();
  std::size_t n = 0;
  while (auto m = reader.next()) {
    decode_any(*m);
    ++n;
  }
  return n;
}

/// The frame is rejected by the structural walk itself (so msgpack-cxx never sees it and
/// cannot allocate for it), and FrameReader turns that into DecodeError.
void check_rejected_before_msgpack(const std::string& value) {
  INFO("value " << hex(value));
  auto data = exact(value);
  CHECK_FALSE(wire::checked_value_length(data.data(), data.size()));
  CHECK_THROWS_AS(read_and_decode(frame_of({value})), DecodeError);
}

const Term sample_term = {{"name", "hedy"}, {"n", -3}, {"f", 2.5}, {"list", Term::array({1, "two", nullptr})}};

}  // namespace

// ================================================================================================
// Round trips
// ================================================================================================

TEST_CASE("wire: link messages round-trip through a frame", "[unit][wire][messages]") {
  SECTION("hello") {
    for (const auto& m :
         {wire::Hello{"alpha@host", 7, 0x1122334455667788ULL, 3, "tcp://127.0.0.1:4001"}, wire::Hello{"", 0, 0, 0, ""},
          wire::Hello{std::string(70000, 'n'), u32_max, u64_max, u64_max, std::string(300, 'e')}}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode(out, m); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::hello));
      auto d = wire::decode_hello(f.only());
      CHECK(d.name == m.name);
      CHECK(d.creation == m.creation);
      CHECK(d.session == m.session);
      CHECK(d.epoch == m.epoch);
      CHECK(d.endpoint == m.endpoint);
      CHECK(d.min_version == syn::oldest_protocol_version);
      CHECK(d.max_version == syn::protocol_version);
    }
  }
  SECTION("hello in each protocol version") {
    wire::Hello m{"alpha", 7, 9, 3, "tcp://h:1", 1, 5};
    // Protocol 1: six fields, no range (it speaks 1 only).
    ReadFrame v1(frame_with([&](auto& out) { wire::encode(out, m, 1); }));
    CHECK(v1.only().via.array.size == 6);
    auto d1 = wire::decode_hello(v1.only(), 1);
    CHECK(d1.name == "alpha");
    CHECK(d1.min_version == 1);
    CHECK(d1.max_version == 1);
    CHECK_THROWS_AS(wire::decode_hello(v1.only(), 2), wire::DecodeError);  // too few fields for 2
    // Protocol 2: the range (whether it holds the frame's version is the transport's check).
    ReadFrame v2(frame_with([&](auto& out) { wire::encode(out, m, 2); }));
    CHECK(v2.only().via.array.size == 8);
    auto d2 = wire::decode_hello(v2.only(), 2);
    CHECK(d2.min_version == 1);
    CHECK(d2.max_version == 5);
    CHECK_THROWS_AS(wire::decode_hello(v2.only(), 1), wire::DecodeError);  // too many fields for 1
  }
  SECTION("welcome") {
    for (const auto& m : {wire::Welcome{"beta", 1, false}, wire::Welcome{"b\xc3\xa9ta", u32_max, true}}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode(out, m); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::welcome));
      auto d = wire::decode_welcome(f.only());
      CHECK(d.name == m.name);
      CHECK(d.creation == m.creation);
      CHECK(d.duplicate == m.duplicate);
    }
  }
  SECTION("refuse") {
    for (auto code :
         {wire::RefuseCode::version, wire::RefuseCode::name_taken, wire::RefuseCode::self, wire::RefuseCode::stale}) {
      wire::Refuse m{code, "because " + std::to_string(static_cast<int>(code))};
      ReadFrame f(frame_with([&](auto& out) { wire::encode(out, m); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::refuse));
      auto d = wire::decode_refuse(f.only());
      CHECK(d.code == m.code);
      CHECK(d.text == m.text);
    }
  }
  SECTION("bye") {
    for (auto reason : {wire::ByeReason::leaving, wire::ByeReason::disconnect}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode(out, wire::Bye{reason}); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::bye));
      CHECK(wire::decode_bye(f.only()).reason == reason);
    }
  }
  SECTION("heartbeat and reset carry only their type") {
    ReadFrame hb(frame_with([](auto& out) { wire::encode_heartbeat(out); }));
    CHECK(wire::message_type(hb.only()) == static_cast<std::uint32_t>(MsgType::heartbeat));
    CHECK(hb.only().via.array.size == 1);
    ReadFrame reset(frame_with([](auto& out) { wire::encode_reset(out); }));
    CHECK(wire::message_type(reset.only()) == static_cast<std::uint32_t>(MsgType::reset));
    CHECK(reset.only().via.array.size == 1);
    CHECK_FALSE(wire::decode_heartbeat_bytes_read(hb.only()).has_value());  // an older node's
  }
  SECTION("peers") {
    wire::Peers empty;
    wire::Peers some{{{"a", "tcp://127.0.0.1:1"}, {"b", ""}, {"", "tcp://[::1]:2"}}};
    wire::Peers many;
    for (int i = 0; i < 100; ++i) many.peers.emplace_back("n" + std::to_string(i), "tcp://h:" + std::to_string(i));
    for (const auto* m : {&empty, &some, &many}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode(out, *m); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::peers));
      CHECK(wire::decode_peers(f.only()).peers == m->peers);
    }
  }
}

TEST_CASE("wire: process messages round-trip through a frame", "[unit][wire][messages]") {
  const wire::LocalPid pid{42, 0xdeadbeefcafeULL};
  const wire::LocalPid max_pid{u32_max, u64_max};
  SECTION("send") {
    for (const Term& body : {sample_term, Term(), Term(1), Term(1.0), Term::binary({1, 2, 3})}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode_send(out, pid, wire::canonical(body)); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::send));
      auto d = wire::decode_send(f.only());
      CHECK(d.to.creation == pid.creation);
      CHECK(d.to.id == pid.id);
      CHECK(same_term(d.body, body));
    }
  }
  SECTION("exit") {
    ReadFrame f(frame_with([&](auto& out) { wire::encode_exit(out, max_pid, Term("killed")); }));
    CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::exit));
    auto d = wire::decode_exit(f.only());
    CHECK(d.to.creation == u32_max);
    CHECK(d.to.id == u64_max);
    CHECK(same_term(d.reason, Term("killed")));
  }
  SECTION("monitor and demonitor") {
    ReadFrame f(frame_with([&](auto& out) {
      wire::encode(out, wire::Monitor{77, pid});
      wire::encode(out, wire::Demonitor{u64_max});
    }));
    REQUIRE(f.messages.size() == 2);
    CHECK(wire::message_type(f.messages[0]) == static_cast<std::uint32_t>(MsgType::monitor));
    auto mon = wire::decode_monitor(f.messages[0]);
    CHECK(mon.ref == 77);
    CHECK(mon.target.creation == pid.creation);
    CHECK(mon.target.id == pid.id);
    CHECK(wire::message_type(f.messages[1]) == static_cast<std::uint32_t>(MsgType::demonitor));
    CHECK(wire::decode_demonitor(f.messages[1]).ref == u64_max);
  }
  SECTION("down") {
    ReadFrame f(frame_with([&](auto& out) { wire::encode_down(out, 9, sample_term); }));
    CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::down));
    auto d = wire::decode_down(f.only());
    CHECK(d.ref == 9);
    CHECK(same_term(d.reason, sample_term));
  }
  SECTION("mcall and mcall_reply") {
    ReadFrame f(frame_with([&](auto& out) {
      wire::encode_mcall(out, 5, pid, wire::canonical(Term::array({"ping", 1})), Term{{"meta", true}});
      wire::encode_mcall_reply(out, 5, max_pid, false, Term("pong"));
      wire::encode_mcall_reply(out, 6, pid, true, Term("killed"));
    }));
    REQUIRE(f.messages.size() == 3);
    CHECK(wire::message_type(f.messages[0]) == static_cast<std::uint32_t>(MsgType::mcall));
    auto call = wire::decode_mcall(f.messages[0]);
    CHECK(call.call_id == 5);
    CHECK(call.to.creation == pid.creation);
    CHECK(call.to.id == pid.id);
    CHECK(same_term(call.body, Term::array({"ping", 1})));
    CHECK(same_term(call.member_meta, Term{{"meta", true}}));
    CHECK(wire::message_type(f.messages[1]) == static_cast<std::uint32_t>(MsgType::mcall_reply));
    auto reply = wire::decode_mcall_reply(f.messages[1]);
    CHECK(reply.call_id == 5);
    CHECK(reply.member.creation == u32_max);
    CHECK(reply.member.id == u64_max);
    CHECK_FALSE(reply.died);
    CHECK(same_term(reply.answer, Term("pong")));
    auto died = wire::decode_mcall_reply(f.messages[2]);
    CHECK(died.call_id == 6);
    CHECK(died.member.creation == pid.creation);
    CHECK(died.member.id == pid.id);
    CHECK(died.died);
    CHECK(same_term(died.answer, Term("killed")));
  }
  SECTION("publish") {
    std::vector<std::uint64_t> many;
    for (std::uint64_t i = 0; i < 1000; ++i) many.push_back(i * 0x10001ULL);
    for (const auto& ids :
         {std::vector<std::uint64_t>{}, std::vector<std::uint64_t>{7}, many, std::vector<std::uint64_t>{0, u64_max}}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode_publish(out, 9, ids, wire::canonical(sample_term)); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::publish));
      auto d = wire::decode_publish(f.only());
      CHECK(d.creation == 9);
      CHECK(d.ids == ids);
      CHECK(same_term(d.body, sample_term));
    }
  }
}

TEST_CASE("wire: scope messages round-trip through a frame, with their payloads", "[unit][wire][messages]") {
  const wire::ScopeAddress address{2, "users"};
  auto payload = [](wire::OutBuffer& out, int n) {
    wire::Packer p(out);
    p.pack_array(3);
    p.pack_int64(-n);
    p.pack_str(3);
    p.pack_str_body("abc", 3);
    p.pack_map(1);
    p.pack_str(1);
    p.pack_str_body("k", 1);
    p.pack_nil();
  };
  auto payload_term = [](int n) { return Term::array({-n, "abc", Term{{"k", nullptr}}}); };

  SECTION("discover") {
    for (const auto& a : {address, wire::ScopeAddress{0, ""}, wire::ScopeAddress{u32_max, std::string(1000, 's')}}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode_discover(out, a); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::discover));
      auto d = wire::decode_discover(f.only());
      CHECK(d.kind == a.kind);
      CHECK(d.scope == a.scope);
    }
  }
  SECTION("not_here") {
    for (const auto& a : {address, wire::ScopeAddress{0, ""}, wire::ScopeAddress{u32_max, std::string(1000, 's')}}) {
      ReadFrame f(frame_with([&](auto& out) { wire::encode_not_here(out, a); }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::not_here));
      auto d = wire::decode_not_here(f.only());
      CHECK(d.kind == a.kind);
      CHECK(d.scope == a.scope);
    }
  }
  SECTION("ack_sync") {
    for (bool last : {false, true}) {
      ReadFrame f(frame_with([&](auto& out) {
        wire::begin_ack_sync(out, address, last);
        payload(out, 1);
      }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::ack_sync));
      auto d = wire::decode_ack_sync(f.only());
      CHECK(d.address.kind == address.kind);
      CHECK(d.address.scope == address.scope);
      CHECK(d.last == last);
      REQUIRE(d.payload);
      CHECK(same_term(to_term(*d.payload), payload_term(1)));
    }
  }
  SECTION("scope") {
    ReadFrame f(frame_with([&](auto& out) {
      wire::begin_scope_message(out, address);
      payload(out, 2);
    }));
    CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::scope));
    auto d = wire::decode_scope_message(f.only());
    CHECK(d.address.kind == address.kind);
    CHECK(d.address.scope == address.scope);
    REQUIRE(d.payload);
    CHECK(same_term(to_term(*d.payload), payload_term(2)));
  }
  SECTION("call") {
    ReadFrame f(frame_with([&](auto& out) {
      wire::begin_call(out, u64_max, address);
      payload(out, 3);
    }));
    CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::call));
    auto d = wire::decode_call(f.only());
    CHECK(d.request_id == u64_max);
    CHECK(d.address.kind == address.kind);
    CHECK(d.address.scope == address.scope);
    REQUIRE(d.payload);
    CHECK(same_term(to_term(*d.payload), payload_term(3)));
  }
  SECTION("reply") {
    for (std::uint32_t status : {0u, 1u, u32_max}) {
      ReadFrame f(frame_with([&](auto& out) {
        wire::begin_reply(out, 11, status);
        wire::Packer(out).pack_nil();
      }));
      CHECK(wire::message_type(f.only()) == static_cast<std::uint32_t>(MsgType::reply));
      auto d = wire::decode_reply(f.only());
      CHECK(d.request_id == 11);
      CHECK(d.status == status);
      REQUIRE(d.payload);
      CHECK(d.payload->type == msgpack::type::NIL);
    }
  }
}

TEST_CASE("wire: many messages batched in one frame come out in order", "[unit][wire][messages]") {
  const wire::ScopeAddress address{1, "s"};
  // Written both ways the transport writes: straight into the frame's buffer, and encoded
  // elsewhere then appended.
  wire::FrameWriter w;
  CHECK(w.empty());
  w.packer();
  wire::encode(w.buffer(), wire::Hello{"a", 1, 2, 3, "tcp://x:1"});
  wire::encode_heartbeat(w.buffer());
  wire::OutBuffer elsewhere;
  wire::encode_send(elsewhere, {1, 2}, wire::canonical(Term("body")));
  wire::begin_scope_message(elsewhere, address);
  wire::Packer(elsewhere).pack_uint64(99);
  w.append_messages(elsewhere.view());
  wire::encode(w.buffer(), wire::Bye{wire::ByeReason::leaving});
  for (int i = 0; i < 200; ++i) wire::encode(w.buffer(), wire::Demonitor{static_cast<std::uint64_t>(i)});
  wire::begin_reply(w.buffer(), 8, 0);
  wire::Packer(w.buffer()).pack_true();
  auto frame = w.take();
  CHECK(w.empty());

  ReadFrame f(frame);
  REQUIRE(f.messages.size() == 6 + 200);
  CHECK(wire::decode_hello(f.messages[0]).endpoint == "tcp://x:1");
  CHECK(wire::message_type(f.messages[1]) == static_cast<std::uint32_t>(MsgType::heartbeat));
  CHECK(same_term(wire::decode_send(f.messages[2]).body, Term("body")));
  auto scope = wire::decode_scope_message(f.messages[3]);
  CHECK(scope.address.scope == "s");
  CHECK(scope.payload->via.u64 == 99);
  CHECK(wire::decode_bye(f.messages[4]).reason == wire::ByeReason::leaving);
  for (int i = 0; i < 200; ++i) CHECK(wire::decode_demonitor(f.messages[5 + i]).ref == static_cast<std::uint64_t>(i));
  auto reply = wire::decode_reply(f.messages[205]);
  CHECK(reply.request_id == 8);
  CHECK(reply.payload->type == msgpack::type::BOOLEAN);

  // append_messages on an empty writer starts the frame with the version too.
  wire::FrameWriter w2;
  wire::OutBuffer hb;
  wire::encode_heartbeat(hb);
  w2.append_messages(hb.view());
  w2.append_messages(hb.view());
  CHECK(w2.take() == version_byte() + std::string(hb.view()) + std::string(hb.view()));
}

TEST_CASE("wire: last_bytes is the raw message, ready to forward", "[unit][wire][messages]") {
  wire::OutBuffer a, b;
  wire::encode(a, wire::Monitor{1, {2, 3}});
  wire::encode_down(b, 4, sample_term);
  auto data = exact(version_byte() + std::string(a.view()) + std::string(b.view()));
  wire::FrameReader reader(data.data(), data.size());
  REQUIRE(reader.read_version() == syn::protocol_version);
  REQUIRE(reader.next());
  CHECK(reader.last_bytes() == a.view());
  REQUIRE(reader.next());
  CHECK(reader.last_bytes() == b.view());
  CHECK_FALSE(reader.next());
  CHECK_FALSE(reader.next());  // stays at the end
}

// ================================================================================================
// Field schemas: every field of every message, replaced by each wrong type
// ================================================================================================

namespace {

enum class Kind { u32, u64, str, boolean, term, payload, bye_reason, peers, u64_list };

struct Schema {
  const char* name;
  MsgType type;
  std::vector<Kind> kinds;                       // fields after the type
  std::vector<std::string> fields;               // valid raw bytes of those fields
  std::function<void(wire::OutBuffer&)> encode;  // the real encoder, same values
  std::function<void(const msgpack::object&)> decode;
};

std::string u32(std::uint32_t v) {
  return pk([&](auto& p) { p.pack_uint32(v); });
}
std::string u64(std::uint64_t v) {
  return pk([&](auto& p) { p.pack_uint64(v); });
}
std::string str(std::string_view s) {
  return pk([&](auto& p) {
    p.pack_str(static_cast<std::uint32_t>(s.size()));
    p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  });
}
std::string boolean(bool b) { return b ? bytes({0xc3}) : bytes({0xc2}); }
std::string term(const Term& t) { return wire::canonical(t); }

std::string array_header(std::size_t n) {
  return pk([&](auto& p) { p.pack_array(static_cast<std::uint32_t>(n)); });
}

std::string message(MsgType type, const std::vector<std::string>& fields) {
  std::string out = array_header(fields.size() + 1) + u32(static_cast<std::uint32_t>(type));
  for (const auto& f : fields) out += f;
  return out;
}

std::vector<Schema> schemas() {
  const wire::ScopeAddress address{3, "scope"};
  const std::string payload = term(Term::array({1, "x"}));
  return {
      {"hello",
       MsgType::hello,
       {Kind::str, Kind::u32, Kind::u64, Kind::u64, Kind::str, Kind::u32, Kind::u32},
       {str("n"), u32(7), u64(1ULL << 40), u64(2), str("tcp://h:1"), u32(1), u32(syn::protocol_version)},
       [](auto& out) {
         wire::encode(out, wire::Hello{"n", 7, 1ULL << 40, 2, "tcp://h:1", 1, syn::protocol_version});
       },
       [](const auto& o) { wire::decode_hello(o); }},
      {"welcome",
       MsgType::welcome,
       {Kind::str, Kind::u32, Kind::boolean},
       {str("n"), u32(70000), boolean(true)},
       [](auto& out) {
         wire::encode(out, wire::Welcome{"n", 70000, true});
       },
       [](const auto& o) { wire::decode_welcome(o); }},
      {"refuse",
       MsgType::refuse,
       {Kind::u32, Kind::str},
       {u32(2), str("taken")},
       [](auto& out) {
         wire::encode(out, wire::Refuse{wire::RefuseCode::name_taken, "taken"});
       },
       [](const auto& o) { wire::decode_refuse(o); }},
      {"bye",
       MsgType::bye,
       {Kind::bye_reason},
       {u32(2)},
       [](auto& out) { wire::encode(out, wire::Bye{wire::ByeReason::disconnect}); },
       [](const auto& o) { wire::decode_bye(o); }},
      {"peers",
       MsgType::peers,
       {Kind::peers},
       {array_header(2) + array_header(2) + str("a") + str("tcp://a:1") + array_header(2) + str("b") +
        str("tcp://b:2")},
       [](auto& out) {
         wire::encode(out, wire::Peers{{{"a", "tcp://a:1"}, {"b", "tcp://b:2"}}});
       },
       [](const auto& o) { wire::decode_peers(o); }},
      {"send",
       MsgType::send,
       {Kind::u32, Kind::u64, Kind::term},
       {u32(1), u64(300), term(sample_term)},
       [](auto& out) {
         wire::encode_send(out, {1, 300}, wire::canonical(sample_term));
       },
       [](const auto& o) { wire::decode_send(o); }},
      {"exit",
       MsgType::exit,
       {Kind::u32, Kind::u64, Kind::term},
       {u32(1), u64(300), term("normal")},
       [](auto& out) {
         wire::encode_exit(out, {1, 300}, "normal");
       },
       [](const auto& o) { wire::decode_exit(o); }},
      {"monitor",
       MsgType::monitor,
       {Kind::u64, Kind::u32, Kind::u64},
       {u64(5), u32(1), u64(300)},
       [](auto& out) {
         wire::encode(out, wire::Monitor{5, {1, 300}});
       },
       [](const auto& o) { wire::decode_monitor(o); }},
      {"demonitor",
       MsgType::demonitor,
       {Kind::u64},
       {u64(5)},
       [](auto& out) { wire::encode(out, wire::Demonitor{5}); },
       [](const auto& o) { wire::decode_demonitor(o); }},
      {"down",
       MsgType::down,
       {Kind::u64, Kind::term},
       {u64(5), term("noproc")},
       [](auto& out) { wire::encode_down(out, 5, "noproc"); },
       [](const auto& o) { wire::decode_down(o); }},
      {"mcall",
       MsgType::mcall,
       {Kind::u64, Kind::u32, Kind::u64, Kind::term, Kind::term},
       {u64(9), u32(1), u64(300), term("ping"), term(Term{{"m", 1}})},
       [](auto& out) {
         wire::encode_mcall(out, 9, {1, 300}, wire::canonical("ping"), Term{{"m", 1}});
       },
       [](const auto& o) { wire::decode_mcall(o); }},
      {"mcall_reply",
       MsgType::mcall_reply,
       {Kind::u64, Kind::u32, Kind::u64, Kind::boolean, Kind::term},
       {u64(9), u32(1), u64(300), boolean(false), term("pong")},
       [](auto& out) {
         wire::encode_mcall_reply(out, 9, {1, 300}, false, "pong");
       },
       [](const auto& o) { wire::decode_mcall_reply(o); }},
      {"publish",
       MsgType::publish,
       {Kind::u32, Kind::u64_list, Kind::term},
       {u32(4), array_header(3) + u64(1) + u64(1ULL << 33) + u64(0), term(sample_term)},
       [](auto& out) {
         wire::encode_publish(out, 4, {1, 1ULL << 33, 0}, wire::canonical(sample_term));
       },
       [](const auto& o) { wire::decode_publish(o); }},
      {"discover",
       MsgType::discover,
       {Kind::u32, Kind::str},
       {u32(3), str("scope")},
       [=](auto& out) { wire::encode_discover(out, address); },
       [](const auto& o) { wire::decode_discover(o); }},
      {"ack_sync",
       MsgType::ack_sync,
       {Kind::u32, Kind::str, Kind::boolean, Kind::payload},
       {u32(3), str("scope"), boolean(false), payload},
       [=](auto& out) {
         wire::begin_ack_sync(out, address, false);
         out.append(payload);
       },
       [](const auto& o) { wire::decode_ack_sync(o); }},
      {"scope",
       MsgType::scope,
       {Kind::u32, Kind::str, Kind::payload},
       {u32(3), str("scope"), payload},
       [=](auto& out) {
         wire::begin_scope_message(out, address);
         out.append(payload);
       },
       [](const auto& o) { wire::decode_scope_message(o); }},
      {"call",
       MsgType::call,
       {Kind::u64, Kind::u32, Kind::str, Kind::payload},
       {u64(12), u32(3), str("scope"), payload},
       [=](auto& out) {
         wire::begin_call(out, 12, address);
         out.append(payload);
       },
       [](const auto& o) { wire::decode_call(o); }},
      {"reply",
       MsgType::reply,
       {Kind::u64, Kind::u32, Kind::payload},
       {u64(12), u32(4), payload},
       [=](auto& out) {
         wire::begin_reply(out, 12, 4);
         out.append(payload);
       },
       [](const auto& o) { wire::decode_reply(o); }},
  };
}

// Values of every msgpack family.
const std::string v_nil = bytes({0xc0});
const std::string v_true = bytes({0xc3});
const std::string v_false = bytes({0xc2});
const std::string v_zero = bytes({0x00});
const std::string v_one = bytes({0x01});
const std::string v_neg = bytes({0xff});
const std::string v_neg64 = bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0});
const std::string v_f64 = bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0});
const std::string v_f32 = bytes({0xca, 0x3f, 0x80, 0, 0});
const std::string v_str = bytes({0xa1, '5'});
const std::string v_bin = bytes({0xc4, 0x01, '5'});
const std::string v_array = bytes({0x91, 0x05});
const std::string v_empty_array = bytes({0x90});
const std::string v_map = bytes({0x81, 0xa1, 'k', 0x05});
const std::string v_ext = bytes({0xd4, 0x01, 0x05});
const std::string v_u32_over = bytes({0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0});  // 2^32
const std::string v_u32_max = bytes({0xce, 0xff, 0xff, 0xff, 0xff});
const std::string v_u64_max = bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff});

std::string deep_term(std::size_t depth) { return std::string(depth, static_cast<char>(0x91)) + bytes({0xc0}); }

struct Variants {
  std::vector<std::string> bad;
  std::vector<std::string> good;
};

Variants variants(Kind kind) {
  const std::vector<std::string> not_uint = {v_nil, v_true, v_false, v_neg,         v_neg64, v_f64, v_f32,
                                             v_str, v_bin,  v_array, v_empty_array, v_map,   v_ext};
  switch (kind) {
    case Kind::u32: {
      auto bad = not_uint;
      bad.push_back(v_u32_over);
      bad.push_back(v_u64_max);
      return {bad, {v_zero, v_u32_max, bytes({0xcf, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff})}};
    }
    case Kind::u64: return {not_uint, {v_zero, v_u32_over, v_u64_max}};
    case Kind::str:
      return {{v_nil, v_true, v_zero, v_one, v_neg, v_f64, v_bin, v_array, v_map, v_ext},
              {bytes({0xa0}), bytes({0xd9, 0x01, 'x'}), bytes({0xdb, 0, 0, 0, 0x01, 0xc1})}};
    case Kind::boolean:
      return {{v_nil, v_zero, v_one, v_neg, v_f64, bytes({0xa4, 't', 'r', 'u', 'e'}), v_bin, v_array, v_map, v_ext},
              {v_true, v_false}};
    case Kind::term:
      return {{v_ext, bytes({0x81, 0x01, 0x02}), bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02}),
               bytes({0x92, 0x01, 0xd4, 0x01, 0x00}), deep_term(syn::wire::max_term_depth + 1)},
              {v_nil, v_true, v_zero, v_neg64, v_f32, v_str, v_bin, v_array, v_empty_array, v_map,
               bytes({0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02}), deep_term(syn::wire::max_term_depth)}};
    case Kind::payload:
      // Any value: the scope handler validates its own payload.
      return {{}, {v_nil, v_true, v_zero, v_neg, v_f64, v_str, v_bin, v_array, v_map, v_ext}};
    case Kind::bye_reason: {
      auto bad = not_uint;
      for (auto v : {bytes({0x00}), bytes({0x03}), v_u32_max, v_u32_over}) bad.push_back(v);
      return {bad, {bytes({0x01}), bytes({0x02}), bytes({0xcd, 0x00, 0x02})}};
    }
    case Kind::peers: {
      auto entry = [](const std::string& a, const std::string& b) { return array_header(2) + a + b; };
      std::vector<std::string> bad = {v_nil, v_zero, v_str, v_map, v_ext, bytes({0x81, 0xa1, 'a', 0xa1, 'b'})};
      for (const auto& wrong : {v_nil, v_zero, v_bin, v_array, v_map}) {
        bad.push_back(array_header(1) + entry(wrong, str("e")));
        bad.push_back(array_header(1) + entry(str("n"), wrong));
      }
      bad.push_back(array_header(1) + v_str);                                             // entry not an array
      bad.push_back(array_header(1) + array_header(1) + str("n"));                        // entry too short
      bad.push_back(array_header(1) + array_header(3) + str("n") + str("e") + str("x"));  // too long
      bad.push_back(array_header(1) + v_empty_array);
      bad.push_back(array_header(2) + entry(str("a"), str("b")) + v_nil);  // second entry bad
      return {bad, {v_empty_array, array_header(1) + entry(str(""), str(""))}};
    }
    case Kind::u64_list: {
      std::vector<std::string> bad = {v_nil, v_zero, v_str, v_bin, v_ext, bytes({0x81, 0xa0, 0x01})};
      for (const auto& wrong : {v_nil, v_true, v_neg, v_neg64, v_f64, v_str, v_array, v_map, v_ext}) {
        bad.push_back(array_header(1) + wrong);
        bad.push_back(array_header(3) + v_one + v_one + wrong);
      }
      return {bad, {v_empty_array, array_header(2) + v_u64_max + v_zero}};
    }
  }
  return {};
}

void decode_in_frame(const Schema& s, const std::string& msg) {
  ReadFrame f(frame_of({msg}));
  s.decode(f.only());
}

}  // namespace

TEST_CASE("wire: the schemas here match the real encoders", "[unit][wire][messages]") {
  for (const auto& s : schemas()) {
    INFO(s.name);
    REQUIRE(s.kinds.size() == s.fields.size());
    wire::OutBuffer real;
    s.encode(real);
    CHECK(hex(message(s.type, s.fields)) == hex(real.view()));
    CHECK_NOTHROW(decode_in_frame(s, message(s.type, s.fields)));
  }
}

TEST_CASE("wire: every field of every message rejects wrong types and ranges", "[unit][wire][messages]") {
  std::size_t rejected = 0;
  for (const auto& s : schemas()) {
    for (std::size_t i = 0; i < s.fields.size(); ++i) {
      auto v = variants(s.kinds[i]);
      for (const auto& bad : v.bad) {
        auto fields = s.fields;
        fields[i] = bad;
        auto msg = message(s.type, fields);
        INFO(s.name << " field " << (i + 1) << " = " << hex(bad) << " in " << hex(msg));
        CHECK_THROWS_AS(decode_in_frame(s, msg), DecodeError);
        ++rejected;
      }
      for (const auto& good : v.good) {
        auto fields = s.fields;
        fields[i] = good;
        auto msg = message(s.type, fields);
        INFO(s.name << " field " << (i + 1) << " = " << hex(good) << " in " << hex(msg));
        CHECK_NOTHROW(decode_in_frame(s, msg));
      }
    }
  }
  CHECK(rejected > 200);
}

TEST_CASE("wire: every message rejects too few and too many fields", "[unit][wire][messages]") {
  for (const auto& s : schemas()) {
    INFO(s.name);
    // Every shorter prefix of the fields, down to the type alone.
    for (std::size_t n = 0; n < s.fields.size(); ++n) {
      std::vector<std::string> fewer(s.fields.begin(), s.fields.begin() + static_cast<std::ptrdiff_t>(n));
      INFO("with " << n << " fields");
      CHECK_THROWS_AS(decode_in_frame(s, message(s.type, fewer)), DecodeError);
    }
    for (const auto& extra : {v_nil, v_zero, v_array}) {
      auto more = s.fields;
      more.push_back(extra);
      CHECK_THROWS_AS(decode_in_frame(s, message(s.type, more)), DecodeError);
      more.push_back(extra);
      CHECK_THROWS_AS(decode_in_frame(s, message(s.type, more)), DecodeError);
    }
  }
}

TEST_CASE("wire: terms inside messages obey the term rules", "[unit][wire][messages]") {
  auto send_with = [](const std::string& body) { return message(MsgType::send, {u32(1), u64(2), body}); };
  auto decode_send = [](const std::string& msg) {
    ReadFrame f(frame_of({msg}));
    return wire::decode_send(f.only());
  };
  // Foreign encodings of a term come out canonical.
  auto d = decode_send(send_with(bytes({0x82, 0xa1, 'b', 0xcd, 0x00, 0x01, 0xa1, 'a', 0xca, 0x3f, 0xc0, 0, 0})));
  CHECK(wire::canonical(d.body) == wire::canonical(Term{{"a", 1.5}, {"b", 1}}));
  // Depth: a body at max_term_depth fits a message; deeper is rejected by the term rules
  // while the frame structure is still fine; deeper still, by the frame structure.
  CHECK_NOTHROW(decode_send(send_with(deep_term(wire::max_term_depth))));
  CHECK_THROWS_AS(decode_send(send_with(deep_term(wire::max_term_depth + 1))), DecodeError);
  CHECK_THROWS_AS(decode_send(send_with(deep_term(wire::max_message_depth - 1))), DecodeError);
  CHECK_THROWS_AS(decode_send(send_with(deep_term(wire::max_message_depth))), DecodeError);
  // canonical() of a Fields term refuses the same things.
  ReadFrame f(frame_of({message(MsgType::send, {u32(1), u64(2), v_ext})}));
  wire::Fields fields(f.only(), "test", 4);
  CHECK_THROWS_AS(fields.canonical(3), DecodeError);
  CHECK_THROWS_AS(fields.term(3), DecodeError);
  CHECK(fields.canonical(1) == v_one);
  CHECK_THROWS_AS(fields.raw(4), DecodeError);
  CHECK_THROWS_AS(fields.i64(3), DecodeError);
  CHECK_THROWS_AS(wire::Fields(f.only(), "test", 5), DecodeError);
}

TEST_CASE("wire: Fields::i64 covers the whole int64 range and nothing beyond", "[unit][wire][messages]") {
  ReadFrame f(frame_of({message(MsgType::send, {v_neg64, u64(static_cast<std::uint64_t>(INT64_MAX)),
                                                u64(static_cast<std::uint64_t>(INT64_MAX) + 1), v_f64})}));
  wire::Fields fields(f.only(), "test");
  CHECK(fields.i64(1) == INT64_MIN);
  CHECK(fields.i64(2) == INT64_MAX);
  CHECK_THROWS_AS(fields.i64(3), DecodeError);
  CHECK_THROWS_AS(fields.i64(4), DecodeError);
}

// ================================================================================================
// Malformed frames
// ================================================================================================

TEST_CASE("wire: an empty frame, or one without a version, is rejected", "[unit][wire][frame]") {
  {
    wire::FrameReader reader(nullptr, 0);
    CHECK_THROWS_AS(reader.read_version(), DecodeError);
  }
  // A message where the version should be; a version of the wrong type.
  wire::OutBuffer hb;
  wire::encode_heartbeat(hb);
  for (const std::string& frame : {std::string(hb.view()), v_nil, v_neg, v_f64, v_str, v_bin, v_map, v_ext,
                                   bytes({0xc1}), bytes({0xcc}), bytes({0xcf, 0x00})}) {
    INFO(hex(frame));
    auto data = exact(frame);
    wire::FrameReader reader(data.data(), data.size());
    CHECK_THROWS_AS(reader.read_version(), DecodeError);
  }
  // A version alone is an empty frame; a foreign version is read (the transport refuses it).
  CHECK(read_and_decode(version_byte()) == 0);
  auto v2 = exact(bytes({0x02}));
  wire::FrameReader reader2(v2.data(), v2.size());
  CHECK(reader2.read_version() == 2);
  auto long_form = exact(bytes({0xce, 0, 0, 0, 0x01}));
  wire::FrameReader reader3(long_form.data(), long_form.size());
  CHECK(reader3.read_version() == 1);
}

TEST_CASE("wire: a frame truncated at any byte is rejected, except between messages", "[unit][wire][frame]") {
  // A foreign encoder's long-form version (truncations inside it too), then a mixed batch.
  std::string frame = bytes({0xce, 0, 0, 0, 0x01});
  std::vector<std::size_t> boundaries = {frame.size()};
  auto add = [&](auto encode) {
    wire::OutBuffer out;
    encode(out);
    frame += out.view();
    boundaries.push_back(frame.size());
  };
  add([](auto& out) { wire::encode(out, wire::Hello{"alpha", 1, u64_max, 2, "tcp://127.0.0.1:9"}); });
  add([](auto& out) { wire::encode_heartbeat(out); });
  add([](auto& out) { wire::encode_send(out, {1, 70000}, wire::canonical(sample_term)); });
  add([](auto& out) { wire::encode(out, wire::Peers{{{"a", std::string(40, 'e')}, {"b", ""}}}); });
  add([](auto& out) { wire::encode_mcall(out, 1, {2, 3}, wire::canonical(Term(std::string(300, 'x'))), Term(-1.5)); });
  add([](auto& out) {
    wire::begin_call(out, 5, {1, "scope"});
    wire::Packer(out).pack_bin(3).pack_bin_body("\x00\x01\x02", 3);
  });
  REQUIRE(read_and_decode(frame) == boundaries.size() - 1);

  std::size_t rejected = 0;
  for (std::size_t n = 0; n < frame.size(); ++n) {
    INFO("prefix of " << n << " bytes out of " << frame.size());
    std::string prefix = frame.substr(0, n);
    auto at = std::find(boundaries.begin(), boundaries.end(), n);
    if (at != boundaries.end()) {
      CHECK(read_and_decode(prefix) == static_cast<std::size_t>(at - boundaries.begin()));
    } else {
      CHECK_THROWS_AS(read_and_decode(prefix), DecodeError);
      ++rejected;
    }
  }
  CHECK(rejected == frame.size() - (boundaries.size() - 1));
}

TEST_CASE("wire: a message must be an array that starts with its type", "[unit][wire][frame]") {
  for (const std::string& m :
       {v_nil, v_true, v_zero, v_one, v_neg, v_f64, v_str, v_bin, v_map, v_ext, v_empty_array, bytes({0x91, 0xa1, 'x'}),
        bytes({0x91, 0xc0}), bytes({0x91, 0xff}), bytes({0x91, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}),
        bytes({0x91, 0x91, 0x01}), bytes({0x91, 0x80}), bytes({0x92, 0xc3, 0x01}), bytes({0x91, 0xd4, 0x00, 0x01}),
        // A type beyond u32 must not alias a real type (2^32 + 1 would read as hello).
        bytes({0x96, 0xcf, 0, 0, 0, 0x01, 0, 0, 0, 0x01, 0xa1, 'x', 0x01, 0x02, 0x03, 0xa0}),
        bytes({0x91, 0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})}) {
    INFO(hex(m));
    auto data = exact(frame_of({m}));
    wire::FrameReader reader(data.data(), data.size());
    REQUIRE(reader.read_version() == syn::protocol_version);
    CHECK_THROWS_AS(reader.next(), DecodeError);
  }
  // After a good message too.
  wire::OutBuffer hb;
  wire::encode_heartbeat(hb);
  CHECK_THROWS_AS(read_and_decode(frame_of({std::string(hb.view()), v_str})), DecodeError);
  // The largest u32 type is a message (of no known type).
  auto data = exact(frame_of({bytes({0x91, 0xce, 0xff, 0xff, 0xff, 0xff})}));
  wire::FrameReader reader(data.data(), data.size());
  reader.read_version();
  auto m = reader.next();
  REQUIRE(m);
  CHECK(wire::message_type(*m) == u32_max);
}

TEST_CASE("wire: lengths and counts larger than the frame are rejected before any allocation", "[unit][wire][frame]") {
  // Strings, binaries and exts claiming more bytes than there are.
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xdb, 0x00, 0x00, 0x10, 0x00, 'a'}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xdb, 0xff, 0xff, 0xff, 0xff}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xd9, 0x05, 'a', 'b', 'c', 'd'}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xda, 0x01, 0x00}) + std::string(255, 'a'));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xbf, 'a'}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xc6, 0xff, 0xff, 0xff, 0xff, 0x00}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xc9, 0xff, 0xff, 0xff, 0xff, 0x01}));
  check_rejected_before_msgpack(bytes({0x92, 0x01, 0xd8, 0x01}) + std::string(15, 'x'));
  // Arrays and maps claiming more elements than there are bytes.
  check_rejected_before_msgpack(bytes({0xdd, 0xff, 0xff, 0xff, 0xff}));
  check_rejected_before_msgpack(bytes({0xdd, 0xff, 0xff, 0xff, 0xff}) + std::string(1000, '\x01'));
  check_rejected_before_msgpack(bytes({0xdf, 0xff, 0xff, 0xff, 0xff}) + std::string(1000, '\x01'));
  check_rejected_before_msgpack(bytes({0xdc, 0xff, 0xff}) + std::string(100, '\x01'));
  check_rejected_before_msgpack(bytes({0xde, 0xff, 0xff}) + std::string(100, '\x01'));
  check_rejected_before_msgpack(bytes({0x93, 0x0a, 0x01, 0xdd, 0xff, 0xff, 0xff, 0xff}));
  check_rejected_before_msgpack(bytes({0x92, 0x05, 0x81, 0xa1, 'k', 0xdf, 0x7f, 0xff, 0xff, 0xff}));
  // One element short.
  check_rejected_before_msgpack(bytes({0xdc, 0x00, 0x05, 0x01, 0x01, 0x01, 0x01}));
  check_rejected_before_msgpack(bytes({0x85, 0xa0, 0x01, 0xa0, 0x01, 0xa0, 0x01, 0xa0, 0x01, 0xa0}));
  // Many containers each claiming the rest of the frame.
  std::string liars = bytes({0x9f});
  for (int i = 0; i < 15; ++i) liars += bytes({0xdd, 0x00, 0x00, 0x00, 0x40});
  check_rejected_before_msgpack(liars);
  // Exactly as many elements as bytes left is fine.
  auto ok = bytes({0xdd, 0x00, 0x00, 0x10, 0x00}) + std::string(4096, '\x01');
  auto data = exact(ok);
  CHECK(wire::checked_value_length(data.data(), data.size()) == ok.size());
}

TEST_CASE("wire: nesting is bounded without recursion", "[unit][wire][frame]") {
  // 1000 (and 100000) nested arrays or maps: rejected by the bounded structural walk.
  for (std::size_t depth : {std::size_t{1000}, std::size_t{100000}}) {
    check_rejected_before_msgpack(std::string(depth, static_cast<char>(0x91)) + v_nil);
    std::string maps;
    for (std::size_t i = 0; i < depth; ++i) maps += bytes({0x81, 0xa0});
    check_rejected_before_msgpack(maps + v_nil);
    // Nested as map keys too.
    std::string keys;
    for (std::size_t i = 0; i < depth; ++i) keys += bytes({0x81});
    check_rejected_before_msgpack(keys + v_nil + std::string(depth, '\x01'));
  }
  // The boundary: max_message_depth nested containers are read, one more is not. The
  // innermost may be empty (it holds nothing deeper).
  auto at_limit = std::string(wire::max_message_depth, static_cast<char>(0x91)) + v_one;
  auto beyond = std::string(wire::max_message_depth + 1, static_cast<char>(0x91)) + v_one;
  auto empty_inside = std::string(wire::max_message_depth, static_cast<char>(0x91)) + v_empty_array;
  CHECK(wire::checked_value_length(at_limit.data(), at_limit.size()) == at_limit.size());
  CHECK_FALSE(wire::checked_value_length(beyond.data(), beyond.size()));
  CHECK(wire::checked_value_length(empty_inside.data(), empty_inside.size()) == empty_inside.size());
  // As messages: [type, [[...]]], the message itself being the outermost container.
  auto as_message = [](std::size_t containers, const std::string& leaf) {
    return bytes({0x92, 0x04}) + std::string(containers - 1, static_cast<char>(0x91)) + leaf;
  };
  for (const auto& m :
       {as_message(wire::max_message_depth, v_one), as_message(wire::max_message_depth, v_empty_array)}) {
    INFO(hex(m));
    auto data = exact(frame_of({m}));
    wire::FrameReader reader(data.data(), data.size());
    reader.read_version();
    CHECK(reader.next());
  }
  CHECK_THROWS_AS(read_and_decode(frame_of({as_message(wire::max_message_depth + 1, v_one)})), DecodeError);
  CHECK_THROWS_AS(read_and_decode(frame_of({beyond})), DecodeError);
}

TEST_CASE("wire: the reserved byte 0xc1 is rejected wherever it stands for a value", "[unit][wire][frame]") {
  for (const std::string& frame :
       {bytes({0xc1}), frame_of({bytes({0xc1})}), frame_of({bytes({0x91, 0xc1})}),
        frame_of({bytes({0x92, 0x04, 0xc1})}), frame_of({bytes({0x93, 0x0a, 0x81, 0xc1, 0x01})}),
        frame_of({bytes({0x93, 0x0a, 0x81, 0xa0, 0xc1})}), frame_of({bytes({0x91, 0x04}), bytes({0xc1})})}) {
    INFO(hex(frame));
    CHECK_THROWS_AS(read_and_decode(frame), DecodeError);
  }
  // As data inside a string or binary it is just a byte.
  auto in_string = message(MsgType::welcome, {bytes({0xa2, 0xc1, 0xc1}), u32(1), v_false});
  ReadFrame f(frame_of({in_string}));
  CHECK(wire::decode_welcome(f.only()).name == "\xc1\xc1");
}

TEST_CASE("wire: checked_value_length measures exactly one value", "[unit][wire][frame]") {
  std::vector<std::string> values = {v_nil,
                                     v_true,
                                     v_zero,
                                     v_neg,
                                     v_neg64,
                                     v_f32,
                                     v_f64,
                                     v_str,
                                     v_bin,
                                     v_array,
                                     v_empty_array,
                                     v_map,
                                     v_ext,
                                     v_u64_max,
                                     bytes({0xd5, 0x01, 0, 0}),
                                     bytes({0xd6, 0x01, 0, 0, 0, 0}),
                                     bytes({0xd7, 0x01, 0, 0, 0, 0, 0, 0, 0, 0}),
                                     bytes({0xc7, 0x02, 0x01, 0xaa, 0xbb}),
                                     bytes({0xc8, 0x00, 0x01, 0x01, 0xaa}),
                                     bytes({0xc5, 0x00, 0x02, 0x01, 0x02}),
                                     bytes({0xda, 0x00, 0x01, 'x'}),
                                     bytes({0xdc, 0x00, 0x02, 0xc0, 0xc0}),
                                     bytes({0xde, 0x00, 0x01, 0xa0, 0xc0}),
                                     bytes({0xdf, 0, 0, 0, 0x01, 0xa0, 0x93, 0x01, 0x02, 0x81, 0xa0, 0xc0}),
                                     bytes({0xcc, 0xff}),
                                     bytes({0xd1, 0x80, 0x00}),
                                     wire::canonical(sample_term)};
  for (const auto& v : values) {
    INFO(hex(v));
    // Exactly one value, whatever follows it.
    for (const std::string& tail : {std::string(), v_nil, bytes({0xc1}), std::string(8, '\xff')}) {
      auto data = exact(v + tail);
      CHECK(wire::checked_value_length(data.data(), data.size()) == v.size());
    }
    // Every strict prefix is incomplete.
    for (std::size_t n = 0; n < v.size(); ++n) {
      auto data = exact(v.substr(0, n));
      CHECK_FALSE(wire::checked_value_length(data.data(), data.size()));
    }
  }
  // max_depth: 0 allows no non-empty container, and is capped at max_message_depth.
  CHECK(wire::checked_value_length(v_one.data(), v_one.size(), 0) == 1);
  CHECK(wire::checked_value_length(v_empty_array.data(), v_empty_array.size(), 0) == 1);
  CHECK_FALSE(wire::checked_value_length(v_array.data(), v_array.size(), 0));
  CHECK(wire::checked_value_length(v_array.data(), v_array.size(), 1) == 2);
  auto deep = deep_term(wire::max_message_depth + 1);
  CHECK_FALSE(wire::checked_value_length(deep.data(), deep.size(), 100000));
  auto three = deep_term(3);
  CHECK_FALSE(wire::checked_value_length(three.data(), three.size(), 2));
  CHECK(wire::checked_value_length(three.data(), three.size(), 3) == three.size());
  // Nothing at all; the never-used byte.
  CHECK_FALSE(wire::checked_value_length(nullptr, 0));
  CHECK_FALSE(wire::checked_value_length("\xc1", 1));
}

// ================================================================================================
// Garbage: the fuzz body over PRNG inputs (the libFuzzer target runs the same body)
// ================================================================================================

namespace {

std::vector<std::uint8_t> valid_frame(std::mt19937_64& rng) {
  wire::FrameWriter w;
  w.packer();
  auto& out = w.buffer();
  int n = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < n; ++i) {
    switch (rng() % 12) {
      case 0:
        wire::encode(out, wire::Hello{"n" + std::to_string(rng() % 100), 1, rng(), rng() % 3, "tcp://h:1"});
        break;
      case 1: wire::encode(out, wire::Welcome{"w", 2, (rng() & 1) != 0}); break;
      case 2: wire::encode(out, wire::Peers{{{"a", "tcp://a:1"}, {"b", "tcp://b:1"}}}); break;
      case 3: wire::encode_send(out, {1, rng()}, wire::canonical(sample_term)); break;
      case 4: wire::encode_exit(out, {1, 2}, Term::array({"shutdown", 1.5})); break;
      case 5: wire::encode(out, wire::Monitor{rng(), {3, 4}}); break;
      case 6: wire::encode_down(out, 7, Term{{"why", nullptr}}); break;
      case 7: wire::encode_mcall(out, 1, {1, 1}, wire::canonical(Term("q")), Term::object()); break;
      case 8:
        wire::encode_mcall_reply(out, 1, {1, 1}, (rng() & 1) != 0, Term::binary({9, 9}));
        wire::encode_publish(out, 1, {rng(), 2}, wire::canonical(Term("p")));
        break;
      case 9:
        wire::begin_ack_sync(out, {1, "s"}, true);
        wire::Packer(out).pack_array(0);
        break;
      case 10:
        wire::begin_call(out, 3, {2, "s"});
        wire::Packer(out).pack_map(0);
        break;
      default: wire::begin_reply(out, 3, 0); wire::Packer(out).pack_nil();
    }
  }
  auto s = w.take();
  return std::vector<std::uint8_t>(s.begin(), s.end());
}

}  // namespace

TEST_CASE("wire: random garbage and mutated frames only ever give DecodeError", "[unit][wire][fuzz]") {
  std::mt19937_64 rng(0x5eed5eedULL);
  std::size_t rejected = 0, messages = 0, decoded = 0;
  auto run = [&](const std::vector<std::uint8_t>& input) {
    INFO("input " << hex(std::string_view(reinterpret_cast<const char*>(input.data()), input.size())));
    syn::fuzz::FuzzOutcome outcome;
    REQUIRE_NOTHROW(outcome = syn::fuzz::fuzz_frame(input.data(), input.size()));
    rejected += outcome.frame_rejected;
    messages += outcome.messages;
    decoded += outcome.decoded;
  };
  // Pure noise, mostly short, some long.
  for (int i = 0; i < 3000; ++i) {
    std::size_t n = i % 10 == 0 ? rng() % 4096 : rng() % 64;
    std::vector<std::uint8_t> input(n);
    for (auto& b : input) b = static_cast<std::uint8_t>(rng());
    // Half of them start like a frame, so the noise reaches the message reader.
    if (n > 0 && i % 2 == 0) input[0] = static_cast<std::uint8_t>(syn::protocol_version);
    run(input);
  }
  // Valid frames with bytes flipped, inserted, removed, or cut.
  for (int i = 0; i < 4000; ++i) {
    auto input = valid_frame(rng);
    int edits = 1 + static_cast<int>(rng() % 3);
    for (int e = 0; e < edits && !input.empty(); ++e) {
      std::size_t at = rng() % input.size();
      switch (rng() % 4) {
        case 0: input[at] = static_cast<std::uint8_t>(rng()); break;
        case 1: input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(rng())); break;
        case 2: input.erase(input.begin() + static_cast<std::ptrdiff_t>(at)); break;
        default: input.resize(at); break;
      }
    }
    input.shrink_to_fit();
    run(input);
  }
  // Untouched valid frames decode.
  for (int i = 0; i < 500; ++i) {
    auto input = valid_frame(rng);
    syn::fuzz::FuzzOutcome outcome;
    REQUIRE_NOTHROW(outcome = syn::fuzz::fuzz_frame(input.data(), input.size()));
    CHECK_FALSE(outcome.frame_rejected);
    CHECK(outcome.messages >= 1);
    CHECK(outcome.decoded >= outcome.messages);
  }
  // Every path was exercised.
  CHECK(rejected > 2000);
  CHECK(messages > 2000);
  CHECK(decoded > 2000);
}

TEST_CASE("wire: a heartbeat may say how many bytes its sender read (protocol 5)", "[unit][wire][messages]") {
  for (std::uint64_t read : {std::uint64_t{0}, std::uint64_t{65536}, std::uint64_t{1} << 40}) {
    ReadFrame hb(frame_with([&](auto& out) { wire::encode_heartbeat(out, read); }));
    CHECK(wire::message_type(hb.only()) == static_cast<std::uint32_t>(MsgType::heartbeat));
    CHECK(wire::decode_heartbeat_bytes_read(hb.only()) == read);
  }
  // Not a count, or more fields than it has: malformed.
  for (const auto& extra : {std::vector<std::string>{v_nil}, std::vector<std::string>{v_array},
                            std::vector<std::string>{v_neg}, std::vector<std::string>{v_zero, v_zero}}) {
    ReadFrame bad(frame_of({message(MsgType::heartbeat, extra)}));
    CHECK_THROWS_AS(wire::decode_heartbeat_bytes_read(bad.only()), DecodeError);
  }
}
