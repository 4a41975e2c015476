#pragma once
// Valid inputs for each fuzz target, made by the encoders themselves so they follow the
// protocol as it is: the seed corpus of the libFuzzer targets (fuzz_seeds.cpp writes them,
// scripts/fuzz seeds each corpus with them) and the starting points of the PRNG replays in
// the unit suite (tests/unit/fuzz_replay_test.cpp), which mutate them.
#include "wire/entry_messages.hpp"
#include "wire/frame.hpp"
#include "wire/messages.hpp"
#include "wire/multicast_messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/term.hpp>

#include <cstdint>
#include <functional>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

namespace syn::fuzz {

/// Terms of every kind and width the canonical form has.
inline std::vector<Term> seed_terms() {
  std::vector<Term> t;
  t.push_back(nullptr);
  t.push_back(true);
  t.push_back(false);
  for (std::uint64_t u :
       {0ULL, 1ULL, 127ULL, 128ULL, 255ULL, 256ULL, 65535ULL, 65536ULL, 4294967295ULL, 4294967296ULL, ~0ULL}) {
    t.push_back(u);
  }
  for (std::int64_t i : {std::int64_t{-1}, std::int64_t{-32}, std::int64_t{-33}, std::int64_t{-128}, std::int64_t{-129},
                         std::int64_t{-32768}, std::int64_t{-32769}, std::int64_t{-2147483648LL},
                         std::int64_t{-2147483649LL}, std::numeric_limits<std::int64_t>::min()}) {
    t.push_back(i);
  }
  t.push_back(1.5);
  t.push_back(-0.0);
  t.push_back("");
  t.push_back("hedy");
  t.push_back(std::string(31, 'a'));
  t.push_back(std::string(32, 'b'));
  t.push_back(std::string(300, 'c'));
  t.push_back(Term::binary({1, 2, 3}));
  t.push_back(Term::array({"italy", "lombardy", 42}));
  t.push_back(Term::array());
  t.push_back(Term::object());
  t.push_back(Term{{"b", 2}, {"a", Term::array({1, nullptr, true})}, {"c", {{"d", -7}}}});
  Term deep = 1;
  for (int i = 0; i < 10; ++i) deep = Term::array({deep});
  t.push_back(deep);
  return t;
}

/// Values that are not canonical terms, or not terms at all (the decoders must refuse or
/// normalise them): long integer forms, float32, a map out of order, duplicate and non-string
/// keys, ext.
inline std::vector<std::string> seed_raw_values() {
  using namespace std::string_literals;
  return {
      "\xcc\x01"s,                              // uint8 holding a fixint
      "\xcf\x00\x00\x00\x00\x00\x00\x00\x05"s,  // uint64 holding 5
      "\xd0\x05"s,                              // int8 holding a positive number
      "\xca\x3f\xc0\x00\x00"s,                  // float32 1.5
      "\x82\xa1\x62\x01\xa1\x61\x02"s,          // {"b": 1, "a": 2}: keys out of order
      "\x82\xa1\x61\x01\xa1\x61\x02"s,          // {"a": 1, "a": 2}: duplicate key
      "\x81\x01\x02"s,                          // {1: 2}: a key that is not a string
      "\xd4\x01\x02"s,                          // fixext 1
      "\xc7\x02\x05\xaa\xbb"s,                  // ext 8
      "\xd9\x03\x61\x62\x63"s,                  // str8 holding a fixstr
      "\xdc\x00\x01\xc0"s,                      // array16 holding one nil
      "\xc1"s,                                  // never used
  };
}

/// The canonical bytes of each seed term.
inline std::vector<std::string> seed_canonical_terms() {
  std::vector<std::string> out;
  for (const auto& t : seed_terms()) out.push_back(wire::canonical(t));
  return out;
}

/// Payloads of the entry messages (registry and groups): changes, calls, snapshot chunks,
/// holders of taken answers.
inline std::vector<std::string> entries_seeds() {
  using namespace wire::entries;
  std::vector<std::string> out;
  auto add = [&](const std::function<void(wire::OutBuffer&)>& encode_one) {
    wire::OutBuffer b;
    encode_one(b);
    out.push_back(b.release());
  };
  const std::string name = wire::canonical(Term("hedy"));
  const std::string group = wire::canonical(Term::array({"italy", "lombardy"}));
  const std::string meta = wire::canonical(Term{{"role", "gateway"}, {"since", 1700000000}});
  const std::string nil = wire::canonical(Term(nullptr));
  add([&](auto& b) { encode(b, Put{name, 7, 1700000000123, meta, 0}); });
  add([&](auto& b) { encode(b, Put{group, 8, -1, nil, 3}); });
  add([&](auto& b) { encode(b, Del{name, 7, 1700000000124, 1, wire::canonical(Term("killed"))}); });
  add([&](auto& b) { encode(b, Del{group, ~0ULL, 0, 0, nil}); });
  add([&](auto& b) { encode_none(b); });
  add([&](auto& b) { encode_stale(b, meta, 42); });
  add([&](auto& b) { encode(b, CallRequest{CallOp::put, name, 3, 9, meta, 0}); });
  add([&](auto& b) { encode(b, CallRequest{CallOp::remove, group, 3, 9, "", 0}); });
  add([&](auto& b) { encode(b, CallRequest{CallOp::update, name, 4294967295u, 1, nil, 1700000000123}); });
  add([&](auto& b) { encode(b, CallRequest{CallOp::put_many, group, 5, 0, meta, 0, {1, 2, ~0ULL}}); });
  add([&](auto& b) { encode_holder(b, Pid("beta", 2, 20), meta); });
  add([&](auto& b) { encode_holder(b, Pid("gamma-node.example", 4294967295u, ~0ULL), nil); });
  std::function<void(std::string_view)> emit = [&](std::string_view chunk) { out.emplace_back(chunk); };
  SnapshotChunker chunker(emit);
  chunker.add(name, 1, 10, meta);
  chunker.add(group, 2, 20, nil);
  chunker.add(wire::canonical(Term(12345)), 3, -30, wire::canonical(Term::binary({0, 1})));
  chunker.finish();
  SnapshotChunker one(emit);
  one.add(name, 1, 1, nil);
  one.finish();
  // The empty chunk (nobody sends it, but it is valid).
  add([&](auto& b) { wire::Packer(b).pack_array(0); });
  return out;
}

/// Payloads of the multicast handler: every view-protocol message, the data path, announcements.
inline std::vector<std::string> multicast_seeds() {
  using namespace wire::multicast;
  using wire::multicast::Message;  // not syn::Message
  std::vector<std::string> out;
  const std::string group = wire::canonical(Term::array({"orders", 7}));
  Pid a("alpha", 1, 10), b("beta", 2, 20), c("gamma-node.example", 3, ~0ULL);
  NodeId na = a.node_atom(), nb = b.node_atom();
  InstalledView v{ViewId{a, 4}, {a, b, c}};
  InstalledView w{ViewId{c, 9}, {c}};
  Proposal p{a, 3};
  Digest d{{na, 12}, {nb, 0}};
  std::vector<Body> bodies = {
      Message{JoinRequest{c}},
      Message{LeaveRequest{b, LeaveReason::process_exit}},
      Message{Prepare{p, v, {a, b}, std::nullopt}},
      Message{Prepare{p, std::nullopt, {a}, w}},
      Message{PrepareOk{p, v, {{c, LeaveReason::evicted}}, d, {b}}},
      Message{PrepareOk{p, std::nullopt, {}, {}, {}}},
      Message{Refuse{p, c, w}},
      Message{Refuse{p, std::nullopt, std::nullopt}},
      Message{Flush{p, {{na, 12, nb}, {nb, 3, na}}, {{na, d}, {nb, Digest{}}}}},
      Message{FlushOk{p}},
      Message{Install{p, v, {{c, LeaveReason::node_down}}, true}},
      Message{Evicted{p, ViewId{a, 5}}},
      Message{MergeRequest{w}},
      Message{Yield{a, ViewId{c, 9}}},
      Message{Unreachable{ViewId{a, 4}, {nb}}},
      Data{ViewId{a, 4}, 1, {{10, wire::canonical(Term(1))}, {11, wire::canonical(Term{{"k", "v"}})}}},
      Resend{ViewId{a, 4}, nb, 7, {{20, wire::canonical(Term("x"))}}},
      Ack{ViewId{a, 4}, d},
      Stable{ViewId{a, 4}, 99},
      Announce{v, {{b, LeaveReason::left}}},
      Announce{std::nullopt, {}},
  };
  for (auto& body : bodies) {
    wire::OutBuffer buffer;
    encode(buffer, Envelope{group, std::move(body)});
    out.push_back(buffer.release());
  }
  return out;
}

/// Terms a peer sends: canonical ones and raw values that are not canonical.
inline std::vector<std::string> term_seeds() {
  auto out = seed_canonical_terms();
  for (auto& raw : seed_raw_values()) out.push_back(raw);
  return out;
}

/// Whole frames: one per message type (the handshake first), and batches of several.
inline std::vector<std::string> frame_seeds() {
  using namespace wire;
  std::vector<std::string> out;
  std::vector<std::string> messages;
  auto add = [&](const std::function<void(OutBuffer&)>& encode_one) {
    OutBuffer b;
    encode_one(b);
    messages.push_back(b.release());
  };
  const Term body = Term{{"text", "hello"}, {"n", 3}};
  add([&](auto& b) { encode(b, Hello{"alpha", 1, 0x1234567890abcdefULL, 2, "tcp://198.18.0.1:7001"}); });
  add([&](auto& b) { encode(b, Hello{"beta", 2, 1, 0, "tcp://[::1]:7002"}); });
  add([&](auto& b) { encode(b, Welcome{"beta", 2, false}); });
  add([&](auto& b) { encode(b, Welcome{"beta", 2, true}); });
  add([&](auto& b) { encode(b, Refuse{RefuseCode::name_taken, "the name alpha is taken"}); });
  add([&](auto& b) { encode(b, Bye{ByeReason::leaving}); });
  add([&](auto& b) { encode(b, Bye{ByeReason::disconnect}); });
  add([&](auto& b) { encode_heartbeat(b); });
  add([&](auto& b) { encode_heartbeat(b, 1234567); });
  add([&](auto& b) { encode_reset(b); });
  add([&](auto& b) { encode(b, Peers{{{"alpha", "tcp://198.18.0.1:7001"}, {"gamma", "tcp://198.18.0.3:7003"}}}); });
  add([&](auto& b) { encode_send(b, {1, 42}, canonical(body)); });
  add([&](auto& b) { encode_exit(b, {1, 42}, Term::array({"shutdown", 1.5})); });
  add([&](auto& b) { encode(b, Monitor{77, {1, 42}}); });
  add([&](auto& b) { encode(b, Demonitor{77}); });
  add([&](auto& b) { encode_down(b, 77, Term("noproc")); });
  add([&](auto& b) { encode_mcall(b, 5, {1, 42}, canonical(Term("ping")), Term{{"room", "lobby"}}); });
  add([&](auto& b) { encode_mcall_reply(b, 5, {1, 42}, false, Term("pong")); });
  add([&](auto& b) { encode_mcall_reply(b, 5, {1, 43}, true, Term(nullptr)); });
  add([&](auto& b) { encode_publish(b, 1, {42, 43, 44}, canonical(body)); });
  add([&](auto& b) { encode_discover(b, {1, "users"}); });
  add([&](auto& b) { encode_not_here(b, {1, "users"}); });
  const auto entries = entries_seeds();
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const auto& payload = entries[i];
    switch (i % 4) {
      case 0:
        add([&](auto& b) {
          begin_scope_message(b, {1, "users"});
          b.append(payload);
        });
        break;
      case 1:
        add([&](auto& b) {
          begin_call(b, 9, {2, "rooms"});
          b.append(payload);
        });
        break;
      case 2:
        add([&](auto& b) {
          begin_reply(b, 9, 0);
          b.append(payload);
        });
        break;
      default:
        add([&](auto& b) {
          begin_ack_sync(b, {1, "users"}, i + 1 == entries.size());
          b.append(payload);
        });
    }
  }
  add([&](auto& b) {
    begin_reply(b, 10, 3);
    Packer(b).pack_nil();
  });
  // One frame per message, then the handshake batched, then everything in one frame.
  for (const auto& m : messages) {
    FrameWriter w;
    w.append_messages(m);
    out.push_back(w.take());
  }
  FrameWriter handshake;
  for (std::size_t i = 0; i < 10; ++i) handshake.append_messages(messages[i]);
  out.push_back(handshake.take());
  FrameWriter all;
  for (const auto& m : messages) all.append_messages(m);
  out.push_back(all.take());
  return out;
}

}  // namespace syn::fuzz
