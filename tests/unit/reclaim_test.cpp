// Deferred reclamation: a retired block outlives every reader that was inside a section.
#include "tables/reclaim.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

namespace reclaim = syn::detail::reclaim;

namespace {

std::atomic<int> g_freed{0};
void count_free(void*) { g_freed.fetch_add(1); }

// Collections may need a second pass (a reader descheduled inside); bounded.
bool freed_within(int expected, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    reclaim::collect_now();
    if (g_freed.load() == expected) return true;
    std::this_thread::yield();
  }
  return false;
}

}  // namespace

TEST_CASE("a retired block with no reader inside is freed at the next collection", "[unit][reclaim]") {
  g_freed = 0;
  int block = 0;
  reclaim::retire(&block, count_free);
  CHECK(freed_within(1, std::chrono::seconds(10)));
}

TEST_CASE("a retired block is kept while a reader that was inside has not left", "[unit][reclaim]") {
  g_freed = 0;
  std::atomic<bool> inside{false}, leave{false};
  std::thread reader([&] {
    reclaim::ReadSection section;
    inside = true;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (!leave && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!inside && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  REQUIRE(inside);
  int block = 0;
  reclaim::retire(&block, count_free);
  for (int i = 0; i < 5; ++i) reclaim::collect_now();
  CHECK(g_freed.load() == 0);  // the reader may still hold it
  leave = true;
  reader.join();
  CHECK(freed_within(1, std::chrono::seconds(10)));
}
