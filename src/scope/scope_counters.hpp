#pragma once
// Counters of one (kind, scope) on a node, for Node::metrics() (SPEC 9). Any thread adds to
// them (relaxed atomics: counts, not synchronisation); metrics reads them.
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace syn::detail {

/// The write calls a scope counts, by name in metrics ("register", "join", ...).
enum class WriteCall : std::size_t { register_name, unregister_name, update, join, leave, update_member };
inline constexpr std::array<const char*, 6> kWriteCallNames = {"register", "unregister", "update",
                                                               "join",     "leave",      "update_member"};

/// How a registry conflict ended on the node that resolved it.
enum class ConflictOutcome : std::size_t { kept_local, kept_remote, kept_neither };
inline constexpr std::array<const char*, 3> kConflictOutcomeNames = {"kept_local", "kept_remote", "kept_neither"};

/// On cache lines of its own: the user threads that count writes must not share a line with
/// the engine's hot fields beside it.
struct alignas(64) ScopeCounters {
  std::array<std::atomic<std::uint64_t>, kWriteCallNames.size()> writes{};
  std::array<std::atomic<std::uint64_t>, kConflictOutcomeNames.size()> conflicts{};
  std::atomic<std::uint64_t> kills{0};  ///< processes the default resolver killed
  std::atomic<std::uint64_t> purges{0};
  std::atomic<std::uint64_t> snapshots_in{0};
  std::atomic<std::uint64_t> snapshots_out{0};
  std::atomic<std::uint64_t> snapshot_bytes_out{0};
  std::atomic<std::uint64_t> snapshot_bytes_in{0};
  std::atomic<std::uint64_t> snapshot_waits{0};  ///< a stream paused for a peer with much unread
  std::atomic<std::uint64_t> snapshot_nanos_in{0};
  std::atomic<std::uint64_t> snapshot_nanos_out{0};

  void count(WriteCall call) { writes[static_cast<std::size_t>(call)].fetch_add(1, std::memory_order_relaxed); }
  void count(ConflictOutcome outcome) {
    conflicts[static_cast<std::size_t>(outcome)].fetch_add(1, std::memory_order_relaxed);
  }
  static void add(std::atomic<std::uint64_t>& counter, std::uint64_t n = 1) {
    counter.fetch_add(n, std::memory_order_relaxed);
  }
};

}  // namespace syn::detail
