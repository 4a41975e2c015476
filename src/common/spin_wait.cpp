#include "common/spin_wait.hpp"

#include "common/log.hpp"

#include <charconv>
#include <cstdlib>
#include <cstring>

namespace syn::detail {

std::optional<std::chrono::microseconds> SpinWait::window_from(const char* text) {
  if (text == nullptr) return kWindow;
  const char* end = text + std::strlen(text);
  long long us = -1;
  auto [rest, error] = std::from_chars(text, end, us);
  if (error != std::errc() || rest != end || text == end || us < 0 || us > kLongestWindow.count()) {
    return std::nullopt;
  }
  return std::chrono::microseconds(us);
}

std::chrono::microseconds SpinWait::window() {
  static const std::chrono::microseconds chosen = [] {
    const char* text = std::getenv("SYN_SPIN_WAIT_US");
    if (auto w = window_from(text)) return *w;
    SYN_LOG(warn, "", "SYN_SPIN_WAIT_US='", text, "' is not a number of microseconds from 0 to ",
            kLongestWindow.count(), ": waiters spin up to ", kWindow.count(), " us");
    return kWindow;
  }();
  return chosen;
}

}  // namespace syn::detail
