#pragma once
// A table key in 16 bytes: up to 15 bytes inline (most names: "device:12345" is 13 canonical
// bytes), longer ones on the heap. Registry slots stay small, and a lookup touches one cache
// line instead of two (the slot size, more than anything, sets the cost of a lookup in a large
// table; bench/micro measures it).
#include "common/key_hash.hpp"

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

 private:
  static constexpr std::size_t kTag = 15;
  static constexpr unsigned char kHeap = 0xff;

  void assign(std::string_view key) {
    if (key.size() <= kTag) {
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
      delete[] data;
      bytes_[kTag] = 0;
    }
  }

  char bytes_[16];
};

static_assert(sizeof(SmallKey) == 16);

/// Hashing and equality of SmallKey and string_view alike (heterogeneous lookups).
struct SmallKeyHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view key) const { return KeyHash{}(key); }
  std::size_t operator()(const SmallKey& key) const { return KeyHash{}(key.view()); }
};
struct SmallKeyEq {
  using is_transparent = void;
  static std::string_view v(std::string_view s) { return s; }
  static std::string_view v(const SmallKey& k) { return k.view(); }
  template <class A, class B>
  bool operator()(const A& a, const B& b) const { return v(a) == v(b); }
};

}  // namespace syn::detail
