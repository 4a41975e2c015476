// The dispatcher (src/node/dispatcher.hpp): the node's callback thread. Callbacks run one at a
// time in the order posted; wait_for(seq) returns once callback seq ran, at once on the
// dispatcher thread itself (a callback that calls the API must not wait for itself); a
// callback that throws does not stop the ones after it; stop runs what is queued, then later
// posts are dropped.
#include "node/dispatcher.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <limits>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

using syn::detail::Dispatcher;

TEST_CASE("dispatcher: callbacks run in the order posted, one at a time", "[unit][dispatcher]") {
  Dispatcher d("disp-order");
  d.start();
  std::vector<int> ran;  // only the dispatcher thread touches it until wait_for returns
  std::atomic<int> running{0};
  std::atomic<bool> overlapped{false};
  std::uint64_t last = 0;
  // Two posting threads: each one's callbacks keep their order; none overlaps another.
  std::mutex order_mutex;
  std::vector<int> posted;
  auto poster = [&](int base) {
    for (int i = 0; i < 500; ++i) {
      std::lock_guard lock(order_mutex);  // posted order == queue order
      int value = base + i;
      posted.push_back(value);
      last = d.post([&, value] {
        if (running.fetch_add(1) != 0) overlapped = true;
        ran.push_back(value);
        running.fetch_sub(1);
      });
    }
  };
  std::thread a(poster, 0), b(poster, 10'000);
  a.join();
  b.join();
  d.wait_for(last);
  CHECK_FALSE(overlapped);
  CHECK(ran == posted);
  d.stop();
}

TEST_CASE("dispatcher: wait_for returns once that callback ran, and at once on its own thread", "[unit][dispatcher]") {
  Dispatcher d("disp-wait");
  d.start();
  std::atomic<bool> first_done{false};
  std::atomic<bool> inner_returned{false};
  std::uint64_t first = d.post([&] {
    std::this_thread::yield();
    first_done = true;
  });
  d.wait_for(first);
  CHECK(first_done);
  // A callback that waits for a later callback (as an API call made from a hook does) must not
  // deadlock: on the dispatcher thread wait_for returns at once.
  std::uint64_t outer = d.post([&] {
    d.wait_for(std::numeric_limits<std::uint64_t>::max());  // a callback never posted
    inner_returned = true;
  });
  std::uint64_t later = d.post([] {});
  d.wait_for(later);
  CHECK(inner_returned);
  CHECK(outer < later);
  d.stop();
}

TEST_CASE("dispatcher: a throwing callback does not stop the next", "[unit][dispatcher]") {
  Dispatcher d("disp-throw");
  d.start();
  std::atomic<int> after{0};
  d.post([] { throw std::runtime_error("a hook failed"); });
  d.post([] { throw 42; });
  auto seq = d.post([&] { ++after; });
  d.wait_for(seq);
  CHECK(after == 1);
  d.stop();
}

TEST_CASE("dispatcher: stop runs what is queued, then drops later posts", "[unit][dispatcher]") {
  Dispatcher d("disp-stop");
  d.start();
  std::atomic<int> ran{0};
  for (int i = 0; i < 100; ++i) d.post([&] { ++ran; });
  d.stop();
  CHECK(ran == 100);
  d.post([&] { ++ran; });
  d.wait_for(d.last_posted());  // returns: the dispatcher stopped
  CHECK(ran == 100);
}
