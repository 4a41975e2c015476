#pragma once
// A frame is one ZeroMQ message between two nodes: the protocol version, then any number of
// protocol messages, each a msgpack array [type, fields...]. Many messages bound for one peer
// are batched into one frame per engine turn.
//
// FrameReader is the only code that reads bytes from the network. Before msgpack-cxx builds
// an object, a structural check walks the bytes: every length and element count must fit in
// what remains of the frame, and nesting is bounded, so a hostile frame cannot make us
// allocate more than a small multiple of its own size or recurse without bound.
#include "wire/buffer.hpp"

#include <syn/version.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>

namespace syn::wire {

/// Thrown by decoders for malformed input; caught where frames are read, counted and logged.
struct DecodeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// A message that breaks the stream it belongs to (a multicast gap, a stranger's data): the
/// rest of the frame is dropped and counted as malformed, and the link it came on is reset,
/// a node down for what the link carried; both sides start again from a snapshot (SPEC 8.5.2).
struct StreamBroken : DecodeError {
  using DecodeError::DecodeError;
};

/// Deepest nesting accepted in a protocol message (envelope plus term).
inline constexpr std::size_t max_message_depth = 64;
/// Most values (scalars and containers) accepted in one protocol message: a decoded value
/// costs tens of bytes, so this bounds the memory a hostile message can make us use.
inline constexpr std::size_t max_message_values = std::size_t{1} << 21;

/// Length in bytes of the msgpack value at `data`, after checking its structure; nullopt
/// when malformed or truncated.
std::optional<std::size_t> checked_value_length(const char* data, std::size_t size,
                                                std::size_t max_depth = max_message_depth);

/// Reads a frame: its version, then its messages one by one.
class FrameReader {
 public:
  FrameReader(const char* data, std::size_t size);
  /// The protocol version at the head of the frame; throws DecodeError when missing.
  std::uint64_t read_version();
  /// Checks the structure of everything after the version, without decoding it: a frame
  /// that is not well-formed to its end is dropped whole, before any of it is applied.
  /// Throws DecodeError.
  void check_rest() const;
  /// The next message (an array with a u32 type first), or nullopt at the end of the frame.
  /// Throws DecodeError on malformed bytes. Objects live as long as this reader.
  std::optional<msgpack::object> next();
  /// Bytes of the message returned by the last next() (for raw forwarding).
  std::string_view last_bytes() const { return last_; }

 private:
  msgpack::object read_value();
  const char* data_;
  std::size_t size_;
  std::size_t offset_ = 0;
  std::string_view last_;
  msgpack::zone zone_;
};

/// Writes frames; used by the transport's per-peer batching.
class FrameWriter {
 public:
  using Packer = msgpack::packer<OutBuffer>;
  /// Frames of protocol `version` (the version every frame starts with).
  explicit FrameWriter(std::uint32_t version = protocol_version) : version_(version), packer_(buffer_) {}
  /// The version of the frames written from the next one on (a link settles its version).
  void set_version(std::uint32_t version) { version_ = version; }
  std::uint32_t version() const { return version_; }
  /// Starts a frame if empty (writes the version).
  Packer& packer();
  OutBuffer& buffer() { return buffer_; }
  bool empty() const { return buffer_.empty(); }
  std::size_t size() const { return buffer_.size(); }
  /// Takes the frame bytes, leaving the writer empty.
  std::string take() { return buffer_.release(); }
  /// Appends already encoded messages (encoded by encode_* into another buffer).
  void append_messages(std::string_view encoded);

 private:
  std::uint32_t version_;
  OutBuffer buffer_;
  Packer packer_;
};

}  // namespace syn::wire
