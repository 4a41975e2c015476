#pragma once
// The body of the multicast fuzzer (tests/fuzz/fuzz_multicast.cpp), also replayed from a seeded
// PRNG in the unit suite (tests/unit/fuzz_replay_test.cpp).
//
// The input is one value a peer sends as the payload of a multicast scope message: the view
// protocol, the data path and announcements (src/wire/multicast_messages.cpp). The value is
// read the way the transport reads it (fuzz_common.hpp) and decode_envelope is tried on it.
// DecodeError is the only acceptable failure. Whatever decodes must name a group and carry
// messages as canonical terms that read back as themselves, and must survive a round trip
// through encode: the same value, and the same bytes on a second trip.
#include "fuzz/fuzz_common.hpp"
#include "wire/multicast_messages.hpp"
#include "wire/term_codec.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace syn::fuzz {

/// What one input exercised (the replay checks that every path was reached).
struct MulticastOutcome {
  bool value_read = false;   ///< the frame around the value was accepted
  bool decoded = false;      ///< decode_envelope succeeded
  bool protocol = false;     ///< ... with a view-protocol message
  std::size_t messages = 0;  ///< terms carried by a Data or Resend batch
};

namespace detail {

inline void check_multicast_term(std::string_view canonical_bytes) {
  require(!canonical_bytes.empty(), "a decoded term has no bytes");
  Term term;
  try {
    term = wire::decode_canonical(canonical_bytes);
  } catch (const std::exception&) { require(false, "decode_canonical throws on bytes made by append_canonical"); }
  require(wire::canonical(term) == canonical_bytes, "decode_canonical does not read back canonical bytes");
}

inline std::string encode_envelope(const wire::multicast::Envelope& envelope) {
  wire::OutBuffer out;
  wire::multicast::encode(out, envelope);
  return out.release();
}

}  // namespace detail

/// Runs one input, as a peer's payload, through the multicast decoder.
inline MulticastOutcome fuzz_multicast(const std::uint8_t* data, std::size_t size) {
  using namespace wire::multicast;
  using wire::multicast::Message;  // not syn::Message
  MulticastOutcome outcome;
  detail::PeerValue peer(data, size);
  const msgpack::object* value = peer.read();
  if (value == nullptr) return outcome;
  outcome.value_read = true;
  outcome.decoded = detail::decodes([&] {
    Envelope a = decode_envelope(*value);
    detail::check_multicast_term(a.group);
    outcome.protocol = std::holds_alternative<Message>(a.body);
    auto batch = [&](const std::vector<Published>& messages) {
      outcome.messages += messages.size();
      for (const auto& m : messages) detail::check_multicast_term(m.message);
    };
    if (const auto* d = std::get_if<Data>(&a.body)) batch(d->messages);
    if (const auto* r = std::get_if<Resend>(&a.body)) batch(r->messages);
    std::string encoded = detail::encode_envelope(a);
    detail::RereadPayload r(encoded);
    Envelope b = decode_envelope(*r);
    require(a.group == b.group && a.body.index() == b.body.index(), "multicast round trip: group or kind");
    // Encoding is a function of the decoded value: a second trip gives the same bytes.
    require(detail::encode_envelope(b) == encoded, "multicast round trip: the encoding is not stable");
  });
  return outcome;
}

}  // namespace syn::fuzz
