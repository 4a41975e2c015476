#pragma once
// The local processes of a node, by id. Sharded so that many threads spawning, sending and
// exiting at once do not queue on one lock.
#include "common/thread_safety.hpp"
#include "node/process_control.hpp"

#include <absl/container/flat_hash_map.h>

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace syn::detail {

class ProcessTable {
 public:
  void insert(std::shared_ptr<ProcessControl> process);
  std::shared_ptr<ProcessControl> find(std::uint64_t id) const;
  void erase(std::uint64_t id);
  /// Removes and returns every process (node shutdown).
  std::vector<std::shared_ptr<ProcessControl>> take_all();
  std::size_t size() const;
  /// Messages waiting in every mailbox, and the deepest any live mailbox has been (metrics:
  /// visits every process, each under its own lock, so a scrape costs O(processes)).
  std::pair<std::uint64_t, std::uint64_t> mailbox_depths() const;

 private:
  static constexpr std::size_t kShards = 16;
  struct alignas(64) Shard {
    mutable SharedMutex mutex;
    absl::flat_hash_map<std::uint64_t, std::shared_ptr<ProcessControl>> processes SYN_GUARDED_BY(mutex);
  };
  Shard& shard(std::uint64_t id) { return shards_[id % kShards]; }
  const Shard& shard(std::uint64_t id) const { return shards_[id % kShards]; }
  std::array<Shard, kShards> shards_;
};

}  // namespace syn::detail
