#pragma once
// What a multi_call request carries to its member: the member's meta and the way back.
#include <syn/term.hpp>

#include <atomic>
#include <functional>

namespace syn::detail {

struct MultiCallContext {
  Term member_meta;
  /// NodeOptions::max_term_bytes of the member's node: a larger reply is refused.
  std::size_t max_reply_bytes = 0;
  /// Sends the answer to the caller (set up by the groups handler).
  std::function<void(Term answer)> send_reply;
  /// Only the first reply counts.
  mutable std::atomic<bool> replied{false};
  /// Runs when the request is dropped without a reply (the last copy of the message is gone):
  /// no reply can come any more, so the member's node stops watching the member and the caller
  /// counts a bad reply now instead of at its timeout.
  std::function<void()> on_abandoned;

  MultiCallContext() = default;
  MultiCallContext(const MultiCallContext&) = delete;
  MultiCallContext& operator=(const MultiCallContext&) = delete;
  ~MultiCallContext() {
    if (on_abandoned && !replied.exchange(true)) on_abandoned();
  }
};

}  // namespace syn::detail
