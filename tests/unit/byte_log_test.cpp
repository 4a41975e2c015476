// The byte log of the multicast streams (src/common/byte_log.hpp): appends across chunk
// boundaries, drops from the front, copies from anywhere in between.
#include "common/byte_log.hpp"

#include <catch2/catch.hpp>

#include <string>

using syn::detail::ByteLog;

namespace {

/// `n` bytes counting up from `first` (mod 251, so that no chunk size lines up with it).
std::string counting(std::size_t first, std::size_t n) {
  std::string out(n, '\0');
  for (std::size_t i = 0; i < n; ++i) out[i] = static_cast<char>((first + i) % 251);
  return out;
}

}  // namespace

TEST_CASE("byte log: what is appended comes back byte for byte across chunks, after drops from the front",
          "[unit][multicast]") {
  ByteLog log;
  CHECK(log.empty());
  std::string all;  // what the log should hold, as one string
  std::size_t dropped = 0;
  // Sizes below, at and above a chunk, so that appends start and end everywhere in one.
  for (std::size_t size : {1UL, 0UL, 100UL, ByteLog::kChunk - 101, ByteLog::kChunk, 3 * ByteLog::kChunk + 7, 5UL}) {
    std::string bytes = counting(dropped + all.size(), size);
    log.append(bytes);
    all += bytes;
    REQUIRE(log.size() == all.size());
    CHECK(log.copy(0, all.size()) == all);
  }
  // Every cut of what is held reads back the same.
  for (std::size_t from : {0UL, 1UL, ByteLog::kChunk - 1, ByteLog::kChunk, all.size() - 5}) {
    for (std::size_t n : {0UL, 1UL, 5UL, ByteLog::kChunk + 1}) {
      if (from + n > all.size()) continue;
      CHECK(log.copy(from, n) == all.substr(from, n));
    }
  }
  // Drops that free chunks and drops inside one; appends after them go on where it ended.
  for (std::size_t n : {ByteLog::kChunk + 3, 17UL, 2 * ByteLog::kChunk}) {
    log.drop_front(n);
    all.erase(0, n);
    dropped += n;
    REQUIRE(log.size() == all.size());
    CHECK(log.copy(0, all.size()) == all);
    std::string more = counting(dropped + all.size(), 999);
    log.append(more);
    all += more;
    CHECK(log.copy(0, all.size()) == all);
  }
  log.drop_front(all.size() + 10);  // more than held: all of it
  CHECK(log.empty());
  log.append("again");
  CHECK(log.copy(0, 5) == "again");
}

TEST_CASE("byte log: emptied at a chunk's end or in its middle, it takes appends again", "[unit][multicast]") {
  ByteLog log;
  log.append(counting(0, ByteLog::kChunk));
  log.drop_front(ByteLog::kChunk);  // the last byte dropped ended the chunk
  CHECK(log.empty());
  log.append("x");
  CHECK(log.copy(0, 1) == "x");
  log.drop_front(1);  // emptied in the middle of a chunk
  log.append(counting(7, 3 * ByteLog::kChunk));
  CHECK(log.copy(0, 3 * ByteLog::kChunk) == counting(7, 3 * ByteLog::kChunk));
  // Many chunks dropped one at a time while more come: the freed slots are compacted away
  // and what is held stays readable.
  std::string all = counting(7, 3 * ByteLog::kChunk);
  for (std::size_t i = 0; i < 40; ++i) {
    std::string more = counting(i, ByteLog::kChunk + 1);
    log.append(more);
    all += more;
    log.drop_front(ByteLog::kChunk);
    all.erase(0, ByteLog::kChunk);
  }
  REQUIRE(log.size() == all.size());
  CHECK(log.copy(0, all.size()) == all);
}
