#pragma once
// Fences for the lock-free lookup path, and whether ThreadSanitizer is on. TSan cannot tell a
// read validated by a seqlock from a race, and GCC rejects fences under it (-Wtsan), so TSan
// builds read tables under their locks (SYN_LOCK_FREE_LOOKUPS 0) and the fences, which only
// pair with lock-free readers, become no-ops there.
#include <atomic>

#if defined(__SANITIZE_THREAD__)
#define SYN_THREAD_SANITIZER 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SYN_THREAD_SANITIZER 1
#endif
#endif
#ifndef SYN_THREAD_SANITIZER
#define SYN_THREAD_SANITIZER 0
#endif

#define SYN_LOCK_FREE_LOOKUPS (!SYN_THREAD_SANITIZER)

namespace syn::detail {

/// std::atomic_thread_fence, a no-op under ThreadSanitizer.
inline void thread_fence(std::memory_order order) {
#if SYN_THREAD_SANITIZER
  (void)order;
#else
  std::atomic_thread_fence(order);
#endif
}

}  // namespace syn::detail
