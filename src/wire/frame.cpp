#include "wire/frame.hpp"

#include <syn/version.hpp>

#include <cstring>
#include <limits>

namespace syn::wire {
namespace {

std::uint64_t read_be(const unsigned char* p, int bytes) {
  std::uint64_t value = 0;
  for (int i = 0; i < bytes; ++i) value = (value << 8) | p[i];
  return value;
}

// Walks one value; returns its end offset or 0 on error. `pos` is the value's first byte.
// Containers are walked iteratively through a small explicit stack of remaining counts.
std::optional<std::size_t> walk(const unsigned char* data, std::size_t size, std::size_t max_depth) {
  std::size_t pos = 0;
  // Each pending container: number of values still to read.
  std::uint64_t stack[max_message_depth + 2];
  std::size_t depth = 0;
  std::uint64_t remaining_values = 1;  // at the top: one value
  // Each decoded value costs msgpack-cxx tens of bytes: bound their number, not only the bytes.
  std::uint64_t values = 0;
  for (;;) {
    while (remaining_values == 0) {
      if (depth == 0) return pos;
      remaining_values = stack[--depth];
    }
    --remaining_values;
    if (pos >= size || ++values > max_message_values) return std::nullopt;
    unsigned char b = data[pos++];
    std::uint64_t payload = 0;   // bytes of raw payload to skip
    std::uint64_t children = 0;  // values inside a container
    bool container = false;
    auto need = [&](std::size_t n) { return size - pos >= n; };
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // fixint, nil, bool
    } else if ((b & 0xe0) == 0xa0) {
      payload = b & 0x1f;
    } else if ((b & 0xf0) == 0x90) {
      children = b & 0x0f;
      container = true;
    } else if ((b & 0xf0) == 0x80) {
      children = 2ULL * (b & 0x0f);
      container = true;
    } else {
      int len_bytes = 0;
      switch (b) {
        case 0xcc:
        case 0xd0: payload = 1; break;
        case 0xcd:
        case 0xd1: payload = 2; break;
        case 0xce:
        case 0xd2:
        case 0xca: payload = 4; break;
        case 0xcf:
        case 0xd3:
        case 0xcb: payload = 8; break;
        case 0xd4: payload = 2; break;  // fixext 1 (type + data)
        case 0xd5: payload = 3; break;
        case 0xd6: payload = 5; break;
        case 0xd7: payload = 9; break;
        case 0xd8: payload = 17; break;
        case 0xc4:
        case 0xd9: len_bytes = 1; break;
        case 0xc5:
        case 0xda: len_bytes = 2; break;
        case 0xc6:
        case 0xdb: len_bytes = 4; break;
        case 0xc7:
          len_bytes = 1;
          payload = 1;
          break;  // ext: + type byte
        case 0xc8:
          len_bytes = 2;
          payload = 1;
          break;
        case 0xc9:
          len_bytes = 4;
          payload = 1;
          break;
        case 0xdc:
          len_bytes = 2;
          container = true;
          break;
        case 0xdd:
          len_bytes = 4;
          container = true;
          break;
        case 0xde:
          len_bytes = 2;
          container = true;
          break;
        case 0xdf:
          len_bytes = 4;
          container = true;
          break;
        default: return std::nullopt;  // 0xc1: never used
      }
      if (len_bytes) {
        if (!need(len_bytes)) return std::nullopt;
        std::uint64_t n = read_be(data + pos, len_bytes);
        pos += len_bytes;
        if (container) {
          children = (b == 0xde || b == 0xdf) ? 2 * n : n;
        } else {
          payload += n;
        }
      }
    }
    if (payload) {
      if (!need(payload)) return std::nullopt;
      pos += payload;
    }
    if (container && children) {
      // Every value takes at least one byte: a count beyond the rest of the frame is a lie.
      if (children > size - pos) return std::nullopt;
      if (depth + 1 > max_depth) return std::nullopt;
      stack[depth++] = remaining_values;
      remaining_values = children;
    }
  }
}

const msgpack::unpack_limit& limits() {
  // Sizes are already bounded by the structural walk; depth is the one that matters here.
  static const msgpack::unpack_limit limit(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
                                           max_message_depth + 1);
  return limit;
}

}  // namespace

std::optional<std::size_t> checked_value_length(const char* data, std::size_t size, std::size_t max_depth) {
  if (max_depth > max_message_depth) max_depth = max_message_depth;
  return walk(reinterpret_cast<const unsigned char*>(data), size, max_depth);
}

FrameReader::FrameReader(const char* data, std::size_t size) : data_(data), size_(size), zone_(4096) {}

msgpack::object FrameReader::read_value() {
  auto length = checked_value_length(data_ + offset_, size_ - offset_);
  if (!length) throw DecodeError("malformed msgpack value at offset " + std::to_string(offset_));
  std::size_t off = 0;
  try {
    msgpack::object obj = msgpack::unpack(zone_, data_ + offset_, *length, off, nullptr, nullptr, limits());
    if (off != *length) throw DecodeError("msgpack value length mismatch");
    last_ = std::string_view(data_ + offset_, *length);
    offset_ += *length;
    return obj;
  } catch (const DecodeError&) { throw; } catch (const std::exception& e) {
    throw DecodeError(std::string("msgpack: ") + e.what());
  }
}

std::uint64_t FrameReader::read_version() {
  if (offset_ >= size_) throw DecodeError("empty frame");
  msgpack::object v = read_value();
  if (v.type != msgpack::type::POSITIVE_INTEGER) throw DecodeError("frame does not start with a version");
  return v.via.u64;
}

void FrameReader::check_rest() const {
  std::size_t offset = offset_;
  while (offset < size_) {
    auto length = checked_value_length(data_ + offset, size_ - offset);
    if (!length) throw DecodeError("malformed msgpack value at offset " + std::to_string(offset));
    offset += *length;
  }
}

std::optional<msgpack::object> FrameReader::next() {
  if (offset_ >= size_) return std::nullopt;
  msgpack::object obj = read_value();
  if (obj.type != msgpack::type::ARRAY || obj.via.array.size == 0 ||
      obj.via.array.ptr[0].type != msgpack::type::POSITIVE_INTEGER) {
    throw DecodeError("message is not an array starting with its type");
  }
  // Types are u32 (MsgType): a wider one would alias a real type once cast (2^32 + 1 reads
  // as hello).
  if (obj.via.array.ptr[0].via.u64 > std::numeric_limits<std::uint32_t>::max()) {
    throw DecodeError("message type out of range");
  }
  return obj;
}

FrameWriter::Packer& FrameWriter::packer() {
  if (buffer_.empty()) packer_.pack_uint32(version_);
  return packer_;
}

void FrameWriter::append_messages(std::string_view encoded) {
  packer();  // the version first
  buffer_.append(encoded);
}

}  // namespace syn::wire
