#pragma once
// One registered name, in 40 bytes beside its 16-byte key (a 56-byte table slot): the slot
// size, more than anything, sets the cost of a lookup in a large table (bench/micro).
#include "common/compact_bytes.hpp"
#include "node/process_control.hpp"

#include <syn/pid.hpp>

#include <cstdint>
#include <string_view>

namespace syn::detail {

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

  Pid pid;
  std::int64_t time = 0;  ///< authority wall clock, ns

 private:
  CompactBytes meta_;
  ProcessControl* local_ = nullptr;
};

static_assert(sizeof(RegEntry) == 40);

}  // namespace syn::detail
