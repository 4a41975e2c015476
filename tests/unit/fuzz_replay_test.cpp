// The libFuzzer bodies (tests/fuzz/*_fuzz_body.hpp) replayed over inputs from a seeded PRNG,
// so that every CI run checks the same properties under GCC and its sanitizers, without
// Clang: valid inputs made by the encoders (tests/fuzz/fuzz_seeds.hpp), mutated the way a
// fuzzer mutates them, and noise. A few thousand inputs per body, a fraction of a second.
// wire_messages_test.cpp replays the frame body over frames of its own as well.
//
// A failure prints the input in hex: save it as a file and run the libFuzzer target on it
// (build-fuzz/tests/fuzz/fuzz_<target> FILE, see scripts/fuzz) for a stack.
#include "fuzz/entries_fuzz_body.hpp"
#include "fuzz/frame_fuzz_body.hpp"
#include "fuzz/fuzz_seeds.hpp"
#include "fuzz/multicast_fuzz_body.hpp"
#include "fuzz/term_fuzz_body.hpp"
#include "fuzz/zap_fuzz_body.hpp"
#include "wire/term_codec.hpp"

#include <catch2/catch.hpp>

#include <cstddef>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

using syn::Term;
namespace wire = syn::wire;
namespace fuzz = syn::fuzz;

namespace {

std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

/// Bytes that matter to msgpack: fixint edges, nil, the never-used byte, bool, bin/str/array/
/// map/ext headers of every width, and the integer and float types.
constexpr unsigned char kInteresting[] = {0x00, 0x01, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2,
                                          0xc3, 0xc4, 0xc5, 0xc6, 0xc7, 0xca, 0xcb, 0xcc, 0xcd, 0xce, 0xcf, 0xd0,
                                          0xd3, 0xd4, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf, 0xe0, 0xff};

/// A seed with 1 to 4 edits, each like one of libFuzzer's: a byte changed (at random or to an
/// interesting one), inserted or erased, the tail cut, a piece of another seed spliced in, a
/// range repeated.
std::string mutate(std::mt19937_64& rng, const std::vector<std::string>& seeds) {
  std::string s = seeds[rng() % seeds.size()];
  auto any_byte = [&] { return static_cast<char>(rng()); };
  int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits; ++e) {
    std::size_t at = s.empty() ? 0 : rng() % s.size();
    switch (rng() % 7) {
      case 0:
        if (!s.empty()) s[at] = any_byte();
        break;
      case 1:
        if (!s.empty()) s[at] = static_cast<char>(kInteresting[rng() % sizeof kInteresting]);
        break;
      case 2: s.insert(s.begin() + static_cast<std::ptrdiff_t>(at), any_byte()); break;
      case 3:
        if (!s.empty()) s.erase(at, 1);
        break;
      case 4: s.resize(at); break;
      case 5: {
        const std::string& other = seeds[rng() % seeds.size()];
        if (other.empty()) break;
        std::size_t from = rng() % other.size();
        std::size_t n = 1 + rng() % (other.size() - from);
        s.insert(at, other, from, n);
        break;
      }
      default: {
        if (s.empty()) break;
        std::size_t n = 1 + rng() % (s.size() - at);
        s.insert(at, s.substr(at, n));
      }
    }
  }
  return s;
}

std::string noise(std::mt19937_64& rng) {
  std::string s(rng() % 48, '\0');
  for (auto& c : s) c = static_cast<char>(rng());
  return s;
}

const std::uint8_t* data(const std::string& s) { return reinterpret_cast<const std::uint8_t*>(s.data()); }

/// The inputs of one replay: every seed as it is, then mutated seeds, then noise.
template <class Run>
void replay(std::uint64_t seed, const std::vector<std::string>& seeds, Run&& run) {
  std::mt19937_64 rng(seed);
  for (const auto& s : seeds) run(s, true);
  for (int i = 0; i < 3000; ++i) run(mutate(rng, seeds), false);
  for (int i = 0; i < 500; ++i) run(noise(rng), false);
}

}  // namespace

TEST_CASE("fuzz replay: frames of every message type, mutated", "[unit][wire][fuzz]") {
  std::size_t rejected = 0, messages = 0, decoded = 0;
  replay(0xf4a3e5eedULL, fuzz::frame_seeds(), [&](const std::string& input, bool valid) {
    INFO("fuzz_frame input " << hex(input));
    fuzz::FuzzOutcome outcome;
    REQUIRE_NOTHROW(outcome = fuzz::fuzz_frame(data(input), input.size()));
    if (valid) {
      REQUIRE_FALSE(outcome.frame_rejected);
      // Every message of a seed has a decoder that takes it, but heartbeat and reset.
      CHECK(outcome.decoded + 2 >= outcome.messages);
    }
    rejected += outcome.frame_rejected;
    messages += outcome.messages;
    decoded += outcome.decoded;
  });
  CHECK(rejected > 500);
  CHECK(messages > 2000);
  CHECK(decoded > 1000);
}

TEST_CASE("fuzz replay: entry payloads (changes, calls, snapshot chunks, holders), mutated", "[unit][wire][fuzz]") {
  std::size_t read = 0, changes = 0, calls = 0, snapshots = 0, entries = 0, holders = 0;
  replay(0xe47e5eedULL, fuzz::entries_seeds(), [&](const std::string& input, bool valid) {
    INFO("fuzz_entries input " << hex(input));
    fuzz::EntriesOutcome outcome;
    REQUIRE_NOTHROW(outcome = fuzz::fuzz_entries(data(input), input.size()));
    if (valid) {
      REQUIRE(outcome.value_read);
      CHECK((outcome.change || outcome.call || outcome.snapshot || outcome.holder));
    }
    read += outcome.value_read;
    changes += outcome.change;
    calls += outcome.call;
    snapshots += outcome.snapshot;
    entries += outcome.snapshot_entries;
    holders += outcome.holder;
  });
  CHECK(read > 1000);
  CHECK(read < 3000);  // and many rejected
  CHECK(changes > 200);
  CHECK(calls > 200);
  CHECK(snapshots > 100);
  CHECK(entries > 100);
  CHECK(holders > 50);
}

TEST_CASE("fuzz replay: multicast payloads (view protocol, data path, announcements), mutated",
          "[unit][wire][fuzz][multicast]") {
  std::size_t read = 0, decoded = 0, protocol = 0, messages = 0;
  replay(0x3c457eedULL, fuzz::multicast_seeds(), [&](const std::string& input, bool valid) {
    INFO("fuzz_multicast input " << hex(input));
    fuzz::MulticastOutcome outcome;
    REQUIRE_NOTHROW(outcome = fuzz::fuzz_multicast(data(input), input.size()));
    if (valid) {
      REQUIRE(outcome.value_read);
      REQUIRE(outcome.decoded);
    }
    read += outcome.value_read;
    decoded += outcome.decoded;
    protocol += outcome.protocol;
    messages += outcome.messages;
  });
  CHECK(read > 1000);
  CHECK(decoded > 300);
  CHECK(decoded < read);  // and many rejected
  CHECK(protocol > 200);
  CHECK(messages > 20);  // batches reached (most mutations break a batch's terms)
}

TEST_CASE("fuzz replay: terms, canonical or not, mutated", "[unit][wire][fuzz]") {
  std::size_t read = 0, valid_terms = 0, integers = 0, strings = 0;
  replay(0x7e475eedULL, fuzz::term_seeds(), [&](const std::string& input, bool valid) {
    INFO("fuzz_term input " << hex(input));
    fuzz::TermOutcome outcome;
    REQUIRE_NOTHROW(outcome = fuzz::fuzz_term(data(input), input.size()));
    if (valid && input != "\xc1") REQUIRE(outcome.value_read);  // all but the never-used byte
    read += outcome.value_read;
    valid_terms += outcome.valid;
    integers += outcome.integer;
    strings += outcome.string;
  });
  CHECK(read > 1000);
  CHECK(valid_terms > 1000);
  CHECK(valid_terms < read);  // and some refused
  CHECK(integers > 100);
  CHECK(strings > 100);
}

// Found by fuzz_term (tests/fuzz/crashes/fuzz_term/fits_within-depth-a2312593): a term
// max_term_depth deep, accepted from a peer and encoded by append_canonical, was "larger than
// any limit" for fits_within, which counted its depth from 1.
TEST_CASE("fuzz finding: fits_within takes every term append_canonical takes", "[unit][wire][fuzz]") {
  Term deep = 17;
  for (std::size_t i = 0; i < wire::max_term_depth; ++i) deep = Term::array({deep});
  const std::string canon = wire::canonical(deep);
  CHECK(canon == std::string(wire::max_term_depth, static_cast<char>(0x91)) + "\x11");
  CHECK(wire::fits_within(deep, canon.size()));
  CHECK_FALSE(wire::fits_within(deep, canon.size() - 1));
  const std::string crash = std::string(48, static_cast<char>(0x91)) + "\x11";
  fuzz::TermOutcome outcome;
  REQUIRE_NOTHROW(outcome = fuzz::fuzz_term(data(crash), crash.size()));
  CHECK(outcome.valid);
  // One more level is refused by both.
  Term deeper = Term::array({deep});
  CHECK_FALSE(wire::fits_within(deeper, std::size_t(-1)));
  CHECK_THROWS(wire::canonical(deeper));
}

TEST_CASE("fuzz replay: ZAP requests, well-formed or not", "[unit][security][fuzz]") {
  std::size_t admitted = 0, refused = 0;
  replay(0x2a9ULL, fuzz::zap_seeds(), [&](const std::string& input, bool) {
    INFO("fuzz_zap input " << hex(input));
    bool ok = false;
    REQUIRE_NOTHROW(ok = fuzz::fuzz_zap(data(input), input.size()));
    (ok ? admitted : refused) += 1;
  });
  CHECK(admitted > 0);  // the seeds and mutations that kept a key
  CHECK(refused > admitted);
}
