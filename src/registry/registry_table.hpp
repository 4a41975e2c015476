#pragma once
// The registry replica of one scope on one node: name (canonical bytes) -> entry, sharded by
// the hash of the name so that writers on different names run in parallel. Writers take a
// shard's write lock and use the helpers below, which keep the per-node counts right.
// Lookups take no lock: they read `entries` optimistically (`ReplicaMap::probe`) between two
// reads of the shard's seqlock, which every write lock bumps.
#include "common/thread_safety.hpp"
#include "tables/key_hash.hpp"
#include "tables/small_key.hpp"
#include "tables/thread_fence.hpp"
#include "tables/registry_entry.hpp"
#include "tables/replica_map.hpp"

#include <syn/pid.hpp>

#include <absl/container/flat_hash_map.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::detail {

class RegistryTable {
 public:
  static constexpr std::size_t kShards = 64;
  using Map = ReplicaMap;

  struct alignas(64) Shard {
    /// The exclusive lock of a writer; the seqlock is odd while it is held, so that lock-free
    /// readers who overlapped any part of the write try again. Constructed on a shard, it is a
    /// scoped capability the thread-safety analysis follows; moved (AuthorityWrite takes it
    /// late), the analysis loses it and the body says `shard.assert_held()`.
    class SYN_SCOPED_CAPABILITY WriteLock {
     public:
      /// Holds nothing (AuthorityWrite takes the lock later by move-assignment).
      WriteLock() = default;
      explicit WriteLock(Shard& shard) SYN_ACQUIRE(shard.mutex) : shard_(&shard) {
        shard.mutex.lock();
        auto s = shard.seq_.load(std::memory_order_relaxed);
        shard.seq_.store(s + 1, std::memory_order_relaxed);
        thread_fence(std::memory_order_release);  // odd before any change
      }
      WriteLock(WriteLock&& other) noexcept : shard_(std::exchange(other.shard_, nullptr)) {}
      WriteLock& operator=(WriteLock&& other) noexcept SYN_NO_THREAD_SAFETY_ANALYSIS {
        if (this != &other) {
          release();
          shard_ = std::exchange(other.shard_, nullptr);
        }
        return *this;
      }
      WriteLock(const WriteLock&) = delete;
      WriteLock& operator=(const WriteLock&) = delete;
      ~WriteLock() SYN_RELEASE() { release(); }

     private:
      // Unlocks what the constructor (or a move) handed over; the analysis tracks the scope.
      void release() SYN_NO_THREAD_SAFETY_ANALYSIS {
        if (!shard_) return;
        auto s = shard_->seq_.load(std::memory_order_relaxed);
        shard_->seq_.store(s + 1, std::memory_order_release);  // every change before even
        shard_->mutex.unlock();
        shard_ = nullptr;
      }
      Shard* shard_ = nullptr;
    };

    /// Blocks writers (not lock-free readers): for reads of more than one entry.
    class SYN_SCOPED_CAPABILITY ReadLock {
     public:
      explicit ReadLock(const Shard& shard) SYN_ACQUIRE_SHARED(shard.mutex) : shard_(shard) {
        shard_.mutex.lock_shared();
      }
      ~ReadLock() SYN_RELEASE() { shard_.mutex.unlock_shared(); }
      ReadLock(const ReadLock&) = delete;
      ReadLock& operator=(const ReadLock&) = delete;

     private:
      const Shard& shard_;
    };

    /// Tells the analysis this thread holds the write lock where it cannot see it (a lock moved
    /// into an AuthorityWrite); debug builds check that it does.
    void assert_held() const SYN_ASSERT_CAPABILITY(mutex) { mutex.assert_held(); }

    /// A lock-free reader's start: the seqlock value to validate against (odd: being written).
    std::uint64_t read_begin() const { return seq_.load(std::memory_order_acquire); }
    /// True when no writer held the shard since `read_begin` returned `seq`.
    bool unchanged_since(std::uint64_t seq) const {
      thread_fence(std::memory_order_acquire);  // the reads before, then the check
      return seq_.load(std::memory_order_relaxed) == seq;
    }

    /// Written under the lock (put, erase, replace); read lock-free between two seqlock reads,
    /// so not guarded for the analysis: its writers are.
    Map entries;
    absl::flat_hash_map<std::uint32_t, std::size_t> per_node SYN_GUARDED_BY(mutex);  ///< entries by node atom
    /// Registrations of other nodes that this node owns neither of, hidden behind the newer
    /// registration of a third node that `entries` shows for the same name: at most one per
    /// node and name (each node holds a name once). When the shown one goes, the newest
    /// hidden one shows again: a node that sees both sides of a partial split must not
    /// forget the side that lost on it (SPEC 6: convergence). Never local processes, never
    /// counted; a key here always has an entry in `entries`.
    absl::flat_hash_map<std::string, std::vector<RegEntry>, KeyHash, KeyEq> hidden SYN_GUARDED_BY(mutex);

    /// Inserts or overwrites; keeps per_node right.
    RegEntry& put(std::string_view key, RegEntry entry) SYN_REQUIRES(mutex);
    /// Erases; keeps per_node right.
    void erase(Map::iterator it) SYN_REQUIRES(mutex);
    /// Replaces the pid (and all) of an existing entry.
    void replace(Map::iterator it, RegEntry entry) SYN_REQUIRES(mutex);

    /// The shard's lock: take it through WriteLock or ReadLock only (a writer must also move the
    /// seqlock).
    mutable SharedMutex mutex;

   private:
    std::atomic<std::uint64_t> seq_{0};
  };

  Shard& shard_for(std::string_view key) { return shards_[index(key)]; }
  const Shard& shard_for(std::string_view key) const { return shards_[index(key)]; }
  /// The shard of a key whose KeyHash is `hash` (lookups hash once for shard and slot).
  const Shard& shard_for_hash(std::size_t hash) const { return shards_[hash >> 58]; }
  Shard& shard(std::size_t i) { return shards_[i]; }
  const Shard& shard(std::size_t i) const { return shards_[i]; }

  std::size_t size() const;
  std::size_t count(std::uint32_t node_atom) const;

  /// The table's own rules, checked (for storm tests and the simulator; takes every shard's
  /// lock in turn): the per-node counts match the entries; a hidden registration has a shown
  /// one, is never local, and is at most one per node and name, never of the shown one's node;
  /// a local entry is a process of `self_atom`. One line per broken rule; empty when all hold.
  std::vector<std::string> check_invariants(std::uint32_t self_atom) const;

 private:
  static std::size_t index(std::string_view key) { return shard_index_64(key); }
  std::array<Shard, kShards> shards_;
};

}  // namespace syn::detail
