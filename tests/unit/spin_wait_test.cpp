// Spinning before sleeping (common/spin_wait.hpp): a waiter spins only while its thread's last
// wait ended soon with what it waited for, and a spin always ends; a call's answer reaches a
// spinning caller, and a dropped call still answers node_down.
#include "common/spin_wait.hpp"
#include "scope/entry_calls.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

using namespace syn;
using namespace syn::detail;
using namespace std::chrono_literals;

TEST_CASE("a spin ends at its window when nothing comes", "[unit][spin]") {
  auto ended = std::async(std::launch::async, [] {
    const auto start = SteadyClock::now();
    SpinWait::maybe_spin(start, TimePoint::max(), [] { return false; });
    return SteadyClock::now() - start >= SpinWait::window();
  });
  // A spin without end would never get here (the test's time limit fails it).
  CHECK(ended.get());
}

TEST_CASE("a spin ends when what it waits for comes", "[unit][spin]") {
  std::atomic<bool> ready{false};
  auto spun = std::async(std::launch::async, [&] {
    SpinWait::maybe_spin(SteadyClock::now(), TimePoint::max(), [&] { return ready.load(); });
    return ready.load();
  });
  ready = true;
  CHECK(spun.get());
}

TEST_CASE("a call's answer ends the caller's spin, and a dropped call answers node_down", "[unit][spin]") {
  auto seen = std::async(std::launch::async, [] {
    std::vector<bool> out;
    // An answer at once: spinning stays on.
    std::promise<Result<void>> answered;
    answered.set_value({});
    auto f1 = answered.get_future();
    out.push_back(get_answer(f1).has_value());
    out.push_back(SpinWait::enabled());
    // A call dropped by a stopped engine (its promise broken): node_down, and spinning off.
    auto f2 = std::promise<Result<void>>().get_future();
    auto dropped = get_answer(f2);
    out.push_back(!dropped && dropped.error() == Errc::node_down);
    out.push_back(SpinWait::enabled());
    // A wait that got its answer, but later than the window: spinning off.
    SpinWait::record(SteadyClock::now() - 2 * SpinWait::window() - 1us, true);
    out.push_back(SpinWait::enabled());
    // One that got it within the window: on again.
    SpinWait::record(SteadyClock::now(), true);
    out.push_back(SpinWait::enabled());
    return out;
  });
  CHECK(seen.get() == std::vector<bool>{true, true, true, false, false, true});
}

TEST_CASE("SYN_SPIN_WAIT_US sets the window: microseconds from 0 (never spin) to the longest", "[unit][spin]") {
  CHECK(SpinWait::window_from(nullptr) == SpinWait::kWindow);  // unset: the default
  CHECK(SpinWait::window_from("0") == 0us);
  CHECK(SpinWait::window_from("50") == 50us);
  CHECK(SpinWait::window_from("100000") == SpinWait::kLongestWindow);
  for (const char* bad : {"", "-1", "100001", "abc", "50us", " 50", "1e3", "99999999999999999999"}) {
    INFO(bad);
    CHECK_FALSE(SpinWait::window_from(bad).has_value());
  }
  // This process's window is one of those.
  CHECK(SpinWait::window() <= SpinWait::kLongestWindow);
}
