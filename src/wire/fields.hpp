#pragma once
// Typed, checked access to the fields of a decoded message (a msgpack array). Every accessor
// throws DecodeError naming the message and field when the type or range is wrong.
#include "wire/frame.hpp"
#include "wire/term_codec.hpp"

#include <syn/term.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

namespace syn::wire {

class Fields {
 public:
  /// `object` must be an array of at least `min_size` elements.
  Fields(const msgpack::object& object, const char* what, std::size_t min_size = 0) : what_(what) {
    if (object.type != msgpack::type::ARRAY) fail(0, "is not an array");
    array_ = &object.via.array;
    if (array_->size < min_size) fail(array_->size, "has too few fields");
  }

  std::size_t size() const { return array_->size; }
  const msgpack::object& raw(std::size_t i) const {
    if (i >= array_->size) fail(i, "is missing");
    return array_->ptr[i];
  }

  std::uint64_t u64(std::size_t i) const {
    const auto& o = raw(i);
    if (o.type != msgpack::type::POSITIVE_INTEGER) fail(i, "is not an unsigned integer");
    return o.via.u64;
  }
  std::uint32_t u32(std::size_t i) const {
    auto v = u64(i);
    if (v > std::numeric_limits<std::uint32_t>::max()) fail(i, "is out of range");
    return static_cast<std::uint32_t>(v);
  }
  std::int64_t i64(std::size_t i) const {
    const auto& o = raw(i);
    if (o.type == msgpack::type::POSITIVE_INTEGER) {
      if (o.via.u64 > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) fail(i, "is out of range");
      return static_cast<std::int64_t>(o.via.u64);
    }
    if (o.type == msgpack::type::NEGATIVE_INTEGER) return o.via.i64;
    fail(i, "is not an integer");
  }
  bool boolean(std::size_t i) const {
    const auto& o = raw(i);
    if (o.type != msgpack::type::BOOLEAN) fail(i, "is not a boolean");
    return o.via.boolean;
  }
  std::string_view str(std::size_t i) const {
    const auto& o = raw(i);
    if (o.type != msgpack::type::STR) fail(i, "is not a string");
    return {o.via.str.ptr, o.via.str.size};
  }
  std::string string(std::size_t i) const { return std::string(str(i)); }
  /// A Term field converted to json.
  Term term(std::size_t i) const {
    Term out;
    if (!to_term(raw(i), out)) fail(i, "is not a valid term");
    return out;
  }
  /// A Term field in canonical bytes (the key form).
  std::string canonical(std::size_t i) const {
    std::string out;
    if (!append_canonical(out, raw(i))) fail(i, "is not a valid term");
    return out;
  }
  /// A nested array field.
  Fields array(std::size_t i, const char* what) const { return Fields(raw(i), what); }

  [[noreturn]] void fail(std::size_t i, const char* problem) const {
    throw DecodeError(std::string(what_) + " field " + std::to_string(i) + " " + problem);
  }

 private:
  const char* what_;
  const msgpack::object_array* array_ = nullptr;
};

}  // namespace syn::wire
