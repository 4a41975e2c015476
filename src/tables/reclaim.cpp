#include "tables/reclaim.hpp"

#include "common/log.hpp"
#include "common/thread_safety.hpp"

#include <linux/membarrier.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <utility>
#include <vector>

namespace syn::detail::reclaim {

namespace {

constexpr std::size_t kCollectEvery = 1024;      // retired blocks between collections
constexpr std::size_t kCollectBytes = 1u << 20;  // or retired bytes
constexpr int kSpinChecks = 256;                 // re-reads of a reader still inside

long membarrier(int cmd) { return ::syscall(SYS_membarrier, cmd, 0u, 0); }

bool register_membarrier() { return membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0; }

struct Retired {
  void* block;
  void (*free)(void*);
};

/// Every reader record and every retired block of the process.
class Reclaimer {
 public:
  ReaderRecord& acquire_record() {
    MutexLock lock(mutex_);
    for (auto* r = readers_; r; r = r->next) {
      if (!r->in_use) {
        r->in_use = true;
        return *r;
      }
    }
    auto* r = new ReaderRecord;  // never freed: collectors may read it at any time
    r->in_use = true;
    r->next = readers_;
    readers_ = r;
    return *r;
  }

  void release_record(ReaderRecord& record) {
    MutexLock lock(mutex_);
    record.in_use = false;
  }

  void retire(Retired block, std::size_t bytes) {
    MutexLock lock(mutex_);
    pending_.push_back(block);
    pending_bytes_ += bytes;
    if (pending_.size() >= kCollectEvery || pending_bytes_ >= kCollectBytes) collect_locked();
  }

  void collect_now() {
    MutexLock lock(mutex_);
    collect_locked();
    collect_locked();  // the first frees the previous batch, the second this one
  }

  std::size_t pending() {
    MutexLock lock(mutex_);
    return pending_.size() + waiting_.size();
  }

 private:
  // Frees the batch retired before the last barrier when its readers have moved on, then
  // starts a new batch with what was retired since.
  void collect_locked() SYN_REQUIRES(mutex_) {
    if (!waiting_.empty()) {
      if (!readers_moved_on()) return;
      free_all(waiting_);
    }
    if (pending_.empty()) return;
    if (!barrier_all_threads()) return;  // keep everything: leaking beats a use after free
    waiting_.swap(pending_);
    pending_bytes_ = 0;
    waiting_on_.clear();
    for (auto* r = readers_; r; r = r->next) {
      auto state = r->state.load(std::memory_order_acquire);
      if (state & 1) waiting_on_.emplace_back(r, state);
    }
    if (readers_moved_on()) free_all(waiting_);
  }

  bool readers_moved_on() SYN_REQUIRES(mutex_) {
    for (int check = 0; check < kSpinChecks; ++check) {
      std::erase_if(waiting_on_,
                    [](const auto& w) { return w.first->state.load(std::memory_order_acquire) != w.second; });
      if (waiting_on_.empty()) return true;
    }
    return false;  // a reader was descheduled inside its section: next time
  }

  static void free_all(std::vector<Retired>& blocks) {
    for (auto& b : blocks) b.free(b.block);
    blocks.clear();
  }

  static bool barrier_all_threads() {
    if (g_readers_fence) {
      thread_fence(std::memory_order_seq_cst);
      return true;
    }
    if (membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return true;
    // A forked child may have to register again.
    if (register_membarrier() && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0) return true;
    SYN_LOG(error, "", "membarrier(2) failed; retired table memory is kept, not freed");
    return false;
  }

  Mutex mutex_;
  ReaderRecord* readers_ SYN_GUARDED_BY(mutex_) = nullptr;
  std::vector<Retired> pending_ SYN_GUARDED_BY(mutex_);  ///< retired since the last barrier
  std::size_t pending_bytes_ SYN_GUARDED_BY(mutex_) = 0;
  std::vector<Retired> waiting_ SYN_GUARDED_BY(mutex_);  ///< retired before the last barrier
  /// Readers inside their section when the last barrier ran, with the state they had.
  std::vector<std::pair<ReaderRecord*, std::uint64_t>> waiting_on_ SYN_GUARDED_BY(mutex_);
};

Reclaimer& reclaimer() {
  static auto* r = new Reclaimer;  // never destroyed: threads may retire during exit
  return *r;
}

/// Gives the thread's record back when the thread ends.
struct RecordOwner {
  ~RecordOwner() {
    if (t_reader) reclaimer().release_record(*t_reader);
    t_reader = nullptr;
  }
};

void free_chars(void* block) { delete[] static_cast<char*>(block); }

}  // namespace

bool g_readers_fence = !register_membarrier();

ReaderRecord& reader_record_slow() {
  thread_local RecordOwner owner;
  t_reader = &reclaimer().acquire_record();
  return *t_reader;
}

void retire(void* block, void (*free)(void*), std::size_t bytes) { reclaimer().retire(Retired{block, free}, bytes); }

void retire_chars(char* block) {
  if (block) retire(block, free_chars, 0);
}

void collect_now() { reclaimer().collect_now(); }

std::size_t pending() { return reclaimer().pending(); }

}  // namespace syn::detail::reclaim
