#pragma once
// Terms in canonical MessagePack: the same value always gives the same bytes, so the bytes
// are the key of a name or group in the tables and travel on the wire as they are.
//
// Canonical form: nil, bool, integers in their shortest encoding (non-negative as uint
// formats, negative as int formats), floats always float64, str, bin (json binary; subtype
// dropped), arrays, maps with string keys in byte order without duplicates. Ext is rejected.
#include "common/key_hash.hpp"

#include <syn/term.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstring>
#include <string>
#include <string_view>

namespace syn::wire {

/// Limits applied to terms read from the network.
inline constexpr std::size_t max_term_depth = 48;

/// Appends the canonical bytes of `term` to `out`. Throws Error{bad_argument} for a term
/// nested deeper than max_term_depth (no node would accept it).
void append_canonical(std::string& out, const Term& term);
/// The canonical bytes of `term`.
std::string canonical(const Term& term);
/// Decodes canonical bytes made by this module (trusted input) back to a Term.
Term decode_canonical(std::string_view bytes);

/// Writes the canonical bytes of an untrusted msgpack object. False (and `out` left in an
/// unspecified state) when it is not a valid term: ext, non-string map keys, duplicate keys,
/// nesting deeper than max_term_depth.
bool append_canonical(std::string& out, const msgpack::object& object);
/// Converts an untrusted msgpack object to a Term; false when it is not a valid term.
bool to_term(const msgpack::object& object, Term& out);

/// The longest string whose canonical bytes `short_string_canonical` writes.
inline constexpr std::size_t short_string_max = 62;
/// A buffer for them: the header (1 or 2 bytes) and the string.
using ShortKeyBuffer = char[short_string_max + 2];

/// The canonical bytes of `term` written into `buffer` when it is a string of at most
/// short_string_max bytes (the common name), else an empty view. Lookups use it: a few wide
/// stores instead of a byte-by-byte append, which keeps consecutive lookups overlapping.
inline std::string_view short_string_canonical(const Term& term, ShortKeyBuffer& buffer) {
  if (!term.is_string()) return {};
  const auto& s = term.get_ref<const std::string&>();
  const std::size_t n = s.size();
  if (n > short_string_max) return {};
  std::size_t header = 1;
  if (n < 32) {
    buffer[0] = static_cast<char>(0xa0 | n);  // fixstr
  } else {
    buffer[0] = static_cast<char>(0xd9);  // str8
    buffer[1] = static_cast<char>(n);
    header = 2;
  }
  std::memcpy(buffer + header, s.data(), n);
  return {buffer, header + n};
}

/// The canonical bytes of `term` as a ShortKey when it is a string short enough (at most 14
/// bytes: "device:4711" is 11), built from the string's bytes in registers. Lookups use it;
/// see ShortKey for why not through a buffer.
inline bool short_string_key(const Term& term, detail::ShortKey& out) {
  if (!term.is_string()) return false;
  const auto& s = term.get_ref<const std::string&>();
  if (s.size() >= detail::ShortKey::kMaxBytes) return false;
  out = detail::ShortKey::of(static_cast<unsigned char>(0xa0 | s.size()), s);  // fixstr header
  return true;
}

/// True when the canonical bytes encode nil (the common empty meta).
inline bool is_nil(std::string_view canonical_bytes) {
  return canonical_bytes.size() == 1 && static_cast<unsigned char>(canonical_bytes[0]) == 0xc0;
}

}  // namespace syn::wire
