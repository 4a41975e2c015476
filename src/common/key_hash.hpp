#pragma once
// Hashing of table keys (canonical term bytes), transparent so that lookups take a
// string_view without building a string. The top bits of the same hash pick the shard.
#include <absl/hash/hash.h>

#include <cstddef>
#include <string_view>

namespace syn::detail {

struct KeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return absl::Hash<std::string_view>{}(key); }
};

struct KeyEq {
  using is_transparent = void;
  bool operator()(std::string_view a, std::string_view b) const { return a == b; }
};

/// The shard of a key among 64.
inline std::size_t shard_index_64(std::string_view key) { return KeyHash{}(key) >> 58; }

}  // namespace syn::detail
