#pragma once
// What the fuzz bodies share (tests/fuzz/*_fuzz_body.hpp): the failure they raise when a
// promise of the wire layer does not hold, and the reading of a peer's value the way the
// transport reads it (a frame through FrameReader, then the decoder of its envelope).
//
// A body is plain C++ with no libFuzzer in it: the libFuzzer targets (Clang) call it with
// libFuzzer's inputs, and the unit suite (tests/unit/fuzz_replay_test.cpp and
// wire_messages_test.cpp, any compiler) calls it with inputs from a seeded PRNG.
#include "wire/frame.hpp"
#include "wire/messages.hpp"

#include <syn/version.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace syn::fuzz {

/// A property the wire layer promises did not hold.
struct InvariantViolation : std::logic_error {
  using std::logic_error::logic_error;
};

inline void require(bool ok, const char* what) {
  if (!ok) throw InvariantViolation(what);
}

namespace detail {

/// Runs `f`; false when it threw DecodeError (the one failure a decoder may report).
template <class F>
bool decodes(F&& f) {
  try {
    f();
    return true;
  } catch (const wire::DecodeError&) { return false; }
}

/// The head of a frame holding one scope message whose payload follows: the version, then
/// [scope, kind 0, scope "", payload].
inline const std::string& scope_message_head() {
  static const std::string head = [] {
    wire::OutBuffer message;
    wire::begin_scope_message(message, wire::ScopeAddress{0, ""});
    wire::FrameWriter frame;
    frame.append_messages(message.view());
    return frame.take();
  }();
  return head;
}

/// A value sent by a peer as the payload of a scope message (where registry and groups
/// payloads travel: changes, calls, replies and snapshot chunks all come out of a message's
/// last field the same way), read through FrameReader and decode_scope_message as the
/// transport and the scope directory read it. The object lives as long as this reader.
class PeerValue {
 public:
  PeerValue(const std::uint8_t* data, std::size_t size)
      : frame_(make(data, size)), reader_(frame_.data(), frame_.size()) {}
  /// The payload, or nullopt when the frame is rejected (DecodeError: malformed bytes).
  const msgpack::object* read() {
    try {
      reader_.read_version();
      reader_.check_rest();
      auto message = reader_.next();
      if (!message) return nullptr;
      payload_ = wire::decode_scope_message(*message).payload;
      return payload_;
    } catch (const wire::DecodeError&) { return nullptr; }
  }

 private:
  static std::string make(const std::uint8_t* data, std::size_t size) {
    std::string frame = scope_message_head();
    frame.append(reinterpret_cast<const char*>(data), size);
    return frame;
  }
  std::string frame_;
  wire::FrameReader reader_;
  const msgpack::object* payload_ = nullptr;
};

/// Reads back a payload made by an encoder (trusted bytes) the way PeerValue reads a peer's:
/// the whole of `encoded` must be exactly one value, and it must read back.
class RereadPayload {
 public:
  explicit RereadPayload(std::string_view encoded)
      : value_(reinterpret_cast<const std::uint8_t*>(encoded.data()), encoded.size()) {
    require(wire::checked_value_length(encoded.data(), encoded.size()) == encoded.size(),
            "an encoder wrote something other than one value");
    payload_ = value_.read();
    require(payload_ != nullptr, "an encoder's output does not read back");
  }
  const msgpack::object& operator*() const { return *payload_; }

 private:
  PeerValue value_;
  const msgpack::object* payload_ = nullptr;
};

/// The bytes of `o` packed again (not canonical: the same value packs the same way).
inline std::string packed(const msgpack::object& o) {
  wire::OutBuffer out;
  wire::Packer p(out);
  p.pack(o);
  return out.release();
}

}  // namespace detail
}  // namespace syn::fuzz
