#pragma once
// How deep a queue is now and was at most (metrics).
#include <cstddef>

namespace syn::detail {

struct QueueDepth {
  std::size_t depth = 0;
  std::size_t high_water = 0;
};

}  // namespace syn::detail
