#pragma once
// A table key in 16 bytes: up to 15 bytes inline (most names: "device:12345" is 13 canonical
// bytes), longer ones on the heap. Registry slots stay small, and a lookup touches one cache
// line instead of two (the slot size, more than anything, sets the cost of a lookup in a large
// table; bench/micro measures it). A heap key is freed through reclaim::retire: lookups read
// keys without a lock (registry/replica_map.hpp).
#include "tables/key_hash.hpp"
#include "tables/reclaim.hpp"

#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

namespace syn::detail {

class SmallKey {
 public:
  SmallKey() { bytes_[kTag] = 0; }
  explicit SmallKey(std::string_view key) { assign(key); }
  SmallKey(const SmallKey& other) { assign(other.view()); }
  SmallKey& operator=(const SmallKey& other) {
    if (this != &other) {
      release();
      assign(other.view());
    }
    return *this;
  }
  SmallKey(SmallKey&& other) noexcept {
    std::memcpy(bytes_, other.bytes_, sizeof bytes_);
    other.bytes_[kTag] = 0;
  }
  SmallKey& operator=(SmallKey&& other) noexcept {
    if (this != &other) {
      release();
      std::memcpy(bytes_, other.bytes_, sizeof bytes_);
      other.bytes_[kTag] = 0;
    }
    return *this;
  }
  ~SmallKey() { release(); }

  std::string_view view() const {
    if (static_cast<unsigned char>(bytes_[kTag]) != kHeap) {
      return {bytes_, static_cast<std::size_t>(static_cast<unsigned char>(bytes_[kTag]))};
    }
    const char* data;
    std::uint32_t size;
    std::memcpy(&data, bytes_, sizeof data);
    std::memcpy(&size, bytes_ + sizeof data, sizeof size);
    return {data, size};
  }
  operator std::string_view() const { return view(); }  // NOLINT(google-explicit-constructor)
  std::string str() const { return std::string(view()); }
  bool on_heap() const { return static_cast<unsigned char>(bytes_[kTag]) == kHeap; }

  /// The 16 bytes of a key as a lock-free reader copies them: possibly torn while a writer
  /// changes the key, so the reader validates before following `heap_data()`. Kept as two
  /// words (not bytes) so that comparing them with a ShortKey reads no memory.
  struct Raw {
    std::uint64_t lo = 0;
    std::uint64_t hi = 0;
    bool on_heap() const { return (hi >> 56) == kHeap; }
    const char* heap_data() const { return reinterpret_cast<const char*>(static_cast<std::uintptr_t>(lo)); }
    std::uint32_t heap_size() const { return static_cast<std::uint32_t>(hi); }
    /// The same inline key (an inline key's padding is zero; a heap key never equals one).
    bool is(const ShortKey& key) const { return lo == key.lo && hi == key.hi; }
  };
  /// Copies the key with relaxed atomic loads (a reader racing a writer, under a seqlock).
  Raw load_racy() const {
    const auto* words = reinterpret_cast<const std::uint64_t*>(bytes_);
    return Raw{__atomic_load_n(words, __ATOMIC_RELAXED), __atomic_load_n(words + 1, __ATOMIC_RELAXED)};
  }

 private:
  static constexpr std::size_t kTag = 15;  // the byte that holds an inline key's length
  static constexpr unsigned char kHeap = 0xff;
  static_assert(ShortKey::kMaxBytes == kTag && sizeof(ShortKey) == 16, "inline keys are ShortKeys");

  void assign(std::string_view key) {
    if (key.size() <= ShortKey::kMaxBytes) {
      auto words = ShortKey::of(key);  // zero padded: readers compare whole words
      std::memcpy(bytes_, &words, sizeof bytes_);
      return;
    }
    char* data = new char[key.size()];
    std::memcpy(data, key.data(), key.size());
    auto size = static_cast<std::uint32_t>(key.size());
    std::memcpy(bytes_, &data, sizeof data);
    std::memcpy(bytes_ + sizeof data, &size, sizeof size);
    bytes_[kTag] = static_cast<char>(kHeap);
  }
  void release() {
    if (on_heap()) {
      char* data;
      std::memcpy(&data, bytes_, sizeof data);
      reclaim::retire_chars(data);  // a lock-free reader may be comparing it right now
      bytes_[kTag] = 0;
    }
  }

  alignas(8) char bytes_[16];
};

static_assert(sizeof(SmallKey) == 16);

}  // namespace syn::detail
