#pragma once
// Helpers for the multicast cluster tests: a handler that records its callbacks, and three
// nodes in one multicast subcluster.
#include "cluster/scope_helpers.hpp"

#include <syn/syn.hpp>

#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace syn::test {

/// Records every callback of one member; read it with the accessors (any thread).
class Recorder : public MulticastHandler {
 public:
  void on_joined(const View& view) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("joined v" + std::to_string(view.id.number));
    views_.push_back(view);
  }
  void on_view(const ViewChange& change) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("view v" + std::to_string(change.view.id.number));
    views_.push_back(change.view);
    changes_.push_back(change);
  }
  void on_message(const Pid& from, const Term& message) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("message");
    messages_.emplace_back(from, message);
  }
  void on_left(LeaveReason reason) override {
    std::lock_guard lock(mutex_);
    calls_.push_back("left " + std::string(to_string(reason)));
    left_ = reason;
  }

  std::vector<std::string> calls() const {
    std::lock_guard lock(mutex_);
    return calls_;
  }
  std::vector<std::pair<Pid, Term>> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  /// The messages of one publisher, in the order received.
  std::vector<Term> messages_from(const Pid& from) const {
    std::lock_guard lock(mutex_);
    std::vector<Term> out;
    for (const auto& [pid, m] : messages_) {
      if (pid == from) out.push_back(m);
    }
    return out;
  }
  std::vector<View> views() const {
    std::lock_guard lock(mutex_);
    return views_;
  }
  std::vector<ViewChange> changes() const {
    std::lock_guard lock(mutex_);
    return changes_;
  }
  std::optional<View> last_view() const {
    std::lock_guard lock(mutex_);
    if (views_.empty()) return std::nullopt;
    return views_.back();
  }
  std::optional<LeaveReason> left() const {
    std::lock_guard lock(mutex_);
    return left_;
  }
  /// The members of the last view it saw, sorted.
  std::vector<Pid> members() const {
    auto v = last_view();
    if (!v) return {};
    auto out = v->members;
    std::sort(out.begin(), out.end());
    return out;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::string> calls_;
  std::vector<std::pair<Pid, Term>> messages_;
  std::vector<View> views_;
  std::vector<ViewChange> changes_;
  std::optional<LeaveReason> left_;
};

inline std::vector<Pid> sorted_pids(std::vector<Pid> pids) {
  std::sort(pids.begin(), pids.end());
  return pids;
}

/// Three nodes in scope "s", their multicast subcluster complete before the constructor returns.
struct MulticastNodes {
  Nodes nodes;
  Node* n[3];
  explicit MulticastNodes(const std::string& prefix, bool auto_connect = true) {
    for (int i = 0; i < 3; ++i) n[i] = &nodes.add(prefix + std::to_string(i + 1), {"s"}, auto_connect);
    REQUIRE(wait_scope_mesh({n[0], n[1], n[2]}, Kind::multicast, "s"));
  }
};

}  // namespace syn::test
