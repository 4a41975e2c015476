#pragma once
// The registry replica of one scope on one node: name (canonical bytes) -> entry, sharded by
// the hash of the name so that readers on different names never touch the same lock and
// writers on different names run in parallel. Callers lock a shard and use the helpers below,
// which keep the per-node counts right.
#include "common/key_hash.hpp"
#include "common/small_key.hpp"
#include "registry/registry_entry.hpp"

#include <syn/pid.hpp>

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

class RegistryTable {
 public:
  static constexpr std::size_t kShards = 64;
  using Map = absl::flat_hash_map<SmallKey, RegEntry, SmallKeyHash, SmallKeyEq>;

  struct alignas(64) Shard {
    mutable std::shared_mutex mutex;
    Map entries;
    absl::flat_hash_map<std::uint32_t, std::size_t> per_node;  ///< entries by node atom
    /// Registrations of other nodes that this node owns neither of, hidden behind the newer
    /// registration of a third node that `entries` shows for the same name: at most one per
    /// node and name (each node holds a name once). When the shown one goes, the newest
    /// hidden one shows again: a node that sees both sides of a partial split must not
    /// forget the side that lost on it (SPEC 6: convergence). Never local processes, never
    /// counted; a key here always has an entry in `entries`. Lock held.
    absl::flat_hash_map<std::string, std::vector<RegEntry>, KeyHash, KeyEq> hidden;

    /// Inserts or overwrites; keeps per_node right. Lock held.
    RegEntry& put(std::string_view key, RegEntry entry);
    /// Erases; keeps per_node right. Lock held.
    void erase(Map::iterator it);
    /// Replaces the pid (and all) of an existing entry. Lock held.
    void replace(Map::iterator it, RegEntry entry);
  };

  Shard& shard_for(std::string_view key) { return shards_[index(key)]; }
  const Shard& shard_for(std::string_view key) const { return shards_[index(key)]; }
  /// The shard of a key whose KeyHash is `hash` (lookups hash once for shard and slot).
  const Shard& shard_for_hash(std::size_t hash) const { return shards_[hash >> 58]; }
  Shard& shard(std::size_t i) { return shards_[i]; }
  const Shard& shard(std::size_t i) const { return shards_[i]; }

  std::size_t size() const;
  std::size_t count(std::uint32_t node_atom) const;

 private:
  static std::size_t index(std::string_view key) {
    return shard_index_64(key);
  }
  std::array<Shard, kShards> shards_;
};

}  // namespace syn::detail
