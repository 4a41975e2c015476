#pragma once
// The state of one local process: its mailbox, whether it lives, why it died, and what must
// be told when it dies (its attachments: the names and groups it holds in each scope).
#include "common/thread_safety.hpp"
#include "node/mailbox.hpp"

#include <syn/message.hpp>
#include <syn/pid.hpp>
#include <syn/term.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace syn::detail {

class ScopeHost;

/// Told when a local process it attached to dies. Implemented by the scope handlers.
class ExitObserver {
 public:
  virtual ~ExitObserver() = default;
  /// `keys`: every key this observer attached to the process (names, groups), in order.
  virtual void on_process_exit(const Pid& pid, const Term& reason, std::vector<std::string> keys) = 0;
};

/// One thing a process holds in a scope handler.
struct Attachment {
  ExitObserver* observer;
  std::string key;
};

/// Tells each observer of a dead process, once, every key it attached (in order).
void notify_exit_observers(const Pid& pid, const Term& reason, std::vector<Attachment> attachments);

class ProcessControl : public std::enable_shared_from_this<ProcessControl> {
 public:
  ProcessControl(Pid pid, std::weak_ptr<ScopeHost> node) : pid_(pid), node_(std::move(node)) {}

  const Pid& pid() const { return pid_; }
  bool alive() const { return alive_.load(std::memory_order_acquire); }
  std::optional<Term> exit_reason() const;

  // ---- mailbox ----
  /// Appends a message; false when the process is dead (the message is dropped).
  bool deliver(Message message);
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  std::optional<Message> try_receive();
  std::size_t pending() const;
  /// Drops the waiting events of mailbox subscription `subscription` (Subscription::cancel).
  std::size_t drop_subscription_events(std::uint64_t subscription);
  /// How many threads wait in receive() now (tests: a wake reaches every waiter).
  int receivers_waiting() const;
  /// (messages waiting, the most that ever waited at once), for metrics.
  std::pair<std::size_t, std::size_t> mailbox_depth() const;

  // ---- death ----
  /// Kills the process: marks it dead, wakes its receiver, then tells the node (which tells
  /// the observers and monitors). False when it was already dead. Never call while holding a
  /// scope table lock: observers take those locks.
  bool kill(const Term& reason);
  /// Marks the process dead without telling anyone (the node is shutting down).
  void kill_silently(const Term& reason);

  // ---- attachments: the monitor of this process, shared by every scope handler ----
  /// Attaches a key if the process is alive; false when dead (the caller answers not_alive).
  /// Atomic with death: a key attached here is always reported by on_process_exit.
  bool attach(ExitObserver* observer, std::string key);
  /// Detaches one key (no-op when absent).
  void detach(ExitObserver* observer, std::string_view key);

 private:
  bool mark_dead(const Term& reason, std::vector<Attachment>* taken);
  /// The oldest message of `taken_`, when there is one and the process lives.
  std::optional<Message> take_one() SYN_EXCLUDES(taken_mutex_);
  /// The oldest message waiting, moving all of `mailbox_` to `taken_` when `taken_` is empty.
  std::optional<Message> take_all_and_one() SYN_REQUIRES(mutex_) SYN_EXCLUDES(taken_mutex_);

  const Pid pid_;
  const std::weak_ptr<ScopeHost> node_;
  std::atomic<bool> alive_{true};
  mutable Mutex mutex_;
  std::condition_variable ready_;
  /// Where deliveries go. A receiver moves all of it to `taken_` at once and takes from there:
  /// a stream's receiver locks the delivering side once per batch, not once per message.
  Mailbox mailbox_ SYN_GUARDED_BY(mutex_);
  /// Messages moved out of `mailbox_` by a receiver, all older than those left there. Locked
  /// after `mutex_` when both are held; never held while waiting.
  mutable Mutex taken_mutex_ SYN_ACQUIRED_AFTER(mutex_);
  Mailbox taken_ SYN_GUARDED_BY(taken_mutex_);
  /// taken_.size(), readable under `mutex_` alone (a receiver's wait checks it).
  std::atomic<std::size_t> taken_count_{0};
  std::optional<Term> exit_reason_ SYN_GUARDED_BY(mutex_);
  std::vector<Attachment> attachments_ SYN_GUARDED_BY(mutex_);
  /// Threads waiting in receive(): a delivery wakes only when there is one.
  int receivers_waiting_ SYN_GUARDED_BY(mutex_) = 0;
};

}  // namespace syn::detail
