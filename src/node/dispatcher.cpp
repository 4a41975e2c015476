#include "node/dispatcher.hpp"

#include <algorithm>

#include "common/log.hpp"

#include <exception>

namespace syn::detail {

Dispatcher::Dispatcher(std::string node_name) : node_name_(std::move(node_name)) {}

Dispatcher::~Dispatcher() { stop(); }

void Dispatcher::start() {
  thread_ = std::thread([this] { run(); });
  thread_id_.store(thread_.get_id(), std::memory_order_release);
}

void Dispatcher::stop() {
  {
    MutexLock lock(mutex_);
    if (stopping_) {
      if (!thread_.joinable() || on_dispatcher_thread()) return;
    }
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable() && !on_dispatcher_thread()) thread_.join();
}

QueueDepth Dispatcher::depth() {
  MutexLock lock(mutex_);
  return {queue_.size(), high_water_};
}

std::uint64_t Dispatcher::post(UniqueFunction fn) {
  std::uint64_t seq;
  {
    MutexLock lock(mutex_);
    if (stopping_) return posted_.load(std::memory_order_relaxed);
    queue_.push_back(std::move(fn));
    high_water_ = std::max(high_water_, queue_.size());
    seq = posted_.fetch_add(1, std::memory_order_acq_rel) + 1;
  }
  wake_.notify_one();
  return seq;
}

void Dispatcher::wait_for(std::uint64_t seq) {
  if (seq == 0 || on_dispatcher_thread()) return;
  MutexLock lock(mutex_);
  lock.wait(done_, [&] {
    mutex_.assert_held();  // the analysis cannot see that a wait's predicate runs locked
    return executed_ >= seq || stopped_;
  });
}

void Dispatcher::run() {
  thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
  MutexLock lock(mutex_);
  for (;;) {
    lock.wait(wake_, [&] {
      mutex_.assert_held();
      return !queue_.empty() || stopping_;
    });
    if (queue_.empty()) break;  // stopping, and everything queued has run
    UniqueFunction fn = std::move(queue_.front());
    queue_.pop_front();
    lock.unlock();
    try {
      fn();
    } catch (const std::exception& e) { SYN_LOG(error, node_name_, "a callback threw: ", e.what()); } catch (...) {
      SYN_LOG(error, node_name_, "a callback threw a non-standard exception");
    }
    lock.lock();
    ++executed_;
    done_.notify_all();
  }
  stopped_ = true;
  done_.notify_all();
}

}  // namespace syn::detail
