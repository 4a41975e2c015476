#pragma once
// The body of the frame fuzzer, shared by the libFuzzer target (tests/fuzz/fuzz_frame.cpp,
// Clang only) and PRNG replays in the unit suite (tests/unit/wire_messages_test.cpp and
// tests/unit/fuzz_replay_test.cpp), so the same checks run under GCC in CI.
//
// It feeds bytes to FrameReader and hands every message to the decoder of its type (to every
// decoder when its type has none): the handshake (hello, welcome, refuse, bye, peers) and
// everything after it. DecodeError is the only acceptable failure; anything else escapes (a
// crash under libFuzzer, a failed test in the replay). Whatever decodes must also survive a
// round trip through its encoder, the two readings of a term (to_term, append_canonical) must
// agree, and a frame whose rest fails check_rest (the transport drops such a frame whole) must
// fail in next() too.
#include "fuzz/fuzz_common.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/version.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>

namespace syn::fuzz {

/// What one input exercised (the replay checks that every path was reached).
struct FuzzOutcome {
  bool version_read = false;
  std::size_t messages = 0;     ///< messages returned by next()
  std::size_t decoded = 0;      ///< decode_* calls that succeeded
  bool frame_rejected = false;  ///< read_version or next() threw DecodeError
};

namespace detail {

/// Reads back the single message in `encoded` (a frame made by FrameWriter).
struct Reread {
  std::string frame;
  wire::FrameReader reader;
  msgpack::object message;
  explicit Reread(const wire::OutBuffer& encoded) : frame(make(encoded)), reader(frame.data(), frame.size()) {
    require(reader.read_version() == protocol_version, "re-encoded frame has the wrong version");
    auto m = reader.next();
    require(m.has_value(), "re-encoded frame has no message");
    message = *m;
    require(!reader.next(), "re-encoded frame has more than one message");
  }
  static std::string make(const wire::OutBuffer& encoded) {
    wire::FrameWriter w;
    w.append_messages(encoded.view());
    return w.take();
  }
};

/// Both readings of an untrusted term agree, and canonical bytes are a fixed point.
inline void check_term(const msgpack::object& o) {
  std::string canon;
  bool canon_ok = wire::append_canonical(canon, o);
  Term term;
  bool term_ok = wire::to_term(o, term);
  require(canon_ok == term_ok, "to_term and append_canonical disagree on validity");
  if (!canon_ok) return;
  require(wire::canonical(term) == canon, "to_term and append_canonical disagree on bytes");
}

inline bool same_term(const Term& a, const Term& b) { return wire::canonical(a) == wire::canonical(b); }

inline void check_message(const msgpack::object& m, FuzzOutcome& outcome) {
  using namespace wire;
  require(m.type == msgpack::type::ARRAY && m.via.array.size > 0, "next() returned a non-array");
  require(m.via.array.ptr[0].type == msgpack::type::POSITIVE_INTEGER, "next() returned a message without a type");
  require(message_type(m) <= std::numeric_limits<std::uint32_t>::max(), "next() returned a type beyond u32");
  for (std::uint32_t i = 0; i < m.via.array.size; ++i) check_term(m.via.array.ptr[i]);

  auto count = [&](bool ok) { outcome.decoded += ok ? 1 : 0; };
  // The transport and the scope directory call the decoder of a message's type, and no decoder
  // reads the type field: decode_X on a message of type Y does what it does on the same
  // message with type X, one byte away for the fuzzer. So a message goes to the decoder of its
  // type only: trying all of them costs 17 rejections (exceptions) per message, most of the
  // time of a run, for nothing new. A message of a type without a decoder (reset, unknown)
  // still goes to every decoder.
  const std::uint64_t type = message_type(m);
  const bool has_decoder = type != static_cast<std::uint64_t>(MsgType::reset) &&
                           ((type >= 1 && type <= 7) || (type >= 10 && type <= 17) || (type >= 20 && type <= 24));
  auto tries = [&](MsgType t) { return !has_decoder || type == static_cast<std::uint64_t>(t); };

  if (tries(MsgType::hello))
    count(decodes([&] {
      auto a = decode_hello(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      auto b = decode_hello(r.message);
      require(a.name == b.name && a.creation == b.creation && a.session == b.session && a.epoch == b.epoch &&
                  a.endpoint == b.endpoint,
              "hello round trip");
    }));
  if (tries(MsgType::welcome))
    count(decodes([&] {
      auto a = decode_welcome(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      auto b = decode_welcome(r.message);
      require(a.name == b.name && a.creation == b.creation && a.duplicate == b.duplicate, "welcome round trip");
    }));
  if (tries(MsgType::refuse))
    count(decodes([&] {
      auto a = decode_refuse(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      auto b = decode_refuse(r.message);
      require(a.code == b.code && a.text == b.text, "refuse round trip");
    }));
  if (tries(MsgType::heartbeat))
    count(decodes([&] {
      auto read = decode_heartbeat_bytes_read(m);
      OutBuffer out;
      if (read) {
        encode_heartbeat(out, *read);
      } else {
        encode_heartbeat(out);
      }
      Reread r(out);
      require(decode_heartbeat_bytes_read(r.message) == read, "heartbeat round trip");
    }));
  if (tries(MsgType::bye))
    count(decodes([&] {
      auto a = decode_bye(m);
      require(a.reason == ByeReason::leaving || a.reason == ByeReason::disconnect, "bye reason out of range");
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      require(decode_bye(r.message).reason == a.reason, "bye round trip");
    }));
  if (tries(MsgType::peers))
    count(decodes([&] {
      auto a = decode_peers(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      require(decode_peers(r.message).peers == a.peers, "peers round trip");
    }));
  if (tries(MsgType::send))
    count(decodes([&] {
      auto a = decode_send(m);
      OutBuffer out;
      encode_send(out, a.to, canonical(a.body));
      Reread r(out);
      auto b = decode_send(r.message);
      require(a.to.creation == b.to.creation && a.to.id == b.to.id && same_term(a.body, b.body), "send round trip");
    }));
  if (tries(MsgType::exit))
    count(decodes([&] {
      auto a = decode_exit(m);
      OutBuffer out;
      encode_exit(out, a.to, a.reason);
      Reread r(out);
      auto b = decode_exit(r.message);
      require(a.to.creation == b.to.creation && a.to.id == b.to.id && same_term(a.reason, b.reason), "exit round trip");
    }));
  if (tries(MsgType::monitor))
    count(decodes([&] {
      auto a = decode_monitor(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      auto b = decode_monitor(r.message);
      require(a.ref == b.ref && a.target.creation == b.target.creation && a.target.id == b.target.id,
              "monitor round trip");
    }));
  if (tries(MsgType::demonitor))
    count(decodes([&] {
      auto a = decode_demonitor(m);
      OutBuffer out;
      encode(out, a);
      Reread r(out);
      require(decode_demonitor(r.message).ref == a.ref, "demonitor round trip");
    }));
  if (tries(MsgType::down))
    count(decodes([&] {
      auto a = decode_down(m);
      OutBuffer out;
      encode_down(out, a.ref, a.reason);
      Reread r(out);
      auto b = decode_down(r.message);
      require(a.ref == b.ref && same_term(a.reason, b.reason), "down round trip");
    }));
  if (tries(MsgType::mcall))
    count(decodes([&] {
      auto a = decode_mcall(m);
      OutBuffer out;
      encode_mcall(out, a.call_id, a.to, canonical(a.body), a.member_meta);
      Reread r(out);
      auto b = decode_mcall(r.message);
      require(a.call_id == b.call_id && a.to.creation == b.to.creation && a.to.id == b.to.id &&
                  same_term(a.body, b.body) && same_term(a.member_meta, b.member_meta),
              "mcall round trip");
    }));
  if (tries(MsgType::mcall_reply))
    count(decodes([&] {
      auto a = decode_mcall_reply(m);
      OutBuffer out;
      encode_mcall_reply(out, a.call_id, a.member, a.died, a.answer);
      Reread r(out);
      auto b = decode_mcall_reply(r.message);
      require(a.call_id == b.call_id && a.member.creation == b.member.creation && a.member.id == b.member.id &&
                  a.died == b.died && same_term(a.answer, b.answer),
              "mcall_reply round trip");
    }));
  if (tries(MsgType::publish))
    count(decodes([&] {
      auto a = decode_publish(m);
      OutBuffer out;
      encode_publish(out, a.creation, a.ids, canonical(a.body));
      Reread r(out);
      auto b = decode_publish(r.message);
      require(a.creation == b.creation && a.ids == b.ids && same_term(a.body, b.body), "publish round trip");
    }));
  if (tries(MsgType::discover))
    count(decodes([&] {
      auto a = decode_discover(m);
      OutBuffer out;
      encode_discover(out, a);
      Reread r(out);
      auto b = decode_discover(r.message);
      require(a.kind == b.kind && a.scope == b.scope, "discover round trip");
    }));
  if (tries(MsgType::not_here))
    count(decodes([&] {
      auto a = decode_not_here(m);
      OutBuffer out;
      encode_not_here(out, a);
      Reread r(out);
      auto b = decode_not_here(r.message);
      require(a.kind == b.kind && a.scope == b.scope, "not_here round trip");
    }));
  if (tries(MsgType::ack_sync))
    count(decodes([&] {
      auto a = decode_ack_sync(m);
      require(a.payload != nullptr, "ack_sync without payload");
      OutBuffer out;
      begin_ack_sync(out, a.address, a.last);
      Packer(out).pack(*a.payload);
      Reread r(out);
      auto b = decode_ack_sync(r.message);
      require(a.address.kind == b.address.kind && a.address.scope == b.address.scope && a.last == b.last &&
                  packed(*a.payload) == packed(*b.payload),
              "ack_sync round trip");
    }));
  if (tries(MsgType::scope))
    count(decodes([&] {
      auto a = decode_scope_message(m);
      require(a.payload != nullptr, "scope message without payload");
      OutBuffer out;
      begin_scope_message(out, a.address);
      Packer(out).pack(*a.payload);
      Reread r(out);
      auto b = decode_scope_message(r.message);
      require(a.address.kind == b.address.kind && a.address.scope == b.address.scope &&
                  packed(*a.payload) == packed(*b.payload),
              "scope round trip");
    }));
  if (tries(MsgType::call))
    count(decodes([&] {
      auto a = decode_call(m);
      require(a.payload != nullptr, "call without payload");
      OutBuffer out;
      begin_call(out, a.request_id, a.address);
      Packer(out).pack(*a.payload);
      Reread r(out);
      auto b = decode_call(r.message);
      require(a.request_id == b.request_id && a.address.kind == b.address.kind && a.address.scope == b.address.scope &&
                  packed(*a.payload) == packed(*b.payload),
              "call round trip");
    }));
  if (tries(MsgType::reply))
    count(decodes([&] {
      auto a = decode_reply(m);
      require(a.payload != nullptr, "reply without payload");
      OutBuffer out;
      begin_reply(out, a.request_id, a.status);
      Packer(out).pack(*a.payload);
      Reread r(out);
      auto b = decode_reply(r.message);
      require(a.request_id == b.request_id && a.status == b.status && packed(*a.payload) == packed(*b.payload),
              "reply round trip");
    }));
}

}  // namespace detail

/// Runs one input through the frame reader and every decoder.
inline FuzzOutcome fuzz_frame(const std::uint8_t* data, std::size_t size) {
  FuzzOutcome outcome;
  const char* bytes = reinterpret_cast<const char*>(data);
  // The structural check alone, at every depth limit, never reads out of bounds and never
  // reports a value longer than the input.
  for (std::size_t depth : {std::size_t{0}, std::size_t{1}, wire::max_message_depth, std::size_t{1000}}) {
    auto length = wire::checked_value_length(bytes, size, depth);
    require(!length || (*length >= 1 && *length <= size), "checked_value_length out of bounds");
  }
  wire::FrameReader reader(bytes, size);
  bool rest_checked = false;
  try {
    reader.read_version();
    outcome.version_read = true;
    std::size_t consumed = wire::checked_value_length(bytes, size).value_or(0);
    require(consumed > 0, "read_version accepted a value the structural check rejects");
    // The router side checks the whole rest first and drops a malformed frame before any of
    // its messages is applied; the dealer side reads on. Both must agree: a rest that fails
    // the check must fail in next() too, before the end of the frame.
    rest_checked = detail::decodes([&] { reader.check_rest(); });
    while (auto message = reader.next()) {
      ++outcome.messages;
      auto raw = reader.last_bytes();
      require(raw.data() == bytes + consumed, "messages are not read in order");
      require(wire::checked_value_length(raw.data(), raw.size()) == raw.size(), "last_bytes is not one value");
      consumed += raw.size();
      require(consumed <= size, "read past the end of the frame");
      detail::check_message(*message, outcome);
    }
    require(consumed == size, "next() returned nullopt before the end of the frame");
    require(rest_checked, "check_rest rejected a frame that next() reads to its end");
  } catch (const wire::DecodeError&) { outcome.frame_rejected = true; }
  return outcome;
}

}  // namespace syn::fuzz
