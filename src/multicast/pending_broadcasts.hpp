#pragma once
// The broadcasts of one group on this node that are not confirmed yet, as the handler keeps
// them: how many bytes each holds of the group's `multicast_max_in_flight` (released when it is
// confirmed or fails), and the promise of a confirmed broadcast. Engine thread only.
//
// Memory (MULTICAST.md: 32 bytes per buffered message): a group's tokens come one after the
// other (GroupNode numbers every broadcast it is handed), so a broadcast costs one 8-byte slot
// in a ring indexed by its token. Only confirmed broadcasts have a promise, kept aside by
// token. A record per broadcast with its promise pointer cost 40 bytes.
#include <syn/result.hpp>

#include <cassert>
#include <cstdint>
#include <deque>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <vector>

namespace syn::detail::multicast {

class PendingBroadcasts final {
 public:
  using Confirmation = std::shared_ptr<std::promise<Result<void>>>;

  /// Broadcast `token` of `bytes`, the token after the last one added (or any, when none is
  /// pending); `confirmation`: null for a plain broadcast.
  void add(std::uint64_t token, std::size_t bytes, Confirmation confirmation) {
    if (slots_.empty()) first_ = token;
    assert(token == first_ + slots_.size() && "tokens of a group come one after the other");
    slots_.push_back(static_cast<std::uint64_t>(bytes));
    if (confirmation) confirmations_.emplace(token, std::move(confirmation));
  }

  /// What a broadcast held, once it is done.
  struct Done {
    std::size_t bytes = 0;
    Confirmation confirmation;  ///< null for a plain broadcast
  };
  /// Broadcast `token` is confirmed (or failed): what it held, which it holds no more. None when
  /// the token is not pending (unknown, or done already). Done ones leave from the front, so a
  /// confirmation out of order waits in its slot for those before it.
  std::optional<Done> finish(std::uint64_t token) {
    if (token < first_ || token - first_ >= slots_.size()) return std::nullopt;
    std::uint64_t& slot = slots_[token - first_];
    if (slot & kDone) return std::nullopt;
    Done done{static_cast<std::size_t>(slot), nullptr};
    slot |= kDone;
    if (auto it = confirmations_.find(token); it != confirmations_.end()) {
      done.confirmation = std::move(it->second);
      confirmations_.erase(it);
    }
    while (!slots_.empty() && (slots_.front() & kDone)) {
      slots_.pop_front();
      ++first_;
    }
    return done;
  }

  /// The promises of the confirmed broadcasts still pending, taken out (the node stops).
  std::vector<Confirmation> take_confirmations() {
    std::vector<Confirmation> out;
    out.reserve(confirmations_.size());
    for (auto& [token, confirmation] : confirmations_) out.push_back(std::move(confirmation));
    confirmations_.clear();
    return out;
  }

  /// Broadcasts pending, done ones waiting behind an older one included.
  std::size_t size() const { return slots_.size(); }
  bool empty() const { return slots_.empty(); }

 private:
  /// Marks a slot done; a byte count never comes near it.
  static constexpr std::uint64_t kDone = std::uint64_t{1} << 63;
  std::uint64_t first_ = 0;          ///< the token of slots_[0]
  std::deque<std::uint64_t> slots_;  ///< per token from first_: its bytes, kDone once finished
  std::map<std::uint64_t, Confirmation> confirmations_;
};

}  // namespace syn::detail::multicast
