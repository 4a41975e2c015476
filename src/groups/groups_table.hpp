#pragma once
// The groups replica of one scope on one node: group (canonical bytes) -> members, sharded by
// the hash of the group. Members are kept ordered by pid, so every node lists a group in the
// same order and the cost of a join is logarithmic in the group's size (OTP pg's is linear:
// 100k joins into one group take it minutes).
#include "common/thread_safety.hpp"
#include "tables/compact_bytes.hpp"
#include "node/process_control.hpp"
#include "tables/key_hash.hpp"

#include <syn/pid.hpp>

#include <absl/container/btree_map.h>
#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

struct SubscriptionState;

/// One membership: 24 bytes beside its pid.
struct MemberRec {
  std::int64_t time = 0;
  CompactBytes meta;
  ProcessControl* local = nullptr;  ///< the process when it runs here (it outlives the record)
};

struct Group {
  absl::btree_map<Pid, MemberRec> members;
  absl::flat_hash_map<std::uint32_t, std::uint32_t> per_node;  ///< members by node atom

  /// The first member of `node` (any incarnation). Pids order by node first, so a node's
  /// members follow one another: a node down or a snapshot reads only its own.
  absl::btree_map<Pid, MemberRec>::iterator first_of(std::uint32_t node) {
    return members.lower_bound(Pid::from_atom(node, 0, 0));
  }
  absl::btree_map<Pid, MemberRec>::const_iterator first_of(std::uint32_t node) const {
    return members.lower_bound(Pid::from_atom(node, 0, 0));
  }

  MemberRec& put(const Pid& pid, MemberRec rec);
  /// Erases a member; returns the one after it.
  absl::btree_map<Pid, MemberRec>::iterator erase(absl::btree_map<Pid, MemberRec>::iterator it);
};

class GroupsTable {
 public:
  static constexpr std::size_t kShards = 64;
  using Map = absl::flat_hash_map<std::string, Group, KeyHash, KeyEq>;

  struct alignas(64) Shard {
    mutable SharedMutex mutex;
    Map groups SYN_GUARDED_BY(mutex);  ///< only groups with members
    /// Subscriptions to one group, by group key (kept while the group is empty too).
    absl::flat_hash_map<std::string, std::vector<std::shared_ptr<SubscriptionState>>, KeyHash, KeyEq> subscribers
        SYN_GUARDED_BY(mutex);
    /// Counted memberships of local processes (join_counted) whose count is 2 or more, by
    /// (group key, pid); a member absent here counts 1. Rare, hence a plain map.
    std::map<std::pair<std::string, Pid>, std::uint32_t> join_counts SYN_GUARDED_BY(mutex);
  };

  /// The table's own rules, checked (for storm tests and the simulator; takes every shard's
  /// lock in turn): no empty group; each group's per-node counts match its members; a local
  /// member is a process of `self_atom`. One line per broken rule; empty when all hold.
  std::vector<std::string> check_invariants(std::uint32_t self_atom) const;

  Shard& shard_for(std::string_view key) { return shards_[index(key)]; }
  const Shard& shard_for(std::string_view key) const { return shards_[index(key)]; }
  Shard& shard(std::size_t i) { return shards_[i]; }
  const Shard& shard(std::size_t i) const { return shards_[i]; }

 private:
  static std::size_t index(std::string_view key) { return shard_index_64(key); }
  std::array<Shard, kShards> shards_;
};

}  // namespace syn::detail
