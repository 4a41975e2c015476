#pragma once
// A FIFO of bytes: appended at the back, dropped from the front, read anywhere in between.
// Kept in fixed chunks, so that appending never moves what is held, and dropping frees whole
// chunks. What multicast streams keep their unstable messages in (one log per stream, a small
// record per message saying where its bytes end), instead of a heap string per message.
//
// Not std::deque<char>: its range insert and its copies go one byte at a time through deque
// iterators, which cost 1 us per kilobyte appended on these machines (multicast_3_1k lost 15%);
// here every append and read is one memcpy per chunk it touches. The chunks are in a vector,
// not a deque: an empty log allocates nothing (libstdc++'s empty deque takes about 576 B, and
// a node keeps a log per stream of every group it is in).
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

class ByteLog {
 public:
  /// Bytes per chunk: 4 kB, so that a log of a few small messages stays small and a chunk's
  /// allocation header is 0.4% of it.
  static constexpr std::size_t kChunk = 4096;

  /// How many bytes the log holds.
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

  /// Appends `bytes` at the back.
  void append(std::string_view bytes) {
    while (!bytes.empty()) {
      std::size_t end = head_ + size_;  // position of the back, from the first chunk's start
      std::size_t chunk = first_ + end / kChunk;
      if (chunk == chunks_.size()) chunks_.push_back(std::unique_ptr<char[]>(new char[kChunk]));
      std::size_t offset = end % kChunk;
      std::size_t n = std::min(bytes.size(), kChunk - offset);
      std::memcpy(chunks_[chunk].get() + offset, bytes.data(), n);
      size_ += n;
      bytes.remove_prefix(n);
    }
  }

  /// Drops the first `n` bytes (at most size()); chunks left empty are freed.
  void drop_front(std::size_t n) {
    n = std::min(n, size_);
    head_ += n;
    size_ -= n;
    while (head_ >= kChunk) {
      chunks_[first_++].reset();
      head_ -= kChunk;
    }
    if (size_ == 0) {
      // Empty: the next append starts at the front of the chunk still held, if any (none
      // when the last byte dropped ended a chunk).
      std::unique_ptr<char[]> kept = first_ < chunks_.size() ? std::move(chunks_[first_]) : nullptr;
      chunks_.clear();
      if (kept) chunks_.push_back(std::move(kept));
      first_ = 0;
      head_ = 0;
    } else if (first_ >= kCompactAt && 2 * first_ >= chunks_.size()) {
      // The freed chunks' slots go once they are half the vector: each slot moves at most
      // once per time the log doubles, like a vector's growth.
      chunks_.erase(chunks_.begin(), chunks_.begin() + static_cast<std::ptrdiff_t>(first_));
      first_ = 0;
    }
  }

  /// A copy of `n` bytes from position `from` (0: the first byte held); the caller keeps
  /// from + n <= size().
  std::string copy(std::size_t from, std::size_t n) const {
    std::string out(n, '\0');
    std::size_t at = head_ + from;
    for (std::size_t done = 0; done < n;) {
      std::size_t offset = at % kChunk;
      std::size_t k = std::min(n - done, kChunk - offset);
      std::memcpy(out.data() + done, chunks_[first_ + at / kChunk].get() + offset, k);
      done += k;
      at += k;
    }
    return out;
  }

 private:
  /// Freed slots at the front of chunks_ that make it compact.
  static constexpr std::size_t kCompactAt = 16;

  std::vector<std::unique_ptr<char[]>> chunks_;  ///< before first_: freed slots
  std::size_t first_ = 0;                        ///< the chunk holding the first byte
  std::size_t head_ = 0;                         ///< offset of the first byte held in chunks_[first_]
  std::size_t size_ = 0;
};

}  // namespace syn::detail
