// Interned node names: Pid holds a 32-bit index; the names live for the program's life.
//
// Reads are lock-free (Pid::node() and Pid ordering are on hot paths: group members are kept
// ordered by pid): names live in fixed chunks that are never moved, published with release
// stores. Interning a new name takes a lock.
#include <syn/pid.hpp>

#include "common/thread_safety.hpp"

#include <array>
#include <atomic>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>

namespace syn::detail {
namespace {

constexpr std::uint32_t kChunkBits = 10;
constexpr std::uint32_t kChunkSize = 1u << kChunkBits;
constexpr std::uint32_t kChunks = 1u << 12;  // up to 4M node names per OS process

struct Chunk {
  std::array<std::string, kChunkSize> names;
};

struct NameHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct AtomTable {
  SharedMutex mutex;
  std::unordered_map<std::string, std::uint32_t, NameHash, std::equal_to<>> index SYN_GUARDED_BY(mutex){
      {std::string{}, 0}};
  std::uint32_t next SYN_GUARDED_BY(mutex) = 1;
  std::array<std::atomic<Chunk*>, kChunks> chunks{};
  AtomTable() { chunks[0].store(new Chunk, std::memory_order_release); }
};

AtomTable& table() {
  static AtomTable* instance = new AtomTable;  // never destroyed: pids may outlive statics
  return *instance;
}

const std::string& empty_name() {
  static const std::string* empty = new std::string;
  return *empty;
}

}  // namespace

std::uint32_t intern_node_name(std::string_view name) {
  auto& t = table();
  {
    ReaderLock lock(t.mutex);
    if (auto it = t.index.find(name); it != t.index.end()) return it->second;
  }
  WriterLock lock(t.mutex);
  if (auto it = t.index.find(name); it != t.index.end()) return it->second;
  std::uint32_t atom = t.next;
  std::uint32_t chunk = atom >> kChunkBits;
  if (chunk >= kChunks) throw std::length_error("too many distinct node names");
  Chunk* c = t.chunks[chunk].load(std::memory_order_relaxed);
  if (!c) {
    c = new Chunk;
    t.chunks[chunk].store(c, std::memory_order_release);
  }
  c->names[atom & (kChunkSize - 1)] = std::string(name);
  t.index.emplace(std::string(name), atom);
  // Readers only get `atom` from a Pid made after this returns (through the mutex or a
  // happens-before chain), so the name is visible to them.
  t.next = atom + 1;
  return atom;
}

const std::string& node_name_of(std::uint32_t atom) {
  auto& t = table();
  Chunk* c = t.chunks[(atom >> kChunkBits) % kChunks].load(std::memory_order_acquire);
  if (!c) return empty_name();
  return c->names[atom & (kChunkSize - 1)];
}

}  // namespace syn::detail
