#pragma once
// Terms in canonical MessagePack: the same value always gives the same bytes, so the bytes
// are the key of a name or group in the tables and travel on the wire as they are.
//
// Canonical form: nil, bool, integers in their shortest encoding (non-negative as uint
// formats, negative as int formats), floats always float64, str, bin (json binary; subtype
// dropped), arrays, maps with string keys in byte order without duplicates. Ext is rejected.
#include "tables/key_hash.hpp"

#include <syn/term.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
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
/// True when the canonical encoding of `term` takes at most `limit` bytes. Walks the term
/// without encoding it, and stops as soon as the limit is passed (a local send need not pay
/// for an encoding to be checked against NodeOptions::max_term_bytes).
bool fits_within(const Term& term, std::size_t limit);
/// Decodes canonical bytes made by this module (trusted input) back to a Term.
Term decode_canonical(std::string_view bytes);

/// Writes the canonical bytes of an untrusted msgpack object. False (and `out` left in an
/// unspecified state) when it is not a valid term: ext, non-string map keys, duplicate keys,
/// nesting deeper than max_term_depth.
bool append_canonical(std::string& out, const msgpack::object& object);
/// Converts an untrusted msgpack object to a Term; false when it is not a valid term.
bool to_term(const msgpack::object& object, Term& out);

/// The canonical msgpack form of an integer: a type byte, then `width` bytes of `payload`
/// big-endian (none for a fixint, whose value is in the type byte).
struct IntEncoding {
  unsigned char type = 0;
  std::uint64_t payload = 0;
  std::size_t width = 0;
};
/// The shortest form of a non-negative integer (canonical: uint formats).
inline IntEncoding uint_encoding(std::uint64_t v) {
  if (v < 0x80) return {static_cast<unsigned char>(v), 0, 0};  // positive fixint
  if (v <= 0xff) return {0xcc, v, 1};
  if (v <= 0xffff) return {0xcd, v, 2};
  if (v <= 0xffffffffULL) return {0xce, v, 4};
  return {0xcf, v, 8};
}
/// The shortest form of any integer (canonical: negative ones as int formats).
inline IntEncoding int_encoding(std::int64_t v) {
  if (v >= 0) return uint_encoding(static_cast<std::uint64_t>(v));
  auto bits = [v](std::size_t width) {
    return static_cast<std::uint64_t>(v) & (~std::uint64_t{0} >> (64 - 8 * width));
  };
  if (v >= -32) return {static_cast<unsigned char>(v), 0, 0};  // negative fixint
  if (v >= INT8_MIN) return {0xd0, bits(1), 1};
  if (v >= INT16_MIN) return {0xd1, bits(2), 2};
  if (v >= INT32_MIN) return {0xd2, bits(4), 4};
  return {0xd3, static_cast<std::uint64_t>(v), 8};
}

/// The canonical bytes of `term` as a ShortKey when it is an integer (at most 9 bytes), built
/// in registers: lookups by integer name use it (see ShortKey for why not through a buffer).
inline bool integer_key(const Term& term, detail::ShortKey& out) {
  IntEncoding e;
  if (const auto* u = term.get_ptr<const std::uint64_t*>()) {
    e = uint_encoding(*u);
  } else if (const auto* i = term.get_ptr<const std::int64_t*>()) {
    e = int_encoding(*i);
  } else {
    return false;
  }
  // The payload's bytes in the order they are written (big-endian), as a little-endian word.
  const std::uint64_t written = e.width == 0 ? 0 : __builtin_bswap64(e.payload) >> (64 - 8 * e.width);
  out.lo = e.type | written << 8;
  out.hi = (e.width == 8 ? written >> 56 : 0) | static_cast<std::uint64_t>(1 + e.width) << 56;
  return true;
}

/// The msgpack header of a string of `n` bytes (the shortest form): its bytes in the order
/// they are written, as a little-endian word, and how many there are.
struct StrHeader {
  std::uint64_t bytes = 0;
  std::size_t size = 0;
};
inline StrHeader str_header(std::uint64_t n) {
  auto be = [n](std::size_t width) {  // n big-endian over `width` bytes, after the type byte
    std::uint64_t out = 0;
    for (std::size_t i = 0; i < width; ++i) out |= (n >> (8 * (width - 1 - i)) & 0xff) << (8 * (i + 1));
    return out;
  };
  if (n < 32) return {0xa0 | n, 1};           // fixstr
  if (n <= 0xff) return {0xd9 | be(1), 2};    // str8
  if (n <= 0xffff) return {0xda | be(2), 3};  // str16
  return {0xdb | be(4), 5};                   // str32
}

/// The canonical bytes of `term` in two parts when it is a string (the common name): the
/// header and the string itself, not copied. Lookups hash and compare them as they are (see
/// SplitKey).
inline bool string_key(const Term& term, detail::SplitKey& out) {
  const auto* s = term.get_ptr<const std::string*>();
  if (s == nullptr) return false;
  auto header = str_header(s->size());
  out.head = header.bytes;
  out.head_size = header.size;
  out.rest = *s;
  return true;
}

/// True when the canonical bytes encode nil (the common empty meta).
inline bool is_nil(std::string_view canonical_bytes) {
  return canonical_bytes.size() == 1 && static_cast<unsigned char>(canonical_bytes[0]) == 0xc0;
}

}  // namespace syn::wire
