#pragma once
// A table key in 16 bytes: up to 15 bytes inline (most names: "device:12345" is 13 canonical
// bytes), longer ones on the heap. Registry slots stay small, and a lookup touches one cache
// line instead of two (the slot size, more than anything, sets the cost of a lookup in a large
// table; bench/micro measures it). A heap key is freed through reclaim::retire: lookups read
// keys without a lock (registry/replica_map.hpp).
#include "common/key_hash.hpp"
#include "common/reclaim.hpp"

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
  /// changes the key, so the reader validates before following `heap_data()`.
  struct Raw {
    alignas(8) char bytes[16];
    bool on_heap() const { return static_cast<unsigned char>(bytes[kTag]) == kHeap; }
    const char* heap_data() const {
      const char* data;
      std::memcpy(&data, bytes, sizeof data);
      return data;
    }
    std::uint32_t heap_size() const {
      std::uint32_t size;
      std::memcpy(&size, bytes + sizeof(const char*), sizeof size);
      return size;
    }
    /// Same 16 bytes: for inline keys, the same key (padding is zero).
    bool same_words(const Raw& other) const { return std::memcmp(bytes, other.bytes, sizeof bytes) == 0; }
  };
  /// The Raw form `key` has when stored inline; false when it is too long to be inline.
  static bool inline_raw(std::string_view key, Raw& out) {
    if (key.size() > kTag) return false;
    std::memset(out.bytes, 0, sizeof out.bytes);
    std::memcpy(out.bytes, key.data(), key.size());
    out.bytes[kTag] = static_cast<char>(key.size());
    return true;
  }
  /// Copies the key with relaxed atomic loads (a reader racing a writer, under a seqlock).
  Raw load_racy() const {
    Raw raw;
    for (std::size_t w = 0; w < 2; ++w) {
      auto word = __atomic_load_n(reinterpret_cast<const std::uint64_t*>(bytes_) + w, __ATOMIC_RELAXED);
      std::memcpy(raw.bytes + w * 8, &word, 8);
    }
    return raw;
  }

 private:
  static constexpr std::size_t kTag = 15;
  static constexpr unsigned char kHeap = 0xff;

  void assign(std::string_view key) {
    if (key.size() <= kTag) {
      std::memset(bytes_, 0, sizeof bytes_);  // zero padding: readers compare whole words
      std::memcpy(bytes_, key.data(), key.size());
      bytes_[kTag] = static_cast<char>(key.size());
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
