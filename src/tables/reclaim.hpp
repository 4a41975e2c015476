#pragma once
// Deferred reclamation for tables read without locks (the registry's lookup path).
//
// A reader brackets its lock-free reads with a `ReadSection`; a writer that unlinks memory a
// reader may still be looking at hands it to `retire` instead of freeing it. Retired memory is
// freed once every reader that was inside a section when it was retired has left it.
//
// Readers pay no locked instruction and no fence: entering a section is a plain store to a
// counter of the reading thread. The writer side makes up for it: before it checks those
// counters it runs membarrier(2), which puts a full barrier on every running thread of the
// process, so a reader's store is either visible to the writer, or the reader's later loads
// see the writer's unlinking store. Without membarrier (old kernels) readers fence instead.
// Collection is batched: one membarrier per thousand retired blocks or per megabyte.
#include "tables/thread_fence.hpp"

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace syn::detail::reclaim {

/// The counter of one reading thread: odd while the thread is inside a ReadSection.
struct alignas(64) ReaderRecord {
  std::atomic<std::uint64_t> state{0};
  ReaderRecord* next = nullptr;  ///< the list of every record (records are never freed)
  bool in_use = false;           ///< owned by a live thread (guarded by the registry mutex)
};

/// The calling thread's record, registered on first use.
ReaderRecord& reader_record_slow();
/// True when readers must fence themselves (membarrier(2) is not available).
extern bool g_readers_fence;

inline thread_local ReaderRecord* t_reader = nullptr;

/// Marks the calling thread as reading memory that may be retired meanwhile. Not reentrant:
/// sections do not nest (a lookup never runs user code inside its section).
class ReadSection {
 public:
  ReadSection() : record_(t_reader ? *t_reader : reader_record_slow()) {
    auto s = record_.state.load(std::memory_order_relaxed);
    record_.state.store(s + 1, std::memory_order_relaxed);
    if (g_readers_fence) {
      thread_fence(std::memory_order_seq_cst);
    } else {
      std::atomic_signal_fence(std::memory_order_seq_cst);  // membarrier orders it at run time
    }
  }
  ~ReadSection() {
    auto s = record_.state.load(std::memory_order_relaxed);
    record_.state.store(s + 1, std::memory_order_release);  // every read of the section is done
  }
  ReadSection(const ReadSection&) = delete;
  ReadSection& operator=(const ReadSection&) = delete;

 private:
  ReaderRecord& record_;
};

/// Frees `block` with `free(block)` once no reader can hold it. `bytes` weighs the block
/// toward the next collection (large table arrays are collected sooner).
void retire(void* block, void (*free)(void*), std::size_t bytes = 0);

/// `delete[]` of a char array, deferred.
void retire_chars(char* block);

/// Frees what no reader can hold any more: for tests and for shutdown paths.
void collect_now();

/// Blocks retired and not freed yet (for tests).
std::size_t pending();

}  // namespace syn::detail::reclaim
