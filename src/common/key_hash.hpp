#pragma once
// Hashing of table keys (canonical term bytes), transparent so that lookups take a
// string_view without building a string. The top bits of the same hash pick the shard.
//
// Our own: keys are short (a name is typically 8 to 40 bytes), and a lookup hashes once, so
// the hash sits on the lookup's critical path. Two or three 64x64->128-bit multiplies fold
// every input bit into every output bit (the table uses the top 6 bits for the shard, the
// next 32 for the slot tag); absl::Hash<string_view> costs about four times the instructions.
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

inline constexpr std::uint64_t kSeed0 = 0x243f6a8885a308d3ULL;  // digits of pi
inline constexpr std::uint64_t kSeed1 = 0x13198a2e03707344ULL;
inline constexpr std::uint64_t kSeed2 = 0xa4093822299f31d0ULL;

}  // namespace key_hash_detail

/// A 64-bit hash of a byte string.
inline std::uint64_t hash_bytes(std::string_view bytes) {
  using namespace key_hash_detail;
  const char* p = bytes.data();
  const std::size_t n = bytes.size();
  std::uint64_t state = kSeed0 ^ n;
  std::uint64_t a = 0, b = 0;
  if (n <= 16) {
    if (n >= 8) {
      a = load64(p);
      b = load64(p + n - 8);  // overlaps a when n < 16: every byte is read
    } else if (n >= 4) {
      a = load32(p);
      b = load32(p + n - 4);
    } else if (n > 0) {
      a = static_cast<std::uint64_t>(static_cast<unsigned char>(p[0])) << 16 |
          static_cast<std::uint64_t>(static_cast<unsigned char>(p[n / 2])) << 8 |
          static_cast<unsigned char>(p[n - 1]);
    }
  } else {
    std::size_t i = 0;
    for (; i + 16 < n; i += 16) state = fold_multiply(load64(p + i) ^ kSeed1, load64(p + i + 8) ^ state);
    a = load64(p + n - 16);
    b = load64(p + n - 8);
  }
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
