#pragma once
// The state of one local process: its mailbox, whether it lives, why it died, and what must
// be told when it dies (its attachments: the names and groups it holds in each scope).
#include "common/clock.hpp"
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

class ProcessControl {
 public:
  ProcessControl(Pid pid, std::weak_ptr<ScopeHost> node) : pid_(pid), node_(std::move(node)) {}
  ~ProcessControl();
  ProcessControl(const ProcessControl&) = delete;
  ProcessControl& operator=(const ProcessControl&) = delete;

  const Pid& pid() const { return pid_; }
  bool alive() const { return alive_.load(std::memory_order_acquire); }
  std::optional<Term> exit_reason() const;

  // ---- mailbox ----
  /// Appends a message; false when the process is dead (the message is dropped).
  bool deliver(Message message) { return deliver(std::move(message), nullptr); }
  /// The same, from the engine thread applying a frame: `owner` (this process's own pointer)
  /// lets the frame's WakeBatch keep it until the receiver's wake, which waits for the end of
  /// the frame.
  bool deliver(Message message, const std::shared_ptr<ProcessControl>& owner) {
    return deliver(std::move(message), &owner);
  }
  std::optional<Message> receive(std::chrono::milliseconds timeout);
  std::optional<Message> try_receive();
  std::size_t pending() const;
  /// Drops the waiting events of mailbox subscription `subscription` (Subscription::cancel).
  std::size_t drop_subscription_events(std::uint64_t subscription);
  /// How many threads wait in receive() now (tests: a wake reaches every waiter).
  std::size_t receivers_waiting() const;
  /// (messages waiting, the most that ever waited at once), for metrics.
  std::pair<std::size_t, std::size_t> mailbox_depth() const;

  // ---- death ----
  /// Kills the process: marks it dead, wakes its receiver, then tells the node (which tells
  /// the observers and monitors). False when it was already dead. Never call while holding a
  /// scope table lock: observers take those locks.
  bool kill(const Term& reason);
  /// Throws Error{bad_argument} naming `what` when `term` is larger than the node's
  /// max_term_bytes (SPEC 7). A process whose node is gone checks nothing: it goes nowhere.
  void require_fits(const Term& term, const char* what) const;
  /// Marks the process dead without telling anyone (the node is shutting down).
  void kill_silently(const Term& reason);

  // ---- attachments: the monitor of this process, shared by every scope handler ----
  /// Attaches a key if the process is alive; false when dead (the caller answers not_alive).
  /// Atomic with death: a key attached here is always reported by on_process_exit.
  bool attach(ExitObserver* observer, std::string key);
  /// Detaches one key (no-op when absent).
  void detach(ExitObserver* observer, std::string_view key);

  /// A receiver moves the waiting messages to the taken part when at least this many wait
  /// (fewer are taken one by one under the delivering side's lock). Public for the tests.
  static constexpr std::size_t kMoveAsideAtLeast = 8;

 private:
  bool deliver(Message message, const std::shared_ptr<ProcessControl>* owner);
  bool mark_dead(const Term& reason, std::vector<Attachment>* taken);
  /// The taken part: messages moved out of `mailbox_` by a receiver, all older than those left
  /// there. Its lock is taken after `mutex_` when both are held, and never held while waiting.
  struct Taken {
    Mutex mutex;
    Mailbox messages SYN_GUARDED_BY(mutex);
  };
  void set_taken_count(const Taken& t) SYN_REQUIRES(t.mutex);
  /// The oldest message of the taken part, when there is one and the process lives.
  std::optional<Message> take_one();
  /// The oldest message waiting: a lone message straight from `mailbox_`, otherwise from the
  /// taken part, moving all of `mailbox_` there first when it is empty.
  std::optional<Message> take_oldest() SYN_REQUIRES(mutex_);
  /// receive() once nothing was taken without the lock: spins first when the thread's last
  /// waits were short (SpinWait), then waits on `ready_` until a message or `deadline`.
  /// `alone`: set when the message returned left nothing else waiting.
  std::optional<Message> wait_for_message(TimePoint start, TimePoint deadline, bool& alone) SYN_EXCLUDES(mutex_);

  const Pid pid_;
  const std::weak_ptr<ScopeHost> node_;
  // alive_, deliveries_, receivers_waiting_ and taken_count_ fill the 8 bytes before the mutex.
  std::atomic<bool> alive_{true};
  /// Counts deliveries (wrapping), under `mutex_`: a receiver spinning without the lock watches
  /// it change. A wrap of exactly 256 between two looks only ends the spin at its window.
  std::atomic<std::uint8_t> deliveries_{0};
  /// Threads waiting in receive(): a delivery wakes only when there is one.
  std::uint16_t receivers_waiting_ SYN_GUARDED_BY(mutex_) = 0;
  /// The taken part's size (see Taken), here so that a delivery or an empty try_receive need
  /// not touch the taken part. It grows only under `mutex_`, so a reader holding `mutex_` that
  /// sees 0 knows the part is empty. (Four billion messages waiting would not fit in memory.)
  std::atomic<std::uint32_t> taken_count_{0};
  mutable Mutex mutex_;
  std::condition_variable ready_;
  /// Where deliveries go. A receiver that finds kMoveAsideAtLeast or more moves them all to
  /// the taken part at once and takes from there: a stream's receiver locks the delivering side
  /// once per batch, not once per message.
  Mailbox mailbox_ SYN_GUARDED_BY(mutex_);
  /// Made by the first batch a receiver moves, set once under `mutex_`, freed with the
  /// process: a process that never has a batch waiting pays a pointer, not a mutex and a
  /// buffer (a node may run a million processes).
  std::atomic<Taken*> taken_{nullptr};
  std::optional<Term> exit_reason_ SYN_GUARDED_BY(mutex_);
  std::vector<Attachment> attachments_ SYN_GUARDED_BY(mutex_);
};

}  // namespace syn::detail
