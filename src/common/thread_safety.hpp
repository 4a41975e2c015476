#pragma once
// Locks that Clang's thread-safety analysis understands (-Wthread-safety; scripts/check-threads
// builds the library with it as an error), with Abseil's annotation macros:
//
//   Mutex mutex_;
//   std::vector<int> items_ SYN_GUARDED_BY(mutex_);
//   void add(int x) { MutexLock lock(mutex_); items_.push_back(x); }   // checked: lock held
//   void drop() SYN_REQUIRES(mutex_);                                   // callers must hold it
//
// libstdc++'s std::mutex carries no annotations, so the analysis cannot see it; these wrappers
// are std::mutex / std::shared_mutex with the annotations added, and nothing else. GCC ignores
// the attributes.
#include <absl/base/thread_annotations.h>

#include <atomic>
#include <cassert>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <shared_mutex>
#include <thread>

#define SYN_GUARDED_BY(x) ABSL_GUARDED_BY(x)
#define SYN_PT_GUARDED_BY(x) ABSL_PT_GUARDED_BY(x)
#define SYN_REQUIRES(...) ABSL_EXCLUSIVE_LOCKS_REQUIRED(__VA_ARGS__)
#define SYN_REQUIRES_SHARED(...) ABSL_SHARED_LOCKS_REQUIRED(__VA_ARGS__)
#define SYN_EXCLUDES(...) ABSL_LOCKS_EXCLUDED(__VA_ARGS__)
#define SYN_ACQUIRED_AFTER(...) ABSL_ACQUIRED_AFTER(__VA_ARGS__)
#define SYN_SCOPED_CAPABILITY ABSL_SCOPED_LOCKABLE
#define SYN_ACQUIRE(...) ABSL_EXCLUSIVE_LOCK_FUNCTION(__VA_ARGS__)
#define SYN_ACQUIRE_SHARED(...) ABSL_SHARED_LOCK_FUNCTION(__VA_ARGS__)
#define SYN_RELEASE(...) ABSL_UNLOCK_FUNCTION(__VA_ARGS__)
#define SYN_ASSERT_CAPABILITY(x) ABSL_ASSERT_EXCLUSIVE_LOCK(x)
#define SYN_NO_THREAD_SAFETY_ANALYSIS ABSL_NO_THREAD_SAFETY_ANALYSIS

namespace syn::detail {

/// std::mutex, visible to the analysis.
class ABSL_LOCKABLE Mutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { mutex_.lock(); }
  void unlock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  bool try_lock() ABSL_EXCLUSIVE_TRYLOCK_FUNCTION(true) { return mutex_.try_lock(); }
  /// Tells the analysis the lock is held where it cannot see it (a condition variable's wait
  /// returns with it held).
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK() {}

 private:
  friend class MutexLock;
  std::mutex mutex_;
};

/// std::shared_mutex, visible to the analysis. Debug builds remember the exclusive holder, so
/// that assert_held() can check what it tells the analysis.
class ABSL_LOCKABLE SharedMutex {
 public:
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() {
    mutex_.lock();
#ifndef NDEBUG
    writer_.store(std::this_thread::get_id(), std::memory_order_relaxed);
#endif
  }
  void unlock() ABSL_UNLOCK_FUNCTION() {
#ifndef NDEBUG
    writer_.store(std::thread::id{}, std::memory_order_relaxed);
#endif
    mutex_.unlock();
  }
  void lock_shared() ABSL_SHARED_LOCK_FUNCTION() { mutex_.lock_shared(); }
  void unlock_shared() ABSL_UNLOCK_FUNCTION() { mutex_.unlock_shared(); }
  /// Tells the analysis this thread holds the lock exclusively where it cannot see it (a lock
  /// moved into an object); debug builds assert that it does.
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK() {
#ifndef NDEBUG
    assert(writer_.load(std::memory_order_relaxed) == std::this_thread::get_id() && "lock not held");
#endif
  }
  /// Tells the analysis the lock is held shared where it cannot see it (many locks held in a
  /// container). Not checked at run time: shared holders are not recorded.
  void assert_held_shared() const ABSL_ASSERT_SHARED_LOCK() {}

 private:
  std::shared_mutex mutex_;
#ifndef NDEBUG
  std::atomic<std::thread::id> writer_{};
#endif
};

/// Holds a Mutex for its scope (std::lock_guard). wait() waits on a condition variable with it.
class ABSL_SCOPED_LOCKABLE MutexLock {
 public:
  explicit MutexLock(Mutex& mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : lock_(mutex.mutex_) {}
  ~MutexLock() ABSL_UNLOCK_FUNCTION() {}
  MutexLock(const MutexLock&) = delete;
  MutexLock& operator=(const MutexLock&) = delete;

  /// Releases the mutex before the scope ends (to call out without it).
  void unlock() ABSL_UNLOCK_FUNCTION() { lock_.unlock(); }
  /// Takes it again after unlock().
  void lock() ABSL_EXCLUSIVE_LOCK_FUNCTION() { lock_.lock(); }

  /// The lock is released while waiting and held again when this returns.
  template <class Predicate>
  void wait(std::condition_variable& cv, Predicate ready) {
    cv.wait(lock_, ready);
  }
  /// The same with a timeout; false when it passed and `ready` is still false.
  template <class Rep, class Period, class Predicate>
  bool wait_for(std::condition_variable& cv, const std::chrono::duration<Rep, Period>& timeout, Predicate ready) {
    return cv.wait_for(lock_, timeout, ready);
  }
  /// The same with a deadline; false when it passed and `ready` is still false.
  template <class Clock, class Duration, class Predicate>
  bool wait_until(std::condition_variable& cv, const std::chrono::time_point<Clock, Duration>& deadline,
                  Predicate ready) {
    return cv.wait_until(lock_, deadline, ready);
  }

 private:
  std::unique_lock<std::mutex> lock_;
};

/// Holds a SharedMutex exclusively for its scope.
class ABSL_SCOPED_LOCKABLE WriterLock {
 public:
  explicit WriterLock(SharedMutex& mutex) ABSL_EXCLUSIVE_LOCK_FUNCTION(mutex) : mutex_(mutex) { mutex_.lock(); }
  ~WriterLock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock(); }
  WriterLock(const WriterLock&) = delete;
  WriterLock& operator=(const WriterLock&) = delete;

 private:
  SharedMutex& mutex_;
};

/// Holds a SharedMutex shared for its scope.
class ABSL_SCOPED_LOCKABLE ReaderLock {
 public:
  explicit ReaderLock(SharedMutex& mutex) ABSL_SHARED_LOCK_FUNCTION(mutex) : mutex_(mutex) { mutex_.lock_shared(); }
  ~ReaderLock() ABSL_UNLOCK_FUNCTION() { mutex_.unlock_shared(); }
  ReaderLock(const ReaderLock&) = delete;
  ReaderLock& operator=(const ReaderLock&) = delete;

 private:
  SharedMutex& mutex_;
};

/// One thread's role as a capability, for data only that thread touches: such data is
/// SYN_GUARDED_BY(role), and every function that touches it starts with role.assert_held(),
/// which asserts (debug builds) that it runs on that thread and tells the analysis the role is
/// held from there on. A function called only from such functions says SYN_REQUIRES(role).
class ABSL_LOCKABLE ThreadRole {
 public:
  /// Makes the calling thread the one (the thread calls it first thing).
  void bind_to_current_thread() { id_.store(std::this_thread::get_id(), std::memory_order_release); }
  /// True on the thread bound last.
  bool is_current() const { return id_.load(std::memory_order_acquire) == std::this_thread::get_id(); }
  void assert_held() const ABSL_ASSERT_EXCLUSIVE_LOCK() { assert(is_current() && "called off its thread"); }

  /// Lends the role to the calling thread for its scope, then gives it back to the thread that
  /// held it. For a thread that stands in while the owner provably touches nothing (the engine
  /// waiting in poll, say): the owner's own checks fail while the role is lent.
  class ABSL_SCOPED_LOCKABLE Loan {
   public:
    explicit Loan(ThreadRole& role) ABSL_EXCLUSIVE_LOCK_FUNCTION(role)
        : role_(role), owner_(role.id_.load(std::memory_order_acquire)) {
      role_.bind_to_current_thread();
    }
    ~Loan() ABSL_UNLOCK_FUNCTION() { role_.id_.store(owner_, std::memory_order_release); }
    Loan(const Loan&) = delete;
    Loan& operator=(const Loan&) = delete;

   private:
    ThreadRole& role_;
    std::thread::id owner_;
  };

 private:
  std::atomic<std::thread::id> id_{};
};

}  // namespace syn::detail
