#pragma once
// Eventual checks: poll a condition with a deadline instead of sleeping.
#include <chrono>
#include <thread>

namespace syn::test {

/// Polls `condition` every `step` until it holds (true) or `timeout` passes (false).
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(step);
  }
}

/// Holds `condition` true for the whole `period` (checks that something does NOT happen);
/// false as soon as it fails.
template <class Condition>
bool stays(Condition&& condition, std::chrono::milliseconds period = std::chrono::milliseconds(300),
           std::chrono::milliseconds step = std::chrono::milliseconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + period;
  for (;;) {
    if (!condition()) return false;
    if (std::chrono::steady_clock::now() >= deadline) return true;
    std::this_thread::sleep_for(step);
  }
}

}  // namespace syn::test
