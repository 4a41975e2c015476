// Canonical msgpack encoding of Terms (src/wire/term_codec): exact bytes at every format
// boundary, one encoding per value, and the rules applied to untrusted msgpack objects.
#include "wire/term_codec.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <limits>
#include <random>
#include <string>
#include <vector>

using syn::Term;
namespace wire = syn::wire;

namespace {

std::string bytes(std::initializer_list<int> list) {
  std::string out;
  for (int b : list) out.push_back(static_cast<char>(b));
  return out;
}

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s.substr(0, 64)) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
    out.push_back(' ');
  }
  if (s.size() > 64) out += "... (" + std::to_string(s.size()) + " bytes)";
  return out;
}

/// Deep equality that, unlike nlohmann's operator==, tells 1 from 1.0 (it compares the
/// canonical bytes, which keep the integer/float distinction).
bool same_term(const Term& a, const Term& b) { return a == b && wire::canonical(a) == wire::canonical(b); }

/// Unpacks hand-built msgpack bytes (which must be exactly one value).
msgpack::object_handle unpack(const std::string& data) {
  std::size_t offset = 0;
  auto handle = msgpack::unpack(data.data(), data.size(), offset);
  REQUIRE(offset == data.size());
  return handle;
}

/// Canonical bytes of an untrusted object, or "<rejected>".
std::string canon_object(const std::string& data) {
  auto handle = unpack(data);
  std::string out;
  if (!wire::append_canonical(out, handle.get())) return "<rejected>";
  return out;
}

bool to_term_ok(const std::string& data, Term* out = nullptr) {
  auto handle = unpack(data);
  Term t;
  bool ok = wire::to_term(handle.get(), t);
  if (out) *out = t;
  return ok;
}

/// Every way a Term's canonical bytes must come back: decode_canonical, and the untrusted
/// path (msgpack-cxx object -> to_term / append_canonical) giving the same value and bytes.
void check_round_trip(const Term& term, const std::string& expected_bytes) {
  std::string encoded = wire::canonical(term);
  INFO("term " << (encoded.size() > 200 ? std::string("<large>")
                                        : term.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  INFO("encoded  " << hex(encoded));
  INFO("expected " << hex(expected_bytes));
  REQUIRE(encoded == expected_bytes);
  // append_canonical appends (does not overwrite).
  std::string appended = "xy";
  wire::append_canonical(appended, term);
  CHECK(appended == "xy" + expected_bytes);

  CHECK(same_term(wire::decode_canonical(encoded), term));

  auto handle = unpack(encoded);
  Term via_object;
  REQUIRE(wire::to_term(handle.get(), via_object));
  CHECK(same_term(via_object, term));
  std::string recanonical;
  REQUIRE(wire::append_canonical(recanonical, handle.get()));
  CHECK(recanonical == encoded);
}

std::string be(std::uint64_t v, int n) {
  std::string out;
  for (int shift = (n - 1) * 8; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  return out;
}

Term nested_arrays(std::size_t depth, Term leaf) {
  Term t = std::move(leaf);
  for (std::size_t i = 0; i < depth; ++i) t = Term::array({std::move(t)});
  return t;
}

std::string nested_array_bytes(std::size_t depth, const std::string& leaf) {
  return std::string(depth, static_cast<char>(0x91)) + leaf;
}

std::string nested_map_bytes(std::size_t depth, const std::string& leaf) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += bytes({0x81, 0xa1, 'k'});
  return out + leaf;
}

}  // namespace

TEST_CASE("canonical: nil and booleans", "[unit][wire][term_codec]") {
  check_round_trip(Term(nullptr), bytes({0xc0}));
  check_round_trip(Term(false), bytes({0xc2}));
  check_round_trip(Term(true), bytes({0xc3}));
  CHECK(wire::is_nil(wire::canonical(Term())));
  CHECK_FALSE(wire::is_nil(wire::canonical(Term(false))));
  CHECK_FALSE(wire::is_nil(bytes({0xc0, 0xc0})));
}

TEST_CASE("canonical: non-negative integers in their shortest uint format", "[unit][wire][term_codec]") {
  struct Case {
    std::uint64_t value;
    std::string bytes;
  };
  const std::uint64_t max = std::numeric_limits<std::uint64_t>::max();
  std::vector<Case> cases = {
      {0, bytes({0x00})},
      {1, bytes({0x01})},
      {127, bytes({0x7f})},
      {128, bytes({0xcc, 0x80})},
      {255, bytes({0xcc, 0xff})},
      {256, bytes({0xcd, 0x01, 0x00})},
      {65535, bytes({0xcd, 0xff, 0xff})},
      {65536, bytes({0xce, 0x00, 0x01, 0x00, 0x00})},
      {4294967295ULL, bytes({0xce, 0xff, 0xff, 0xff, 0xff})},
      {4294967296ULL, bytes({0xcf, 0, 0, 0, 1, 0, 0, 0, 0})},
      {static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()),
       bytes({0xcf, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
      {max, bytes({0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})},
  };
  for (const auto& c : cases) {
    INFO("value " << c.value);
    check_round_trip(Term(c.value), c.bytes);
    // The same value held as a signed json number gives the same bytes.
    if (c.value <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      Term as_signed(static_cast<std::int64_t>(c.value));
      REQUIRE(as_signed.type() == Term::value_t::number_integer);
      CHECK(wire::canonical(as_signed) == c.bytes);
    }
  }
}

TEST_CASE("canonical: negative integers in their shortest int format", "[unit][wire][term_codec]") {
  struct Case {
    std::int64_t value;
    std::string bytes;
  };
  const std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::vector<Case> cases = {
      {-1, bytes({0xff})},
      {-32, bytes({0xe0})},
      {-33, bytes({0xd0, 0xdf})},
      {-128, bytes({0xd0, 0x80})},
      {-129, bytes({0xd1, 0xff, 0x7f})},
      {-32768, bytes({0xd1, 0x80, 0x00})},
      {-32769, bytes({0xd2, 0xff, 0xff, 0x7f, 0xff})},
      {std::numeric_limits<std::int32_t>::min(), bytes({0xd2, 0x80, 0x00, 0x00, 0x00})},
      {static_cast<std::int64_t>(std::numeric_limits<std::int32_t>::min()) - 1,
       bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff})},
      {min, bytes({0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0})},
  };
  for (const auto& c : cases) {
    INFO("value " << c.value);
    check_round_trip(Term(c.value), c.bytes);
  }
}

TEST_CASE("canonical: signed and unsigned json numbers of one value give one encoding", "[unit][wire][term_codec]") {
  Term u = Term(std::uint64_t{5});
  Term s = Term(std::int64_t{5});
  REQUIRE(u.type() == Term::value_t::number_unsigned);
  REQUIRE(s.type() == Term::value_t::number_integer);
  CHECK(wire::canonical(u) == wire::canonical(s));
  CHECK(wire::canonical(u) == bytes({0x05}));
  // Inside containers too.
  Term a = {{"k", Term::array({u, Term(std::uint64_t{300})})}};
  Term b = {{"k", Term::array({s, Term(std::int64_t{300})})}};
  CHECK(wire::canonical(a) == wire::canonical(b));
  // 0 as signed is the positive fixint, never an int format.
  CHECK(wire::canonical(Term(std::int64_t{0})) == bytes({0x00}));
}

TEST_CASE("canonical: floats are always float64 and never equal an integer's bytes", "[unit][wire][term_codec]") {
  for (double d : {0.0, 1.0, -1.0, 0.5, 1.5, 0.1, -2.75, 1e300, -1e-300, 4.9e-324, std::numeric_limits<double>::max(),
                   std::numeric_limits<double>::lowest(), std::numeric_limits<double>::infinity(),
                   -std::numeric_limits<double>::infinity()}) {
    INFO("value " << d);
    std::uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    check_round_trip(Term(d), bytes({0xcb}) + be(bits, 8));
  }
  CHECK(wire::canonical(Term(1)) != wire::canonical(Term(1.0)));
  CHECK(wire::canonical(Term(1)) == bytes({0x01}));
  CHECK(wire::canonical(Term(1.0)) == bytes({0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0}));
  CHECK(wire::canonical(Term::array({1})) != wire::canonical(Term::array({1.0})));
  // A float32 from a foreign encoder is widened: one encoding per value.
  CHECK(canon_object(bytes({0xca, 0x3f, 0xc0, 0x00, 0x00})) == wire::canonical(Term(1.5)));
  Term t;
  REQUIRE(to_term_ok(bytes({0xca, 0x3f, 0xc0, 0x00, 0x00}), &t));
  CHECK(same_term(t, Term(1.5)));
}

TEST_CASE("canonical: strings at every length boundary", "[unit][wire][term_codec]") {
  struct Case {
    std::size_t length;
    std::string header;
  };
  std::vector<Case> cases = {
      {0, bytes({0xa0})},
      {1, bytes({0xa1})},
      {31, bytes({0xbf})},
      {32, bytes({0xd9, 0x20})},
      {255, bytes({0xd9, 0xff})},
      {256, bytes({0xda, 0x01, 0x00})},
      {65535, bytes({0xda, 0xff, 0xff})},
      {65536, bytes({0xdb, 0x00, 0x01, 0x00, 0x00})},
  };
  for (const auto& c : cases) {
    INFO("length " << c.length);
    std::string s(c.length, 'x');
    for (std::size_t i = 0; i < s.size(); ++i) s[i] = static_cast<char>('a' + i % 26);
    check_round_trip(Term(s), c.header + s);
  }
  // Bytes are kept as they are (no UTF-8 normalisation), including NUL and high bytes.
  std::string raw("a\0b\xc3\xa9", 5);
  check_round_trip(Term(raw), bytes({0xa5}) + raw);
}

TEST_CASE("canonical: binaries at every length boundary", "[unit][wire][term_codec]") {
  struct Case {
    std::size_t length;
    std::string header;
  };
  std::vector<Case> cases = {
      {0, bytes({0xc4, 0x00})},           {1, bytes({0xc4, 0x01})},
      {255, bytes({0xc4, 0xff})},         {256, bytes({0xc5, 0x01, 0x00})},
      {65535, bytes({0xc5, 0xff, 0xff})}, {65536, bytes({0xc6, 0x00, 0x01, 0x00, 0x00})},
  };
  for (const auto& c : cases) {
    INFO("length " << c.length);
    std::vector<std::uint8_t> data(c.length);
    for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<std::uint8_t>(i * 7);
    check_round_trip(Term::binary(data), c.header + std::string(data.begin(), data.end()));
  }
  // A binary and a string with the same bytes are different terms.
  CHECK(wire::canonical(Term::binary({'a'})) != wire::canonical(Term("a")));
  // The json binary subtype is not part of the term.
  CHECK(wire::canonical(Term::binary({1, 2}, 7)) == wire::canonical(Term::binary({1, 2})));
}

TEST_CASE("canonical: arrays and objects at every count boundary", "[unit][wire][term_codec]") {
  struct Case {
    std::size_t count;
    std::string array_header;
    std::string map_header;
  };
  std::vector<Case> cases = {
      {0, bytes({0x90}), bytes({0x80})},
      {1, bytes({0x91}), bytes({0x81})},
      {15, bytes({0x9f}), bytes({0x8f})},
      {16, bytes({0xdc, 0x00, 0x10}), bytes({0xde, 0x00, 0x10})},
      {65535, bytes({0xdc, 0xff, 0xff}), bytes({0xde, 0xff, 0xff})},
      {65536, bytes({0xdd, 0x00, 0x01, 0x00, 0x00}), bytes({0xdf, 0x00, 0x01, 0x00, 0x00})},
  };
  for (const auto& c : cases) {
    INFO("count " << c.count);
    Term array = Term::array();
    std::string array_body;
    for (std::size_t i = 0; i < c.count; ++i) {
      array.push_back(nullptr);
      array_body.push_back(static_cast<char>(0xc0));
    }
    check_round_trip(array, c.array_header + array_body);

    // Keys "k00000".."k65535" sort in byte order the same as numerically.
    Term object = Term::object();
    std::string map_body;
    for (std::size_t i = 0; i < c.count; ++i) {
      char key[32];
      std::snprintf(key, sizeof key, "k%05zu", i);
      object[key] = true;
      map_body += bytes({0xa6}) + key + bytes({0xc3});
    }
    check_round_trip(object, c.map_header + map_body);
  }
}

TEST_CASE("canonical: nested arrays and objects", "[unit][wire][term_codec]") {
  Term t = {{"list", Term::array({1, -1, 1.0, "s", nullptr, Term::array(), Term::object()})},
            {"map", {{"inner", Term::array({Term::array({Term::array({true})})})}}},
            {"bin", Term::binary({0, 255})}};
  std::string expected = bytes({0x83})
                         // "bin"
                         + bytes({0xa3, 'b', 'i', 'n', 0xc4, 0x02, 0x00, 0xff})
                         // "list"
                         + bytes({0xa4, 'l', 'i', 's', 't', 0x97, 0x01, 0xff, 0xcb, 0x3f, 0xf0,
                                  0,    0,   0,   0,   0,   0,    0xa1, 's',  0xc0, 0x90, 0x80})
                         // "map"
                         + bytes({0xa3, 'm', 'a', 'p', 0x81, 0xa5, 'i', 'n', 'n', 'e', 'r', 0x91, 0x91, 0x91, 0xc3});
  check_round_trip(t, expected);
  check_round_trip(nested_arrays(wire::max_term_depth, 7), nested_array_bytes(wire::max_term_depth, bytes({0x07})));
}

TEST_CASE("canonical: object keys come out in byte order", "[unit][wire][term_codec]") {
  // Inserted out of order; "B" (0x42) < "a" (0x61) < "aa" < "b" < "z" < "é" (0xc3 0xa9):
  // byte order, with bytes compared unsigned.
  Term t = Term::object();
  t["z"] = 1;
  t["\xc3\xa9"] = 2;
  t["b"] = 3;
  t["aa"] = 4;
  t["a"] = 5;
  t["B"] = 6;
  t[""] = 7;
  std::string expected = bytes({0x87, 0xa0, 0x07, 0xa1, 'B',  0x06, 0xa1, 'a',  0x05, 0xa2, 'a', 'a',
                                0x04, 0xa1, 'b',  0x03, 0xa1, 'z',  0x01, 0xa2, 0xc3, 0xa9, 0x02});
  check_round_trip(t, expected);
}

TEST_CASE("append_canonical(object) canonicalises foreign msgpack", "[unit][wire][term_codec]") {
  // Unsorted map keys.
  CHECK(canon_object(bytes({0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02})) ==
        bytes({0x82, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01}));
  CHECK(canon_object(bytes({0x82, 0xa1, 'b', 0x01, 0xa1, 'a', 0x02})) == wire::canonical(Term{{"a", 2}, {"b", 1}}));
  // Unsorted keys with high bytes: unsigned byte order, the same as the Term path.
  CHECK(canon_object(bytes({0x82, 0xa2, 0xc3, 0xa9, 0x01, 0xa1, 'z', 0x02})) ==
        wire::canonical(Term{{"\xc3\xa9", 1}, {"z", 2}}));
  // Unsorted keys deep inside arrays and maps, with a map16 of two entries.
  CHECK(canon_object(bytes({0x91, 0xde, 0x00, 0x02, 0xa1, 'y',  0x81, 0xa1, 'q',  0xc0, 0xa1,
                            'x',  0x92, 0x82, 0xa1, 'n',  0x01, 0xa1, 'm',  0x02, 0xc3})) ==
        wire::canonical(
            Term::array({Term{{"x", Term::array({Term{{"m", 2}, {"n", 1}}, true})}, {"y", Term{{"q", nullptr}}}}})));
  // Integers in longer formats than needed, positive values in int formats.
  CHECK(canon_object(bytes({0xcd, 0x00, 0x05})) == bytes({0x05}));
  CHECK(canon_object(bytes({0xcf, 0, 0, 0, 0, 0, 0, 0x01, 0x00})) == bytes({0xcd, 0x01, 0x00}));
  CHECK(canon_object(bytes({0xd0, 0x05})) == bytes({0x05}));
  CHECK(canon_object(bytes({0xd3, 0, 0, 0, 0, 0, 0, 0, 0x80})) == bytes({0xcc, 0x80}));
  CHECK(canon_object(bytes({0xd3, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})) == bytes({0xff}));
  CHECK(canon_object(bytes({0xd1, 0xff, 0x80})) == bytes({0xd0, 0x80}));
  // Strings, binaries, arrays and maps in longer formats than needed.
  CHECK(canon_object(bytes({0xd9, 0x03, 'a', 'b', 'c'})) == bytes({0xa3, 'a', 'b', 'c'}));
  CHECK(canon_object(bytes({0xdb, 0, 0, 0, 0x01, 'a'})) == bytes({0xa1, 'a'}));
  CHECK(canon_object(bytes({0xc6, 0, 0, 0, 0x01, 0x09})) == bytes({0xc4, 0x01, 0x09}));
  CHECK(canon_object(bytes({0xdc, 0x00, 0x01, 0x01})) == bytes({0x91, 0x01}));
  CHECK(canon_object(bytes({0xdd, 0, 0, 0, 0x00})) == bytes({0x90}));
  CHECK(canon_object(bytes({0xdf, 0, 0, 0, 0x01, 0xd9, 0x01, 'k', 0xc2})) == bytes({0x81, 0xa1, 'k', 0xc2}));
  // Keys given in a longer string format sort and compare by their bytes only.
  CHECK(canon_object(bytes({0x82, 0xd9, 0x01, 'b', 0x01, 0xa1, 'a', 0x02})) ==
        bytes({0x82, 0xa1, 'a', 0x02, 0xa1, 'b', 0x01}));
}

TEST_CASE("append_canonical(object) and to_term reject what is not a term", "[unit][wire][term_codec]") {
  struct Case {
    const char* what;
    std::string data;
  };
  std::vector<Case> bad = {
      {"fixext 1", bytes({0xd4, 0x01, 0x00})},
      {"fixext 16", bytes({0xd8, 0x01}) + std::string(16, 'x')},
      {"ext 8", bytes({0xc7, 0x02, 0x05, 0x00, 0x00})},
      {"ext 8 of length 0", bytes({0xc7, 0x00, 0x05})},
      {"ext 32", bytes({0xc9, 0, 0, 0, 0x01, 0x05, 0x00})},
      {"ext inside an array", bytes({0x92, 0x01, 0xd4, 0x01, 0x00})},
      {"ext as a map value", bytes({0x81, 0xa1, 'k', 0xd4, 0x01, 0x00})},
      {"ext deep inside", bytes({0x91, 0x81, 0xa1, 'k', 0x91, 0xd5, 0x01, 0x00, 0x00})},
      {"integer map key", bytes({0x81, 0x01, 0x02})},
      {"negative integer map key", bytes({0x81, 0xff, 0x02})},
      {"nil map key", bytes({0x81, 0xc0, 0x02})},
      {"bool map key", bytes({0x81, 0xc3, 0x02})},
      {"float map key", bytes({0x81, 0xcb, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0, 0x02})},
      {"binary map key", bytes({0x81, 0xc4, 0x01, 'a', 0x02})},
      {"array map key", bytes({0x81, 0x91, 0x01, 0x02})},
      {"map map key", bytes({0x81, 0x80, 0x02})},
      {"ext map key", bytes({0x81, 0xd4, 0x01, 0x00, 0x02})},
      {"string then integer key", bytes({0x82, 0xa1, 'a', 0x01, 0x02, 0x03})},
      {"non-string key in a nested map", bytes({0x91, 0x81, 0xa1, 'k', 0x81, 0x05, 0x06})},
      {"duplicate keys", bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x02})},
      {"duplicate keys with the same value", bytes({0x82, 0xa1, 'a', 0x01, 0xa1, 'a', 0x01})},
      {"duplicate keys not adjacent", bytes({0x83, 0xa1, 'a', 0x01, 0xa1, 'b', 0x02, 0xa1, 'a', 0x03})},
      {"duplicate keys in two string formats", bytes({0x82, 0xa1, 'a', 0x01, 0xd9, 0x01, 'a', 0x02})},
      {"duplicate empty keys", bytes({0x82, 0xa0, 0x01, 0xa0, 0x02})},
      {"duplicate keys in a nested map", bytes({0x92, 0x01, 0x82, 0xa1, 'x', 0xc0, 0xa1, 'x', 0xc0})},
      {"arrays nested deeper than max_term_depth", nested_array_bytes(wire::max_term_depth + 1, bytes({0xc0}))},
      {"maps nested deeper than max_term_depth", nested_map_bytes(wire::max_term_depth + 1, bytes({0xc0}))},
      {"deep nesting, far beyond the limit", nested_array_bytes(1000, bytes({0xc0}))},
  };
  for (const auto& c : bad) {
    INFO(c.what << ": " << hex(c.data));
    CHECK(canon_object(c.data) == "<rejected>");
    CHECK_FALSE(to_term_ok(c.data));
  }
}

TEST_CASE("term depth: max_term_depth is accepted, one more is not", "[unit][wire][term_codec]") {
  const auto depth = wire::max_term_depth;
  for (const std::string& leaf : {bytes({0xc0}), bytes({0x01}), bytes({0xa1, 'x'})}) {
    INFO("leaf " << hex(leaf));
    auto arrays_ok = nested_array_bytes(depth, leaf);
    auto arrays_bad = nested_array_bytes(depth + 1, leaf);
    CHECK(canon_object(arrays_ok) == arrays_ok);
    CHECK(to_term_ok(arrays_ok));
    CHECK(canon_object(arrays_bad) == "<rejected>");
    CHECK_FALSE(to_term_ok(arrays_bad));

    auto maps_ok = nested_map_bytes(depth, leaf);
    auto maps_bad = nested_map_bytes(depth + 1, leaf);
    CHECK(canon_object(maps_ok) == maps_ok);
    CHECK(to_term_ok(maps_ok));
    CHECK(canon_object(maps_bad) == "<rejected>");
    CHECK_FALSE(to_term_ok(maps_bad));
  }
  // Mixed arrays and maps count alike.
  std::string mixed;
  for (std::size_t i = 0; i < depth; ++i) mixed += i % 2 ? bytes({0x91}) : bytes({0x81, 0xa1, 'k'});
  CHECK(canon_object(mixed + bytes({0xc0})) == mixed + bytes({0xc0}));
  CHECK(canon_object(bytes({0x91}) + mixed + bytes({0xc0})) == "<rejected>");
  CHECK_FALSE(to_term_ok(bytes({0x91}) + mixed + bytes({0xc0})));
}

namespace {

// Random msgpack values, including the forms a foreign encoder may use (long formats,
// float32, unsorted keys) and, when `allow_bad`, things that are not terms.
struct RandomMsgpack {
  std::mt19937_64 rng;
  bool allow_bad = true;

  std::uint64_t pick(std::uint64_t n) { return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(rng); }

  std::string str(std::size_t n) {
    std::string s;
    for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>("abcAB\xc3\xa9\0"[pick(8)]));
    return s;
  }

  std::string str_value(const std::string& s) {
    switch (pick(3)) {
      case 0:
        if (s.size() < 32) return std::string(1, static_cast<char>(0xa0 | s.size())) + s;
        [[fallthrough]];
      case 1: return bytes({0xd9}) + be(s.size(), 1) + s;
      default: return bytes({0xda}) + be(s.size(), 2) + s;
    }
  }

  std::string value(int depth) {
    int choices = depth > 6 ? 9 : 12;
    switch (pick(choices)) {
      case 0: return bytes({0xc0});
      case 1: return pick(2) ? bytes({0xc3}) : bytes({0xc2});
      case 2: {  // non-negative integer in any width
        std::uint64_t v = rng() >> pick(64);
        switch (pick(5)) {
          case 0:
            if (v < 128) return std::string(1, static_cast<char>(v));
            [[fallthrough]];
          case 1: return bytes({0xcf}) + be(v, 8);
          case 2: return bytes({0xce}) + be(v & 0xffffffff, 4);
          case 3: return bytes({0xd3}) + be(v >> 1, 8);
          default: return bytes({0xcd}) + be(v & 0xffff, 2);
        }
      }
      case 3: {  // negative integer in any width
        std::int64_t v = -1 - static_cast<std::int64_t>((rng() >> 1) >> pick(63));
        switch (pick(3)) {
          case 0:
            if (v >= -32) return std::string(1, static_cast<char>(v));
            [[fallthrough]];
          case 1: return bytes({0xd3}) + be(static_cast<std::uint64_t>(v), 8);
          default:
            if (v >= INT16_MIN) return bytes({0xd2}) + be(static_cast<std::uint32_t>(static_cast<std::int32_t>(v)), 4);
            return bytes({0xd3}) + be(static_cast<std::uint64_t>(v), 8);
        }
      }
      case 4: return bytes({0xcb}) + be(rng(), 8);
      case 5: return bytes({0xca}) + be(rng() & 0xffffffff, 4);
      case 6: return str_value(str(pick(40)));
      case 7: {
        std::size_t n = pick(20);
        return bytes({0xc4}) + be(n, 1) + std::string(n, static_cast<char>(pick(256)));
      }
      case 8:
        if (allow_bad && pick(40) == 0) return bytes({0xd4, 0x01, 0x00});  // ext
        return bytes({0xc0});
      case 9:
      case 10: {
        std::size_t n = pick(5);
        std::string out = pick(2) ? std::string(1, static_cast<char>(0x90 | n)) : bytes({0xdc}) + be(n, 2);
        for (std::size_t i = 0; i < n; ++i) out += value(depth + 1);
        return out;
      }
      default: {
        std::size_t n = pick(5);
        std::string out = pick(2) ? std::string(1, static_cast<char>(0x80 | n)) : bytes({0xde}) + be(n, 2);
        for (std::size_t i = 0; i < n; ++i) {
          if (allow_bad && pick(60) == 0) {
            out += bytes({0x01});  // integer key
          } else {
            out += str_value(str(pick(3)));  // short keys: duplicates happen
          }
          out += value(depth + 1);
        }
        return out;
      }
    }
  }
};

}  // namespace

TEST_CASE("to_term mirrors append_canonical(object) on random msgpack", "[unit][wire][term_codec]") {
  RandomMsgpack gen{std::mt19937_64(20240601)};
  int accepted = 0;
  int rejected = 0;
  for (int i = 0; i < 5000; ++i) {
    std::string data = gen.value(0);
    INFO("case " << i << ": " << hex(data));
    auto handle = unpack(data);
    std::string canon;
    bool canon_ok = wire::append_canonical(canon, handle.get());
    Term term;
    bool term_ok = wire::to_term(handle.get(), term);
    REQUIRE(canon_ok == term_ok);
    if (!canon_ok) {
      ++rejected;
      continue;
    }
    ++accepted;
    // The Term and the object path agree on the bytes, and the bytes are a fixed point.
    REQUIRE(wire::canonical(term) == canon);
    auto again = unpack(canon);
    std::string canon2;
    REQUIRE(wire::append_canonical(canon2, again.get()));
    REQUIRE(canon2 == canon);
    REQUIRE(wire::canonical(wire::decode_canonical(canon)) == canon);
  }
  // Both outcomes were exercised.
  CHECK(accepted > 1000);
  CHECK(rejected > 50);
}

TEST_CASE("canonical: a string's key in two parts is its canonical bytes, for every header size",
          "[unit][wire][term_codec]") {
  using syn::detail::ShortKey;
  using syn::detail::SplitKey;
  std::vector<std::size_t> lengths;
  for (std::size_t n = 0; n <= 40; ++n) lengths.push_back(n);
  for (std::size_t n : {255, 256, 300, 65535, 65536, 70000}) lengths.push_back(n);
  for (auto n : lengths) {
    std::string text;
    for (std::size_t i = 0; i < n; ++i) text += static_cast<char>('0' + (i * 7 + n) % 75);
    syn::Term name(text);
    const std::string canonical = syn::wire::canonical(name);
    SplitKey key;
    INFO("length " << n);
    REQUIRE(syn::wire::string_key(name, key));
    std::string joined;
    for (std::size_t i = 0; i < key.head_size; ++i) joined += static_cast<char>(key.head_byte(i));
    joined += key.rest;
    CHECK(joined == canonical);
    CHECK(key.size() == canonical.size());
    CHECK(key.same_bytes(canonical.data()));
    CHECK(syn::detail::hash_split_key(key) == syn::detail::hash_bytes(canonical));
    if (canonical.size() <= ShortKey::kMaxBytes) CHECK(key.short_key() == ShortKey::of(canonical));
  }
  SplitKey key;
  CHECK_FALSE(syn::wire::string_key(syn::Term(42), key));
  CHECK_FALSE(syn::wire::string_key(syn::Term::array({"a"}), key));
  CHECK_FALSE(syn::wire::string_key(syn::Term(), key));
}

TEST_CASE("canonical: the short key of an integer is its canonical bytes, at every format boundary",
          "[unit][wire][term_codec]") {
  using syn::detail::ShortKey;
  std::vector<syn::Term> values;
  for (std::uint64_t v : {0ULL, 1ULL, 127ULL, 128ULL, 255ULL, 256ULL, 65535ULL, 65536ULL, 0xffffffffULL, 0x100000000ULL,
                          0x0123456789abcdefULL, ~0ULL}) {
    values.emplace_back(v);                                                                             // json unsigned
    if (v <= static_cast<std::uint64_t>(INT64_MAX)) values.emplace_back(static_cast<std::int64_t>(v));  // json signed
  }
  for (std::int64_t v : {std::int64_t{-1}, std::int64_t{-32}, std::int64_t{-33}, std::int64_t{-128}, std::int64_t{-129},
                         std::int64_t{-32768}, std::int64_t{-32769}, std::int64_t{INT32_MIN},
                         std::int64_t{INT32_MIN} - 1, std::int64_t{-0x0123456789abcdef}, std::int64_t{INT64_MIN}}) {
    values.emplace_back(v);
  }
  for (const auto& value : values) {
    ShortKey key;
    INFO(value.dump());
    REQUIRE(syn::wire::integer_key(value, key));
    CHECK(key == ShortKey::of(syn::wire::canonical(value)));
  }
  ShortKey key;
  CHECK_FALSE(syn::wire::integer_key(syn::Term(1.0), key));  // a float is another name than 1
  CHECK_FALSE(syn::wire::integer_key(syn::Term("1"), key));
  CHECK_FALSE(syn::wire::integer_key(syn::Term(true), key));
}
