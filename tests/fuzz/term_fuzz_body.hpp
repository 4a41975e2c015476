#pragma once
// The body of the term fuzzer (tests/fuzz/fuzz_term.cpp), also replayed from a seeded PRNG in
// the unit suite (tests/unit/fuzz_replay_test.cpp).
//
// The input is one term a peer sends (a name, a group, a meta, a message body, an exit
// reason), read the way the transport reads it (fuzz_common.hpp). A peer's term is read by
// src/wire/term_codec.cpp in two ways: to_term (message bodies, reasons) and append_canonical
// (keys and metas, stored as bytes and turned back into Terms by decode_canonical, which
// trusts them). The body checks that:
//   - both readings agree on validity and give the same canonical bytes;
//   - canonical bytes are one well-formed value, and a fixed point through decode_canonical;
//   - fits_within(term, n) holds exactly when the canonical encoding takes at most n bytes
//     (max_term_bytes is checked with it before a term is encoded);
//   - the keys a lookup builds from the Term without encoding it (integer_key, string_key)
//     are the stored canonical bytes and hash like them (a lookup by that term must find the
//     entry the peer stored);
//   - is_nil(bytes) exactly for nil.
#include "fuzz/fuzz_common.hpp"
#include "tables/key_hash.hpp"
#include "wire/term_codec.hpp"

#include <syn/errors.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace syn::fuzz {

/// What one input exercised (the replay checks that every path was reached).
struct TermOutcome {
  bool value_read = false;  ///< the frame around the term was accepted
  bool valid = false;       ///< the value is a valid term
  bool integer = false;     ///< integer_key applied
  bool string = false;      ///< string_key applied
};

namespace detail {

inline void check_keys(const Term& term, const std::string& canon, TermOutcome& outcome) {
  using syn::detail::ShortKey;
  using syn::detail::SplitKey;
  ShortKey short_key;
  if (wire::integer_key(term, short_key)) {
    outcome.integer = true;
    require(term.is_number_integer(), "integer_key took a term that is not an integer");
    require(canon.size() <= ShortKey::kMaxBytes && short_key == ShortKey::of(canon),
            "integer_key is not the canonical bytes");
    require(syn::detail::hash_short_key(short_key) == syn::detail::hash_bytes(canon),
            "integer_key does not hash like the canonical bytes");
  } else {
    require(!term.is_number_integer(), "integer_key refused an integer");
  }
  SplitKey split;
  if (wire::string_key(term, split)) {
    outcome.string = true;
    require(term.is_string(), "string_key took a term that is not a string");
    require(split.head_size <= SplitKey::kMaxHead && split.size() == canon.size() && split.same_bytes(canon.data()),
            "string_key is not the canonical bytes");
    require(syn::detail::hash_split_key(split) == syn::detail::hash_bytes(canon),
            "string_key does not hash like the canonical bytes");
    if (canon.size() <= ShortKey::kMaxBytes) {
      require(split.short_key() == ShortKey::of(canon), "string_key's short key is not the canonical bytes");
    }
  } else {
    require(!term.is_string(), "string_key refused a string");
  }
}

inline void check_fits(const Term& term, const std::string& canon) {
  require(wire::fits_within(term, canon.size()), "fits_within says a term is larger than its encoding");
  require(!wire::fits_within(term, canon.size() - 1), "fits_within says a term is smaller than its encoding");
  require(wire::fits_within(term, std::size_t(-1)), "fits_within refuses a valid term under no limit");
}

}  // namespace detail

/// Runs one input, as a peer's term, through both readings and everything built on them.
inline TermOutcome fuzz_term(const std::uint8_t* data, std::size_t size) {
  TermOutcome outcome;
  detail::PeerValue peer(data, size);
  const msgpack::object* value = peer.read();
  if (value == nullptr) return outcome;
  outcome.value_read = true;

  std::string canon;
  bool canon_ok = wire::append_canonical(canon, *value);
  Term term;
  bool term_ok = wire::to_term(*value, term);
  require(canon_ok == term_ok, "to_term and append_canonical disagree on validity");
  if (!canon_ok) return outcome;
  outcome.valid = true;

  std::string from_term;
  try {
    from_term = wire::canonical(term);
  } catch (const Error&) { require(false, "canonical(Term) refuses a term a peer's bytes gave"); }
  require(from_term == canon, "to_term and append_canonical disagree on bytes");
  require(!canon.empty() && wire::checked_value_length(canon.data(), canon.size()) == canon.size(),
          "canonical bytes are not one well-formed value");
  require(wire::is_nil(canon) == term.is_null(), "is_nil disagrees with the term");

  Term back;
  try {
    back = wire::decode_canonical(canon);
  } catch (const std::exception&) { require(false, "decode_canonical throws on canonical bytes"); }
  require(wire::canonical(back) == canon, "decode_canonical does not read back canonical bytes");

  // The canonical bytes read as a peer's value again are already canonical.
  detail::PeerValue again(reinterpret_cast<const std::uint8_t*>(canon.data()), canon.size());
  const msgpack::object* reread = again.read();
  require(reread != nullptr, "canonical bytes do not read back as a peer's value");
  std::string twice;
  require(wire::append_canonical(twice, *reread) && twice == canon, "canonical bytes are not a fixed point");

  detail::check_fits(term, canon);
  detail::check_keys(term, canon, outcome);
  return outcome;
}

}  // namespace syn::fuzz
