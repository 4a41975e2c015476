#include "node/process_table.hpp"

#include <algorithm>

namespace syn::detail {

void ProcessTable::insert(std::shared_ptr<ProcessControl> process) {
  auto id = process->pid().id();
  auto& s = shard(id);
  WriterLock lock(s.mutex);
  s.processes.emplace(id, std::move(process));
}

std::shared_ptr<ProcessControl> ProcessTable::find(std::uint64_t id) const {
  const auto& s = shard(id);
  ReaderLock lock(s.mutex);
  auto it = s.processes.find(id);
  return it == s.processes.end() ? nullptr : it->second;
}

void ProcessTable::erase(std::uint64_t id) {
  auto& s = shard(id);
  WriterLock lock(s.mutex);
  s.processes.erase(id);
}

std::vector<std::shared_ptr<ProcessControl>> ProcessTable::take_all() {
  std::vector<std::shared_ptr<ProcessControl>> out;
  for (auto& s : shards_) {
    WriterLock lock(s.mutex);
    for (auto& [id, p] : s.processes) out.push_back(std::move(p));
    s.processes.clear();
  }
  return out;
}

std::size_t ProcessTable::size() const {
  std::size_t n = 0;
  for (auto& s : shards_) {
    ReaderLock lock(s.mutex);
    n += s.processes.size();
  }
  return n;
}

std::pair<std::uint64_t, std::uint64_t> ProcessTable::mailbox_depths() const {
  std::uint64_t depth = 0, high_water = 0;
  for (auto& s : shards_) {
    ReaderLock lock(s.mutex);
    for (const auto& [id, process] : s.processes) {
      auto [waiting, most] = process->mailbox_depth();
      depth += waiting;
      high_water = std::max<std::uint64_t>(high_water, most);
    }
  }
  return {depth, high_water};
}

}  // namespace syn::detail
