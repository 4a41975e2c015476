#pragma once
// Random identifiers (sessions, incarnations) that never repeat in practice.
#include <cstdint>
#include <random>

namespace syn::detail {

/// A uniformly random 64-bit number (never 0).
inline std::uint64_t random_u64() {
  thread_local std::mt19937_64 engine{(static_cast<std::uint64_t>(std::random_device{}()) << 32) ^
                                      std::random_device{}()};
  std::uint64_t v;
  do { v = engine(); } while (v == 0);
  return v;
}

}  // namespace syn::detail
