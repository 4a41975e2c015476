#pragma once
// The body of the entries fuzzer (tests/fuzz/fuzz_entries.cpp), also replayed from a seeded
// PRNG in the unit suite (tests/unit/fuzz_replay_test.cpp).
//
// The input is one value a peer sends as the payload of a scope message: the registry's and
// the groups' replicated changes and replies (decode_change), calls to the authority
// (decode_call_request), snapshot chunks (decode_snapshot_chunk) and the holder of a taken
// answer (decode_holder), all in
// src/wire/entry_messages.cpp. The value is read the way the transport reads it (fuzz_common.hpp)
// and every decoder is tried on it. DecodeError is the only acceptable failure. Whatever
// decodes must survive a round trip through its encoder (the snapshot through SnapshotChunker,
// as a node sends it), and its keys and metas, stored as canonical bytes and later turned
// back into Terms with decode_canonical (trusted from then on), must read back as themselves.
#include "fuzz/fuzz_common.hpp"
#include "wire/entry_messages.hpp"
#include "wire/term_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace syn::fuzz {

/// What one input exercised (the replay checks that every path was reached).
struct EntriesOutcome {
  bool value_read = false;  ///< the frame around the value was accepted
  bool change = false;      ///< decode_change succeeded
  bool call = false;        ///< decode_call_request succeeded
  bool snapshot = false;    ///< decode_snapshot_chunk succeeded
  bool holder = false;      ///< decode_holder succeeded
  std::size_t snapshot_entries = 0;
};

namespace detail {

/// Canonical bytes a decoder produced from a peer's term: non-empty, one value, and what
/// decode_canonical (which trusts them) reads back encodes to the same bytes.
inline void check_stored_term(std::string_view canonical_bytes) {
  require(!canonical_bytes.empty(), "a decoded term has no bytes");
  require(wire::checked_value_length(canonical_bytes.data(), canonical_bytes.size()) == canonical_bytes.size(),
          "a decoded term is not one value");
  Term term;
  try {
    term = wire::decode_canonical(canonical_bytes);
  } catch (const std::exception&) { require(false, "decode_canonical throws on bytes made by append_canonical"); }
  require(wire::canonical(term) == canonical_bytes, "decode_canonical does not read back canonical bytes");
}

inline bool same_put(const wire::entries::Put& a, const wire::entries::Put& b) {
  return a.key == b.key && a.pid_id == b.pid_id && a.time == b.time && a.meta == b.meta && a.reason == b.reason;
}
inline bool same_del(const wire::entries::Del& a, const wire::entries::Del& b) {
  return a.key == b.key && a.pid_id == b.pid_id && a.time == b.time && a.reason == b.reason &&
         a.exit_reason == b.exit_reason;
}
inline bool same_entry(const wire::entries::SnapshotEntry& a, const wire::entries::SnapshotEntry& b) {
  return a.key == b.key && a.pid_id == b.pid_id && a.time == b.time && a.meta == b.meta;
}

inline std::string encode_change(const wire::entries::Change& c) {
  using namespace wire::entries;
  wire::OutBuffer out;
  switch (c.op) {
    case Op::none: encode_none(out); break;
    case Op::put: encode(out, c.put); break;
    case Op::del: encode(out, c.del); break;
    case Op::stale: encode_stale(out, c.stale_meta, c.stale_time); break;
    case Op::put_many: encode_put_many(out, c.puts); break;
    case Op::del_many: encode_del_many(out, c.dels); break;
  }
  return out.release();
}

inline void check_change(const msgpack::object& value, EntriesOutcome& outcome) {
  using namespace wire::entries;
  outcome.change = decodes([&] {
    Change a = decode_change(value);
    switch (a.op) {
      case Op::none: break;
      case Op::put:
        check_stored_term(a.put.key);
        check_stored_term(a.put.meta);
        break;
      case Op::del:
        check_stored_term(a.del.key);
        check_stored_term(a.del.exit_reason);
        break;
      case Op::stale: check_stored_term(a.stale_meta); break;
      case Op::put_many:
        for (const auto& put : a.puts) {
          check_stored_term(put.key);
          check_stored_term(put.meta);
        }
        break;
      case Op::del_many:
        for (const auto& del : a.dels) check_stored_term(del.key);
        break;
      default: require(false, "decode_change returned an operation it does not know");
    }
    std::string encoded = encode_change(a);
    RereadPayload r(encoded);
    Change b = decode_change(*r);
    require(a.op == b.op, "change round trip: operation");
    switch (a.op) {
      case Op::put: require(same_put(a.put, b.put), "change round trip: put"); break;
      case Op::del: require(same_del(a.del, b.del), "change round trip: del"); break;
      case Op::stale:
        require(a.stale_meta == b.stale_meta && a.stale_time == b.stale_time, "change round trip: stale");
        break;
      case Op::put_many:
        require(a.puts.size() == b.puts.size(), "change round trip: put_many count");
        for (std::size_t i = 0; i < a.puts.size(); ++i) require(same_put(a.puts[i], b.puts[i]), "round trip: put_many");
        break;
      case Op::del_many:
        require(a.dels.size() == b.dels.size(), "change round trip: del_many count");
        for (std::size_t i = 0; i < a.dels.size(); ++i) require(same_del(a.dels[i], b.dels[i]), "round trip: del_many");
        break;
      default: break;
    }
    // Encoding is a function of the decoded value: a second trip gives the same bytes.
    require(encode_change(b) == encoded, "change round trip: the encoding is not stable");
  });
}

inline void check_call(const msgpack::object& value, EntriesOutcome& outcome) {
  using namespace wire::entries;
  outcome.call = decodes([&] {
    CallRequest a = decode_call_request(value);
    require(a.op == CallOp::put || a.op == CallOp::remove || a.op == CallOp::update || a.op == CallOp::put_counted ||
                a.op == CallOp::remove_counted || a.op == CallOp::put_many || a.op == CallOp::remove_many,
            "decode_call_request returned an operation it does not know");
    check_stored_term(a.key);
    const bool removal = a.op == CallOp::remove || a.op == CallOp::remove_counted || a.op == CallOp::remove_many;
    const bool many = a.op == CallOp::put_many || a.op == CallOp::remove_many;
    if (removal) {
      require(a.meta.empty() && a.expected_time == 0, "a remove call carries a meta or a time");
    } else {
      check_stored_term(a.meta);
    }
    if (a.op != CallOp::update) require(a.expected_time == 0, "a put call carries an expected time");
    if (many) require(a.pid_id == 0, "a list call carries a single pid");
    if (!many) require(a.pid_ids.empty(), "a single call carries a list of pids");
    wire::OutBuffer out;
    encode(out, a);
    RereadPayload r(out.view());
    CallRequest b = decode_call_request(*r);
    require(a.op == b.op && a.key == b.key && a.pid_creation == b.pid_creation && a.pid_id == b.pid_id &&
                a.meta == b.meta && a.expected_time == b.expected_time && a.pid_ids == b.pid_ids,
            "call round trip");
  });
}

inline void check_snapshot(const msgpack::object& value, EntriesOutcome& outcome) {
  using namespace wire::entries;
  outcome.snapshot = decodes([&] {
    std::vector<SnapshotEntry> a = decode_snapshot_chunk(value);
    outcome.snapshot_entries = a.size();
    for (const auto& e : a) {
      check_stored_term(e.key);
      check_stored_term(e.meta);
    }
    // Sent again the way a node sends its snapshot: cut into chunks, each read back.
    std::vector<SnapshotEntry> b;
    std::size_t chunks = 0;
    std::function<void(std::string_view)> emit = [&](std::string_view chunk) {
      ++chunks;
      RereadPayload r(chunk);
      auto entries = decode_snapshot_chunk(*r);
      require(!entries.empty(), "SnapshotChunker emitted an empty chunk");
      require(entries.size() <= SnapshotChunker::kChunkEntries, "a chunk holds more than kChunkEntries");
      b.insert(b.end(), entries.begin(), entries.end());
    };
    SnapshotChunker chunker(emit);
    for (const auto& e : a) chunker.add(e.key, e.pid_id, e.time, e.meta);
    chunker.finish();
    require(a.empty() == (chunks == 0), "SnapshotChunker emitted chunks for nothing, or nothing for entries");
    require(a.size() == b.size(), "snapshot round trip: entry count");
    for (std::size_t i = 0; i < a.size(); ++i) require(same_entry(a[i], b[i]), "snapshot round trip: entry");
  });
}

inline void check_holder(const msgpack::object& value, EntriesOutcome& outcome) {
  using namespace wire::entries;
  outcome.holder = decodes([&] {
    Holder a = decode_holder(value);
    require(!a.pid.node().empty(), "a decoded holder has no node");
    check_stored_term(a.meta);
    wire::OutBuffer out;
    encode_holder(out, a.pid, a.meta);
    RereadPayload r(out.view());
    Holder b = decode_holder(*r);
    require(a.pid == b.pid && a.meta == b.meta, "holder round trip");
  });
}

}  // namespace detail

/// Runs one input, as a peer's payload, through every entry decoder.
inline EntriesOutcome fuzz_entries(const std::uint8_t* data, std::size_t size) {
  EntriesOutcome outcome;
  detail::PeerValue peer(data, size);
  const msgpack::object* value = peer.read();
  if (value == nullptr) return outcome;
  outcome.value_read = true;
  detail::check_change(*value, outcome);
  detail::check_call(*value, outcome);
  detail::check_snapshot(*value, outcome);
  detail::check_holder(*value, outcome);
  return outcome;
}

}  // namespace syn::fuzz
