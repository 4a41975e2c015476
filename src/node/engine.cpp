#include "node/engine.hpp"

#include <algorithm>

#include "common/log.hpp"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <exception>

namespace syn::detail {

Engine::Engine(std::string node_name) : node_name_(std::move(node_name)) {
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

Engine::~Engine() {
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
}

void Engine::start(transport::Transport& transport) {
  transport_ = &transport;
  running_.store(true, std::memory_order_release);
  thread_ = std::thread([this] { run(); });
}

void Engine::stop(UniqueFunction last_words) {
  if (!thread_.joinable()) return;
  {
    MutexLock lock(mutex_);
    last_words_ = std::move(last_words);
  }
  stop_requested_.store(true, std::memory_order_release);
  wake();
  if (on_engine_thread()) return;  // cannot join ourselves; the loop ends after this turn
  thread_.join();
}

bool Engine::push_locked(Work work) {
  if (!accepting_) return false;
  queue_.push_back(std::move(work));
  high_water_ = std::max(high_water_, queue_.size());
  if (signalled_) return false;
  signalled_ = true;
  return true;
}

void Engine::wake() {
  std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Engine::enqueue(Work work) {
  bool must_wake;
  {
    MutexLock lock(mutex_);
    must_wake = push_locked(std::move(work));
  }
  if (must_wake) wake();
}

void Engine::send_bytes(std::uint32_t peer_atom, std::string bytes) {
  bool must_wake;
  {
    MutexLock lock(mutex_);
    if (idle_ && !lent_ && queue_.empty() && accepting_) {
      // The engine thread is in poll and takes mutex_ before it touches a socket again: for
      // this send, the transport is ours (the role moves here so that its checks agree).
      ThreadRole::Loan loan(role_);
      if (transport_->send_now(peer_atom, bytes)) {
        // One frame per wait: a sender that goes on (a flood) queues behind it and wakes the
        // engine, which batches; a frame per message would fill the socket's queue.
        idle_ = false;
        return;
      }
      // Not up, a frame still batched, or the socket would block: the engine decides.
    }
    must_wake = push_locked(Work{{}, Outbound{peer_atom, std::move(bytes)}});
  }
  if (must_wake) wake();
}

bool Engine::run_if_idle(FunctionRef<void()> fn) {
  if (role_.is_current()) return false;  // the engine thread itself: posting keeps the order
  {
    MutexLock lock(mutex_);
    if (!idle_ || lent_ || !queue_.empty() || !accepting_) return false;
    // The engine stays idle afterwards: on a confirmed broadcast's path the publisher's own
    // member reports right after the publisher drained. A caller that streams must see to its
    // batches itself (the multicast outbox stands in only when quiet).
    lent_ = true;
  }
  bool must_wake = true;  // if sending fails below, the engine looks for itself
  {
    ThreadRole::Loan loan(role_);
    const TimePoint due = next_timer();
    transport_->set_lent(true);
    try {
      fn();
    } catch (const std::exception& e) { SYN_LOG(error, node_name_, "engine task failed: ", e.what()); } catch (...) {
      SYN_LOG(error, node_name_, "engine task failed");
    }
    try {
      // A frame that would block stays batched: the engine sends it, or sees why it cannot. A
      // timer set sooner than the engine's poll ends needs the engine to wake and wait again.
      must_wake = !transport_->flush_ready() || next_timer() < due;
    } catch (const std::exception& e) { SYN_LOG(error, node_name_, "send failed: ", e.what()); }
    transport_->set_lent(false);
  }
  // Under the lock: once lent_ is false the engine goes on, and may stop and close wake_fd_.
  MutexLock lock(mutex_);
  if (must_wake) wake();
  lent_ = false;
  lent_done_.notify_all();
  return true;
}

void Engine::flush_ready() {
  role_.assert_held();
  (void)transport_->flush_ready();
}

TimePoint Engine::next_timer() const { return timers_.empty() ? TimePoint::max() : timers_.top().at; }

void Engine::set_idle(bool idle) {
  MutexLock lock(mutex_);
  idle_ = idle;  // first: no other stand-in starts, however many threads would
  if (!idle) {
    lock.wait(lent_done_, [this] {
      mutex_.assert_held();
      return !lent_;
    });
  }
}

QueueDepth Engine::depth() {
  MutexLock lock(mutex_);
  return {queue_.size(), high_water_};
}

void Engine::post(UniqueFunction fn) { enqueue(Work{std::move(fn), {}}); }

void Engine::post_bytes(std::uint32_t peer_atom, std::string bytes) {
  enqueue(Work{{}, Outbound{peer_atom, std::move(bytes)}});
}

void Engine::add_timer(std::chrono::milliseconds delay, UniqueFunction fn) {
  role_.assert_held();
  timers_.push(Timer{SteadyClock::now() + delay, ++timer_seq_, std::move(fn)});
}

void Engine::run_queued(bool all) {
  std::uint64_t drained;
  (void)!::read(wake_fd_, &drained, sizeof drained);
  // A turn runs queued work for kTurnBudget at most (a flood of tasks, say), then leaves the
  // rest for the next turns, so that heartbeats, timers and sockets get their turn. The rest
  // is older than whatever is queued meanwhile, so it runs first.
  // (The clock is read every kTasksPerClockRead tasks: a task can be a 100 ns append.)
  auto ends = SteadyClock::now() + kTurnBudget;
  std::size_t since_clock_read = 0;
  for (;;) {
    if (next_ == taken_.size()) {
      taken_.clear();
      next_ = 0;
      MutexLock lock(mutex_);
      taken_.swap(queue_);
      signalled_ = false;
      if (taken_.empty()) return;
    }
    while (next_ < taken_.size()) {
      Work& item = taken_[next_++];
      try {
        if (item.fn) {
          item.fn();
        } else if (auto* out = transport_->out(item.outbound.atom)) {
          out->append(item.outbound.bytes);
        }
      } catch (const std::exception& e) { SYN_LOG(error, node_name_, "engine task failed: ", e.what()); }
      item = Work{};  // free what it held now, not when the batch is done
      if (!all && ++since_clock_read == kTasksPerClockRead) {
        since_clock_read = 0;
        if (SteadyClock::now() >= ends) return;
      }
    }
    if (!all) return;
  }
}

bool Engine::has_backlog() const { return next_ < taken_.size(); }

void Engine::run_timers(TimePoint now) {
  while (!timers_.empty() && timers_.top().at <= now) {
    UniqueFunction fn = std::move(timers_.top().fn);
    timers_.pop();
    try {
      fn();
    } catch (const std::exception& e) { SYN_LOG(error, node_name_, "engine timer failed: ", e.what()); }
  }
}

std::chrono::milliseconds Engine::poll_timeout(TimePoint now) const {
  if (has_backlog()) return std::chrono::milliseconds(0);
  TimePoint wake_at = next_tick_;
  if (!timers_.empty() && timers_.top().at < wake_at) wake_at = timers_.top().at;
  if (wake_at <= now) return std::chrono::milliseconds(0);
  return std::chrono::duration_cast<std::chrono::milliseconds>(wake_at - now) + std::chrono::milliseconds(1);
}

void Engine::run() {
  role_.bind_to_current_thread();
  role_.assert_held();
  std::vector<zmq::pollitem_t> items;
  next_tick_ = SteadyClock::now();
  while (!stop_requested_.load(std::memory_order_acquire)) {
    items.clear();
    items.push_back({nullptr, wake_fd_, ZMQ_POLLIN, 0});
    transport_->fill_poll_items(items);
    auto timeout = poll_timeout(SteadyClock::now());
    set_idle(!has_backlog());
    try {
      zmq::poll(items.data(), items.size(), timeout);
    } catch (const zmq::error_t& e) {
      if (e.num() != EINTR) SYN_LOG(error, node_name_, "poll failed: ", e.what());
    }
    set_idle(false);
    run_queued();
    try {
      transport_->handle_poll(items, 1);
    } catch (const std::exception& e) { SYN_LOG(error, node_name_, "transport failed: ", e.what()); }
    auto now = SteadyClock::now();
    run_timers(now);
    try {
      if (now >= next_tick_) {
        next_tick_ = now + transport_->tick_interval();
        transport_->tick(now);
      }
      transport_->flush();
    } catch (const std::exception& e) {
      // A ZeroMQ failure (out of file descriptors, say) must not end the node: log, go on.
      SYN_LOG(error, node_name_, "transport tick failed: ", e.what());
    }
  }
  // Last turn: what was queued before stop still goes out, then the goodbye.
  {
    MutexLock lock(mutex_);
    accepting_ = false;
  }
  run_queued(true);
  transport_->flush();
  UniqueFunction last;
  {
    MutexLock lock(mutex_);
    last = std::move(last_words_);
  }
  if (last) last();
  transport_->flush();
  while (!timers_.empty()) timers_.pop();
  running_.store(false, std::memory_order_release);
}

}  // namespace syn::detail
