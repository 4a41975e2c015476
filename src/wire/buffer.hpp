#pragma once
// The byte buffer every encoder writes into; msgpack::packer<OutBuffer> appends to it.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>

namespace syn::wire {

class OutBuffer {
 public:
  /// Called by msgpack::packer.
  void write(const char* data, std::size_t size) { bytes_.append(data, size); }
  void append(std::string_view bytes) { bytes_.append(bytes); }
  void put(char byte) { bytes_.push_back(byte); }

  std::size_t size() const { return bytes_.size(); }
  bool empty() const { return bytes_.empty(); }
  const char* data() const { return bytes_.data(); }
  std::string_view view() const { return bytes_; }
  std::string& bytes() { return bytes_; }
  void clear() { bytes_.clear(); }
  std::string release() { return std::exchange(bytes_, std::string{}); }

 private:
  std::string bytes_;
};

}  // namespace syn::wire
