#pragma once
// One registered name, in 40 bytes beside its 16-byte key (a 56-byte table slot): the slot
// size, more than anything, sets the cost of a lookup in a large table (bench/micro). It lives
// with the lock-free map (replica_map.hpp) whose slots it fills.
#include "tables/compact_bytes.hpp"

#include <syn/pid.hpp>

#include <cstdint>
#include <cstring>
#include <string_view>

namespace syn::detail {

class ProcessControl;  // only pointed to here: the tables sit below node/ (docs/internals.md)

/// What a lock-free reader copies out of an entry. `meta()` stays readable until the end of
/// the reader's reclaim::ReadSection (meta blocks are retired, never changed in place).
struct RegEntrySnapshot {
  Pid pid;
  std::int64_t time = 0;
  const char* meta_block = nullptr;
  ProcessControl* local = nullptr;
  std::string_view meta() const { return SharedCompactBytes::view_of(meta_block); }
};

struct RegEntry {
  RegEntry() = default;
  RegEntry(const Pid& p, std::int64_t t, std::string_view meta, ProcessControl* process)
      : pid(p), time(t), meta_(meta), local_(process) {}

  /// The canonical meta; empty means null.
  std::string_view meta() const { return meta_.view(); }
  void set_meta(std::string_view meta) { meta_.assign(meta); }
  /// The process when it runs on this node (it outlives the entry), else null. Kept in the
  /// slot: a lookup on the owner checks it is alive with one more memory access, not two.
  ProcessControl* local() const { return local_; }

  /// Copies the entry with relaxed atomic loads: a reader racing a writer under a seqlock,
  /// which checks the seqlock before it trusts the copy.
  RegEntrySnapshot load_racy() const {
    RegEntrySnapshot s;
    static_assert(sizeof(Pid) == 16 && alignof(Pid) == 8);
    std::uint64_t words[2];
    for (std::size_t w = 0; w < 2; ++w) {
      words[w] = __atomic_load_n(reinterpret_cast<const std::uint64_t*>(&pid) + w, __ATOMIC_RELAXED);
    }
    std::memcpy(static_cast<void*>(&s.pid), words, sizeof words);
    s.time = __atomic_load_n(&time, __ATOMIC_RELAXED);
    s.meta_block = meta_.load_racy();
    s.local = __atomic_load_n(&local_, __ATOMIC_RELAXED);
    return s;
  }

  Pid pid;
  std::int64_t time = 0;  ///< authority wall clock, ns

 private:
  SharedCompactBytes meta_;
  ProcessControl* local_ = nullptr;
};

static_assert(sizeof(RegEntry) == 40);

}  // namespace syn::detail
