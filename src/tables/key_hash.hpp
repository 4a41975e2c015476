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
  std::size_t size() const { return static_cast<std::size_t>(hi >> 56); }
  friend bool operator==(const ShortKey&, const ShortKey&) = default;
};

/// A key given in two parts: a head of at most kMaxHead bytes (a msgpack header) and the rest
/// (the string it announces). Lookups hash and compare it as the bytes of both joined, without
/// joining them in a buffer (see ShortKey for why a buffer costs so much).
struct SplitKey {
  static constexpr std::size_t kMaxHead = 7;
  std::uint64_t head = 0;     ///< the head's bytes, little-endian
  std::size_t head_size = 0;  ///< 0 to kMaxHead
  std::string_view rest;

  std::size_t size() const { return head_size + rest.size(); }
  /// The head's byte `i`.
  unsigned char head_byte(std::size_t i) const { return static_cast<unsigned char>(head >> (8 * i)); }
  /// The key as a ShortKey (size() <= ShortKey::kMaxBytes).
  ShortKey short_key() const {
    std::uint64_t lo, hi;
    key_hash_detail::load_words(rest.data(), rest.size(), lo, hi);
    ShortKey k;
    if (head_size == 0) {
      k.lo = lo;
      k.hi = hi;
    } else {
      const auto shift = 8 * head_size;
      k.lo = head | lo << shift;
      k.hi = hi << shift | lo >> (64 - shift);
    }
    k.hi |= static_cast<std::uint64_t>(size()) << 56;
    return k;
  }
  /// The 8 bytes of the key at `offset`, when the rest holds at least 8 bytes.
  std::uint64_t word_at(std::size_t offset) const {
    if (offset >= head_size) return key_hash_detail::load64(rest.data() + offset - head_size);
    return head >> (8 * offset) | key_hash_detail::load64(rest.data()) << (8 * (head_size - offset));
  }
  /// True when `bytes` (of size() bytes) is this key.
  bool same_bytes(const char* bytes) const {
    for (std::size_t i = 0; i < head_size; ++i) {
      if (static_cast<unsigned char>(bytes[i]) != head_byte(i)) return false;
    }
    return std::memcmp(bytes + head_size, rest.data(), rest.size()) == 0;
  }
};

/// The hash of a short key (what hash_bytes answers for its bytes).
inline std::uint64_t hash_short_key(ShortKey key) {
  using namespace key_hash_detail;
  return fold_multiply(fold_multiply(key.lo ^ kSeed1, key.hi ^ kSeed0) ^ kSeed2, kSeed1);
}

namespace key_hash_detail {
/// The hash of a key of n > ShortKey::kMaxBytes bytes whose 8 bytes at offset i are word(i).
template <class Word>
std::uint64_t hash_long(std::size_t n, Word&& word) {
  std::uint64_t state = kSeed0 ^ n;
  for (std::size_t i = 0; i + 16 < n; i += 16) state = fold_multiply(word(i) ^ kSeed1, word(i + 8) ^ state);
  return fold_multiply(fold_multiply(word(n - 16) ^ kSeed1, word(n - 8) ^ state) ^ kSeed2, n ^ kSeed1);
}
}  // namespace key_hash_detail

/// A 64-bit hash of a byte string.
inline std::uint64_t hash_bytes(std::string_view bytes) {
  if (bytes.size() <= ShortKey::kMaxBytes) return hash_short_key(ShortKey::of(bytes));
  return key_hash_detail::hash_long(bytes.size(),
                                    [p = bytes.data()](std::size_t i) { return key_hash_detail::load64(p + i); });
}

/// The same hash for a key in two parts.
inline std::uint64_t hash_split_key(const SplitKey& key) {
  if (key.size() <= ShortKey::kMaxBytes) return hash_short_key(key.short_key());
  return key_hash_detail::hash_long(key.size(), [&key](std::size_t i) { return key.word_at(i); });
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
