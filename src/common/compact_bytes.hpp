#pragma once
// A byte string in one pointer: null for the empty string (the common nil meta), otherwise a
// heap block holding its length and bytes. Keeps table entries small (PERFORMANCE.md: memory
// per entry).
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>

namespace syn::detail {

class CompactBytes {
 public:
  CompactBytes() = default;
  explicit CompactBytes(std::string_view bytes) { assign(bytes); }
  CompactBytes(const CompactBytes& other) { assign(other.view()); }
  CompactBytes& operator=(const CompactBytes& other) {
    if (this != &other) assign(other.view());
    return *this;
  }
  CompactBytes(CompactBytes&&) noexcept = default;
  CompactBytes& operator=(CompactBytes&&) noexcept = default;

  void assign(std::string_view bytes) {
    if (bytes.empty()) {
      block_.reset();
      return;
    }
    block_.reset(new char[sizeof(std::uint32_t) + bytes.size()]);
    auto size = static_cast<std::uint32_t>(bytes.size());
    std::memcpy(block_.get(), &size, sizeof size);
    std::memcpy(block_.get() + sizeof size, bytes.data(), bytes.size());
  }

  std::string_view view() const {
    if (!block_) return {};
    std::uint32_t size;
    std::memcpy(&size, block_.get(), sizeof size);
    return {block_.get() + sizeof size, size};
  }
  bool empty() const { return !block_; }
  std::size_t heap_bytes() const { return block_ ? sizeof(std::uint32_t) + view().size() : 0; }

 private:
  std::unique_ptr<char[]> block_;
};

}  // namespace syn::detail
