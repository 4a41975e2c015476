#pragma once
// Hashing of table keys (canonical term bytes), transparent so that lookups take a
// string_view without building a string. The top bits of the same hash pick the shard.
//
// Our own: keys are short (a name is typically 8 to 40 bytes), and a lookup hashes once, so
// the hash sits on the lookup's critical path. Two or three 64x64->128-bit multiplies fold
// every input bit into every output bit (the table uses the top 6 bits for the shard, the
// next 32 for the slot tag); absl::Hash<string_view> costs about four times the instructions.
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace syn::detail {

namespace key_hash_detail {

inline std::uint64_t load64(const char* p) {
  std::uint64_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline std::uint64_t load32(const char* p) {
  std::uint32_t v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
/// The 128-bit product of a and b, its halves folded together.
inline std::uint64_t fold_multiply(std::uint64_t a, std::uint64_t b) {
  auto product = static_cast<unsigned __int128>(a) * b;
  return static_cast<std::uint64_t>(product) ^ static_cast<std::uint64_t>(product >> 64);
}

/// The bytes p[0..n), n <= 8, zero padded into a little-endian word, read without going past
/// p + n. Overlapping loads OR the same byte into the same place.
inline std::uint64_t load_partial(const char* p, std::size_t n) {
  if (n >= 8) return load64(p);
  if (n >= 4) return load32(p) | load32(p + n - 4) << (8 * (n - 4));
  if (n == 0) return 0;
  auto byte = [&](std::size_t i) { return static_cast<std::uint64_t>(static_cast<unsigned char>(p[i])) << (8 * i); };
  return byte(0) | byte(n / 2) | byte(n - 1);
}

/// The bytes p[0..n), n <= 16, zero padded into two little-endian words.
inline void load_words(const char* p, std::size_t n, std::uint64_t& lo, std::uint64_t& hi) {
  if (n <= 8) {
    lo = load_partial(p, n);
    hi = 0;
    return;
  }
  lo = load64(p);
  hi = load64(p + n - 8) >> (8 * (16 - n));  // the last n - 8 bytes, moved down to byte 0
}

inline constexpr std::uint64_t kSeed0 = 0x243f6a8885a308d3ULL;  // digits of pi
inline constexpr std::uint64_t kSeed1 = 0x13198a2e03707344ULL;
inline constexpr std::uint64_t kSeed2 = 0xa4093822299f31d0ULL;

}  // namespace key_hash_detail

static_assert(std::endian::native == std::endian::little, "ShortKey words assume a little-endian CPU");

/// A key of at most `kMaxBytes` bytes in two words: its bytes zero padded, its length in the
/// top byte. The same 16 bytes are how SmallKey stores it inline.
///
/// Why words: a lookup builds the key of a short name with loads and shifts, hashes it and
/// compares it with a slot's words, all in registers. Writing the key to a buffer and reading
/// it back as words would cost far more than the copy: a load that spans several smaller
/// stores cannot take its bytes from them and waits until they reach the cache, that is until
/// every earlier instruction has retired, including the previous lookup's cache miss. Lookups
/// in a row could then never overlap their misses (docs/internals.md, "Lookups without a lock").
struct ShortKey {
  static constexpr std::size_t kMaxBytes = 15;
  std::uint64_t lo = 0;
  std::uint64_t hi = 0;

  /// `bytes` (at most kMaxBytes of them).
  static ShortKey of(std::string_view bytes) {
    ShortKey k;
    key_hash_detail::load_words(bytes.data(), bytes.size(), k.lo, k.hi);
    k.hi |= static_cast<std::uint64_t>(bytes.size()) << 56;
    return k;
  }
  /// The byte `first` followed by `rest` (at most kMaxBytes - 1 bytes): a msgpack header and
  /// the string it announces, without writing them next to each other first.
  static ShortKey of(unsigned char first, std::string_view rest) {
    std::uint64_t lo, hi;
    key_hash_detail::load_words(rest.data(), rest.size(), lo, hi);
    ShortKey k;
    k.lo = first | lo << 8;
    k.hi = hi << 8 | lo >> 56 | static_cast<std::uint64_t>(rest.size() + 1) << 56;
    return k;
  }
  std::size_t size() const { return static_cast<std::size_t>(hi >> 56); }
  friend bool operator==(const ShortKey&, const ShortKey&) = default;
};

/// The hash of a short key (what hash_bytes answers for its bytes).
inline std::uint64_t hash_short_key(ShortKey key) {
  using namespace key_hash_detail;
  return fold_multiply(fold_multiply(key.lo ^ kSeed1, key.hi ^ kSeed0) ^ kSeed2, kSeed1);
}

/// A 64-bit hash of a byte string.
inline std::uint64_t hash_bytes(std::string_view bytes) {
  using namespace key_hash_detail;
  if (bytes.size() <= ShortKey::kMaxBytes) return hash_short_key(ShortKey::of(bytes));
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  std::uint64_t state = kSeed0 ^ n;
  std::size_t i = 0;
  for (; i + 16 < n; i += 16) state = fold_multiply(load64(p + i) ^ kSeed1, load64(p + i + 8) ^ state);
  std::uint64_t a = load64(p + n - 16);
  std::uint64_t b = load64(p + n - 8);
  return fold_multiply(fold_multiply(a ^ kSeed1, b ^ state) ^ kSeed2, n ^ kSeed1);
}

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return hash_bytes(key); }
};

struct KeyEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

/// The shard of a key among 64.
inline std::size_t shard_index_64(std::string_view key) { return KeyHash{}(key) >> 58; }

}  // namespace syn::detail
