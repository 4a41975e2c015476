// The table hash: every byte counts, and names spread evenly over shards and slot tags.
#include "tables/key_hash.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <cstring>
#include <memory>
#include <random>
#include <string>
#include <unordered_set>

using syn::detail::hash_bytes;

TEST_CASE("key hash: changing any one byte of a key of any length changes the hash", "[unit][hash]") {
  std::mt19937 rng(3);
  for (std::size_t n = 1; n <= 80; ++n) {
    std::string key(n, '\0');
    for (auto& c : key) c = static_cast<char>(rng());
    auto h = hash_bytes(key);
    for (std::size_t i = 0; i < n; ++i) {
      std::string other = key;
      other[i] = static_cast<char>(other[i] ^ 1);
      INFO("length " << n << ", byte " << i);
      CHECK(hash_bytes(other) != h);
    }
    CHECK(hash_bytes(key.substr(0, n - 1)) != h);  // the length counts too
  }
}

TEST_CASE("key hash: 200k sequential names never collide and spread evenly over shards and tags", "[unit][hash]") {
  constexpr std::size_t kKeys = 200'000;
  std::unordered_set<std::uint64_t> hashes;
  std::unordered_set<std::uint32_t> tags;
  std::array<std::size_t, 64> per_shard{};
  for (std::size_t i = 0; i < kKeys; ++i) {
    auto h = hash_bytes("device:" + std::to_string(100000 + i));
    hashes.insert(h);
    tags.insert(static_cast<std::uint32_t>(h >> 32));
    ++per_shard[h >> 58];
  }
  CHECK(hashes.size() == kKeys);
  CHECK(tags.size() > kKeys - 100);  // 32-bit tags: a handful of birthday collisions at most
  for (auto count : per_shard) {
    CHECK(count > kKeys / 64 * 9 / 10);
    CHECK(count < kKeys / 64 * 11 / 10);
  }
}

TEST_CASE("key hash: a short key is its bytes zero padded, its length in the last byte", "[unit][hash]") {
  using syn::detail::ShortKey;
  std::mt19937 rng(5);
  for (std::size_t n = 0; n <= ShortKey::kMaxBytes; ++n) {
    // An allocation of exactly n bytes: a read past the end shows under AddressSanitizer.
    auto bytes = std::make_unique<char[]>(n);
    for (std::size_t i = 0; i < n; ++i) bytes[i] = static_cast<char>(rng());
    std::string_view key(bytes.get(), n);

    unsigned char expected[16] = {};
    std::memcpy(expected, key.data(), n);
    expected[15] = static_cast<unsigned char>(n);
    auto words = ShortKey::of(key);
    INFO("length " << n);
    CHECK(std::memcmp(&words, expected, sizeof expected) == 0);
    CHECK(words.size() == n);
    CHECK(hash_bytes(key) == syn::detail::hash_short_key(words));
  }
}

TEST_CASE("key hash: a key in two parts hashes and compares as the parts joined", "[unit][hash]") {
  using syn::detail::SplitKey;
  std::mt19937 rng(7);
  for (std::size_t head_size = 0; head_size <= SplitKey::kMaxHead; ++head_size) {
    for (std::size_t n = head_size; n <= 80; ++n) {
      std::string joined(n, '\0');
      for (auto& c : joined) c = static_cast<char>(rng());
      // The rest in an allocation of its exact size: a read past it shows under AddressSanitizer.
      auto rest = std::make_unique<char[]>(n - head_size);
      std::memcpy(rest.get(), joined.data() + head_size, n - head_size);
      SplitKey key{0, head_size, std::string_view(rest.get(), n - head_size)};
      for (std::size_t i = 0; i < head_size; ++i)
        key.head |= std::uint64_t{static_cast<unsigned char>(joined[i])} << (8 * i);
      INFO("head " << head_size << ", length " << n);
      CHECK(key.size() == n);
      CHECK(syn::detail::hash_split_key(key) == hash_bytes(joined));
      CHECK(key.same_bytes(joined.data()));
      if (n <= syn::detail::ShortKey::kMaxBytes) CHECK(key.short_key() == syn::detail::ShortKey::of(joined));
      if (n > 0) {
        std::string other = joined;
        other[n - 1] = static_cast<char>(other[n - 1] ^ 1);
        CHECK_FALSE(key.same_bytes(other.data()));
        if (head_size > 0) {
          other = joined;
          other[0] = static_cast<char>(other[0] ^ 1);
          CHECK_FALSE(key.same_bytes(other.data()));
        }
      }
    }
  }
}
