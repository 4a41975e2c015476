// The table hash: every byte counts, and names spread evenly over shards and slot tags.
#include "common/key_hash.hpp"

#include <catch2/catch.hpp>

#include <array>
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

TEST_CASE("key hash: 200k sequential names never collide and spread evenly over shards and tags",
          "[unit][hash]") {
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
