#pragma once
// A FIFO of bytes: appended at the back, dropped from the front, read anywhere in between.
// Kept in fixed chunks, so that appending never moves what is held, and dropping frees whole
// chunks. What multicast streams keep their unstable messages in (one log per stream, a small
// record per message saying where its bytes end), instead of a heap string per message.
//
// Not std::deque<char>: its range insert and its copies go one byte at a time through deque
// iterators, which cost 1 us per kilobyte appended on these machines (multicast_3_1k lost 15%);
// here every append and read is one memcpy per chunk it touches.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <string_view>

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
      if (end == chunks_.size() * kChunk) chunks_.push_back(std::unique_ptr<char[]>(new char[kChunk]));
      std::size_t offset = end % kChunk;
      std::size_t n = std::min(bytes.size(), kChunk - offset);
      std::memcpy(chunks_[end / kChunk].get() + offset, bytes.data(), n);
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
      chunks_.pop_front();
      head_ -= kChunk;
    }
    if (size_ == 0 && !chunks_.empty()) {
      // Empty: start the next append at the front of the chunk still held.
      chunks_.resize(1);
      head_ = 0;
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
      std::memcpy(out.data() + done, chunks_[at / kChunk].get() + offset, k);
      done += k;
      at += k;
    }
    return out;
  }

 private:
  std::deque<std::unique_ptr<char[]>> chunks_;
  std::size_t head_ = 0;  ///< offset of the first byte held in chunks_.front()
  std::size_t size_ = 0;
};

}  // namespace syn::detail
