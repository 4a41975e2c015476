#pragma once
// Scatter/gather for Groups::multi_call: the caller's pending calls and the members' side.
//
// The caller sends each member a request (local members get it in their mailbox directly)
// and waits at most one timeout for all of them together. Each member's node watches the
// member until it answers, so a member that dies first is reported at once as a bad reply
// instead of at the timeout; a member whose node goes down is reported when the link drops.
#include "common/thread_safety.hpp"
#include "wire/messages.hpp"

#include <syn/groups.hpp>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace syn::detail {

class NodeCore;

class MultiCalls {
 public:
  explicit MultiCalls(NodeCore& node) : node_(node) {}

  /// Calls every member and gathers the answers (any thread; blocks up to `timeout`).
  MultiCallResult call(std::vector<Member> members, const Term& message, std::chrono::milliseconds timeout);

  // ---- engine thread ----
  /// A request from `caller` for one of our processes.
  void on_request(std::uint32_t caller, const wire::MCall& request);
  /// An answer (or a death) from a member on node `from`.
  void on_reply(std::uint32_t from, const wire::MCallReply& reply);
  /// Members on that node will not answer.
  void on_peer_down(std::uint32_t atom);

 private:
  struct Pending;
  /// Puts the request in the member's mailbox and watches the member until it answers;
  /// `answer(died, term)` is called once.
  void deliver(const Pid& member, Term body, Term member_meta, std::function<void(bool, Term)> answer);
  std::shared_ptr<Pending> find(std::uint64_t id);

  NodeCore& node_;
  Mutex mutex_;
  std::uint64_t next_id_ SYN_GUARDED_BY(mutex_) = 0;
  std::unordered_map<std::uint64_t, std::weak_ptr<Pending>> pending_ SYN_GUARDED_BY(mutex_);
};

}  // namespace syn::detail
