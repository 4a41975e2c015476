#include "wire/term_codec.hpp"

#include <syn/errors.hpp>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <utility>
#include <vector>

namespace syn::wire {
namespace {

void put_be(std::string& out, std::uint64_t value, int bytes) {
  for (int shift = (bytes - 1) * 8; shift >= 0; shift -= 8) {
    out.push_back(static_cast<char>((value >> shift) & 0xff));
  }
}

void put_integer(std::string& out, IntEncoding e) {
  out.push_back(static_cast<char>(e.type));
  put_be(out, e.payload, static_cast<int>(e.width));
}

void put_uint(std::string& out, std::uint64_t v) { put_integer(out, uint_encoding(v)); }

void put_int(std::string& out, std::int64_t v) { put_integer(out, int_encoding(v)); }

void put_float(std::string& out, double d) {
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  out.push_back(static_cast<char>(0xcb));
  put_be(out, bits, 8);
}

void put_str_header(std::string& out, std::size_t n) {
  auto header = str_header(n);
  for (std::size_t i = 0; i < header.size; ++i) out.push_back(static_cast<char>(header.bytes >> (8 * i)));
}

void put_str(std::string& out, std::string_view s) {
  put_str_header(out, s.size());
  out.append(s);
}

void put_bin(std::string& out, const void* data, std::size_t n) {
  if (n <= 0xff) {
    out.push_back(static_cast<char>(0xc4));
    put_be(out, n, 1);
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0xc5));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xc6));
    put_be(out, n, 4);
  }
  out.append(static_cast<const char*>(data), n);
}

void put_array_header(std::string& out, std::size_t n) {
  if (n < 16) {
    out.push_back(static_cast<char>(0x90 | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0xdc));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdd));
    put_be(out, n, 4);
  }
}

void put_map_header(std::string& out, std::size_t n) {
  if (n < 16) {
    out.push_back(static_cast<char>(0x80 | n));
  } else if (n <= 0xffff) {
    out.push_back(static_cast<char>(0xde));
    put_be(out, n, 2);
  } else {
    out.push_back(static_cast<char>(0xdf));
    put_be(out, n, 4);
  }
}

bool canonical_object(std::string& out, const msgpack::object& o, std::size_t depth) {
  if (depth > max_term_depth) return false;
  switch (o.type) {
    case msgpack::type::NIL: out.push_back(static_cast<char>(0xc0)); return true;
    case msgpack::type::BOOLEAN: out.push_back(static_cast<char>(o.via.boolean ? 0xc3 : 0xc2)); return true;
    case msgpack::type::POSITIVE_INTEGER: put_uint(out, o.via.u64); return true;
    case msgpack::type::NEGATIVE_INTEGER: put_int(out, o.via.i64); return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: put_float(out, o.via.f64); return true;
    case msgpack::type::STR: put_str(out, std::string_view(o.via.str.ptr, o.via.str.size)); return true;
    case msgpack::type::BIN: put_bin(out, o.via.bin.ptr, o.via.bin.size); return true;
    case msgpack::type::ARRAY: {
      put_array_header(out, o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (!canonical_object(out, o.via.array.ptr[i], depth + 1)) return false;
      }
      return true;
    }
    case msgpack::type::MAP: {
      // Keys must be strings; the canonical order is byte order, duplicates are invalid.
      std::vector<const msgpack::object_kv*> pairs;
      pairs.reserve(o.via.map.size);
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        if (o.via.map.ptr[i].key.type != msgpack::type::STR) return false;
        pairs.push_back(&o.via.map.ptr[i]);
      }
      auto key = [](const msgpack::object_kv* kv) {
        return std::string_view(kv->key.via.str.ptr, kv->key.via.str.size);
      };
      std::sort(pairs.begin(), pairs.end(), [&](auto* a, auto* b) { return key(a) < key(b); });
      for (std::size_t i = 1; i < pairs.size(); ++i) {
        if (key(pairs[i - 1]) == key(pairs[i])) return false;
      }
      put_map_header(out, pairs.size());
      for (auto* kv : pairs) {
        put_str(out, key(kv));
        if (!canonical_object(out, kv->val, depth + 1)) return false;
      }
      return true;
    }
    case msgpack::type::EXT:
    default: return false;
  }
}

bool object_to_term(const msgpack::object& o, Term& out, std::size_t depth) {
  if (depth > max_term_depth) return false;
  switch (o.type) {
    case msgpack::type::NIL: out = nullptr; return true;
    case msgpack::type::BOOLEAN: out = o.via.boolean; return true;
    case msgpack::type::POSITIVE_INTEGER: out = o.via.u64; return true;
    case msgpack::type::NEGATIVE_INTEGER: out = o.via.i64; return true;
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64: out = o.via.f64; return true;
    case msgpack::type::STR: out = std::string(o.via.str.ptr, o.via.str.size); return true;
    case msgpack::type::BIN: {
      auto* p = reinterpret_cast<const std::uint8_t*>(o.via.bin.ptr);
      out = Term::binary(std::vector<std::uint8_t>(p, p + o.via.bin.size));
      return true;
    }
    case msgpack::type::ARRAY: {
      out = Term::array();
      auto& array = out.get_ref<Term::array_t&>();
      array.resize(o.via.array.size);
      for (std::uint32_t i = 0; i < o.via.array.size; ++i) {
        if (!object_to_term(o.via.array.ptr[i], array[i], depth + 1)) return false;
      }
      return true;
    }
    case msgpack::type::MAP: {
      out = Term::object();
      auto& object = out.get_ref<Term::object_t&>();
      for (std::uint32_t i = 0; i < o.via.map.size; ++i) {
        const auto& kv = o.via.map.ptr[i];
        if (kv.key.type != msgpack::type::STR) return false;
        auto [it, inserted] = object.try_emplace(std::string(kv.key.via.str.ptr, kv.key.via.str.size));
        if (!inserted || !object_to_term(kv.val, it->second, depth + 1)) return false;
      }
      return true;
    }
    case msgpack::type::EXT:
    default: return false;
  }
}

}  // namespace

namespace {

void append_term(std::string& out, const Term& term, std::size_t depth);

}  // namespace

void append_canonical(std::string& out, const Term& term) { append_term(out, term, 0); }

namespace {

void append_term(std::string& out, const Term& term, std::size_t depth) {
  using V = Term::value_t;
  if (depth > max_term_depth) {
    throw Error(Errc::bad_argument,
                "a term nested deeper than " + std::to_string(max_term_depth) + " levels cannot travel between nodes");
  }
  switch (term.type()) {
    case V::null:
    case V::discarded: out.push_back(static_cast<char>(0xc0)); return;
    case V::boolean: out.push_back(static_cast<char>(term.get<bool>() ? 0xc3 : 0xc2)); return;
    case V::number_unsigned: put_uint(out, term.get<std::uint64_t>()); return;
    case V::number_integer: put_int(out, term.get<std::int64_t>()); return;
    case V::number_float: put_float(out, term.get<double>()); return;
    case V::string: put_str(out, term.get_ref<const std::string&>()); return;
    case V::binary: {
      const auto& bin = term.get_binary();
      put_bin(out, bin.data(), bin.size());
      return;
    }
    case V::array:
      put_array_header(out, term.size());
      for (const auto& item : term) append_term(out, item, depth + 1);
      return;
    case V::object:
      // std::map keeps keys in byte order already: the canonical order.
      put_map_header(out, term.size());
      for (const auto& [key, value] : term.items()) {
        put_str(out, key);
        append_term(out, value, depth + 1);
      }
      return;
  }
}

}  // namespace

std::string canonical(const Term& term) {
  std::string out;
  append_canonical(out, term);
  return out;
}

Term decode_canonical(std::string_view bytes) {
  // msgpack-cxx's parser, then object_to_term: nlohmann's from_msgpack reads a string one
  // character at a time through its input adapter (a 1 kB term took microseconds, a fifth of
  // the CPU of a node receiving a multicast stream of them). What object_to_term does not take
  // (an ext type), or input that is not one whole term, goes through nlohmann as before.
  // One chunk holds the copies of the strings and the object tree of most terms (the default
  // chunk is 8 kB: a malloc of its own for a small integer).
  msgpack::zone zone(256 + 2 * bytes.size());
  std::size_t offset = 0;
  try {
    msgpack::object object = msgpack::unpack(zone, bytes.data(), bytes.size(), offset);
    Term out;
    if (offset == bytes.size() && object_to_term(object, out, 0)) return out;
  } catch (const msgpack::unpack_error&) {
    // every parse error of msgpack-cxx: nlohmann's error below
  }
  return Term::from_msgpack(bytes.begin(), bytes.end(), true, true);
}

bool append_canonical(std::string& out, const msgpack::object& object) { return canonical_object(out, object, 0); }

bool to_term(const msgpack::object& object, Term& out) { return object_to_term(object, out, 0); }

namespace {

/// Adds the encoded size of `term` to `total`; false once it passes `limit`.
bool add_encoded_size(const Term& term, std::size_t limit, std::size_t& total, std::size_t depth) {
  auto add = [&](std::size_t n) {
    total += n;
    return total <= limit;
  };
  auto container_header = [](std::size_t n) -> std::size_t { return n < 16 ? 1 : n <= 0xffff ? 3 : 5; };
  if (depth > max_term_depth) return false;
  switch (term.type()) {
    case Term::value_t::null:
    case Term::value_t::boolean:
    case Term::value_t::discarded: return add(1);
    case Term::value_t::number_integer: return add(1 + int_encoding(term.get<std::int64_t>()).width);
    case Term::value_t::number_unsigned: return add(1 + uint_encoding(term.get<std::uint64_t>()).width);
    case Term::value_t::number_float: return add(9);
    case Term::value_t::string: {
      auto n = term.get_ref<const std::string&>().size();
      return add(str_header(n).size + n);
    }
    case Term::value_t::binary: {
      auto n = term.get_binary().size();
      return add((n <= 0xff ? 2 : n <= 0xffff ? 3 : 5) + n);
    }
    case Term::value_t::array:
      if (!add(container_header(term.size()))) return false;
      for (const auto& item : term) {
        if (!add_encoded_size(item, limit, total, depth + 1)) return false;
      }
      return true;
    case Term::value_t::object:
      if (!add(container_header(term.size()))) return false;
      for (const auto& [key, value] : term.items()) {
        if (!add(str_header(key.size()).size + key.size())) return false;
        if (!add_encoded_size(value, limit, total, depth + 1)) return false;
      }
      return true;
  }
  return false;
}

}  // namespace

bool fits_within(const Term& term, std::size_t limit) {
  std::size_t total = 0;
  return add_encoded_size(term, limit, total, 0);  // depth counted as append_canonical counts it
}

}  // namespace syn::wire
