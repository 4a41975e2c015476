#pragma once
// A byte string in one pointer: null for the empty string (the common nil meta), otherwise a
// heap block holding its length and bytes. Keeps table entries small (PERFORMANCE.md: memory
// per entry). A block is never changed once written: assigning allocates a new one, so a
// lock-free reader that holds the old block still reads consistent bytes.
#include "tables/reclaim.hpp"

#include <cstdint>
#include <cstring>
#include <string_view>
#include <utility>

namespace syn::detail {

/// Frees a block at once.
struct FreeNow {
  void operator()(char* block) const { delete[] block; }
};
/// Frees a block once no lock-free reader can hold it (reclaim::retire).
struct FreeWhenUnread {
  void operator()(char* block) const { reclaim::retire_chars(block); }
};

template <class Free>
class BasicCompactBytes {
 public:
  BasicCompactBytes() = default;
  explicit BasicCompactBytes(std::string_view bytes) { assign(bytes); }
  BasicCompactBytes(const BasicCompactBytes& other) { assign(other.view()); }
  BasicCompactBytes& operator=(const BasicCompactBytes& other) {
    if (this != &other) assign(other.view());
    return *this;
  }
  BasicCompactBytes(BasicCompactBytes&& other) noexcept : block_(std::exchange(other.block_, nullptr)) {}
  BasicCompactBytes& operator=(BasicCompactBytes&& other) noexcept {
    if (this != &other) reset(std::exchange(other.block_, nullptr));
    return *this;
  }
  ~BasicCompactBytes() { reset(nullptr); }

  void assign(std::string_view bytes) {
    if (bytes.empty()) {
      reset(nullptr);
      return;
    }
    char* block = new char[sizeof(std::uint32_t) + bytes.size()];
    auto size = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(block, &size, sizeof size);
    std::memcpy(block + sizeof size, bytes.data(), bytes.size());
    reset(block);
  }

  std::string_view view() const { return view_of(block_); }
  bool empty() const { return !block_; }
  std::size_t heap_bytes() const { return block_ ? sizeof(std::uint32_t) + view().size() : 0; }

  /// The block pointer as a lock-free reader loads it (relaxed; validated by the reader).
  const char* load_racy() const { return __atomic_load_n(&block_, __ATOMIC_RELAXED); }
  /// The bytes of a block (null: empty).
  static std::string_view view_of(const char* block) {
    if (!block) return {};
    std::uint32_t size;
    std::memcpy(&size, block, sizeof size);
    return {block + sizeof size, size};
  }

 private:
  void reset(char* block) {
    if (block_) Free{}(block_);
    block_ = block;
  }

  char* block_ = nullptr;
};

/// Bytes owned by one thread's structures.
using CompactBytes = BasicCompactBytes<FreeNow>;
/// Bytes that lock-free readers may be reading (registry entries).
using SharedCompactBytes = BasicCompactBytes<FreeWhenUnread>;

}  // namespace syn::detail
