#pragma once
// A process's mailbox: a FIFO of messages that allocates nothing while empty (most processes
// never hold more than a few messages, and a node may run a million of them: an empty
// std::deque alone takes 700 bytes).
#include <syn/message.hpp>

#include <algorithm>
#include <cstddef>
#include <utility>
#include <vector>

namespace syn::detail {

class Mailbox {
 public:
  bool empty() const { return head_ == items_.size(); }
  std::size_t size() const { return items_.size() - head_; }
  /// The most messages it ever held at once (metrics: a plain field, the owner's lock guards it).
  std::size_t high_water() const { return high_water_; }

  /// Appends a message. `also_waiting`: messages of the same process waiting elsewhere (taken
  /// by its receiver, not yet received), counted in the high-water mark.
  void push(Message message, std::size_t also_waiting = 0) {
    items_.push_back(std::move(message));
    if (size() + also_waiting > high_water_) high_water_ = size() + also_waiting;
  }

  /// The oldest message; the mailbox must not be empty.
  Message pop() {
    Message out = std::move(items_[head_++]);
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    } else if (head_ >= 32 && head_ * 2 >= items_.size()) {
      // Reclaim the consumed front once it is at least half of the buffer.
      items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
      head_ = 0;
    }
    return out;
  }

  /// Drops the waiting messages for which `pred(const Message&)` holds, keeping the others in
  /// order; returns how many it dropped.
  template <class Pred>
  std::size_t remove_if(Pred pred) {
    auto first = items_.begin() + static_cast<std::ptrdiff_t>(head_);
    auto kept_end = std::remove_if(first, items_.end(), pred);
    auto dropped = static_cast<std::size_t>(items_.end() - kept_end);
    items_.erase(kept_end, items_.end());
    if (head_ == items_.size()) {
      items_.clear();
      head_ = 0;
    }
    return dropped;
  }

  /// Moves every waiting message, in order, into `out`, which must be empty; the buffers trade
  /// places (no allocation in a stream). The high-water mark stays.
  void move_all_to(Mailbox& out) {
    out.items_.swap(items_);
    out.head_ = head_;
    items_.clear();
    head_ = 0;
  }

  /// Drops everything and frees the buffer.
  void clear() {
    std::vector<Message>().swap(items_);
    head_ = 0;
  }

 private:
  std::vector<Message> items_;
  std::size_t head_ = 0;
  std::size_t high_water_ = 0;
};

}  // namespace syn::detail
