// The engine thread (src/node/engine): another thread may run a short task in its place while
// it waits idle in poll (run_if_idle). The task runs on the calling thread in the engine's role,
// the engine waits for it before it goes on, and work posted meanwhile runs after it.
#include "node/engine.hpp"
#include "transport/transport.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

using namespace syn;
using namespace syn::detail;
using namespace std::chrono_literals;

namespace {

class NoListener : public transport::TransportListener {
 public:
  void on_peer_up(std::uint32_t, std::uint32_t) override {}
  void on_peer_down(std::uint32_t, std::uint32_t, transport::DownReason) override {}
  void on_peer_message(std::uint32_t, const msgpack::object&, std::size_t) override {}
};

/// An engine driving a transport with no peers.
struct Running {
  zmq::context_t context;
  NoListener listener;
  transport::Transport transport{context, transport::TransportConfig{"engine-test"}, listener};
  Engine engine{"engine-test"};
  Running() { engine.start(transport); }
  ~Running() { engine.stop(); }
};

/// Tries run_if_idle until the engine is idle and takes it (a freshly started engine may still
/// be in its first turn); false when it never did within the deadline.
template <class F>
bool run_when_idle(Engine& engine, F&& fn) {
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (engine.run_if_idle(fn)) return true;
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

}  // namespace

TEST_CASE("engine: an idle engine lends its role to the calling thread for a task, never to itself", "[unit][engine]") {
  Running r;
  std::thread::id ran_on;
  bool in_role = false;
  REQUIRE(run_when_idle(r.engine, [&] {
    ran_on = std::this_thread::get_id();
    in_role = r.engine.on_engine_thread();
  }));
  CHECK(ran_on == std::this_thread::get_id());
  CHECK(in_role);
  CHECK_FALSE(r.engine.on_engine_thread());  // given back
  // On the engine thread itself the task is refused (the caller posts it, in order).
  CHECK_FALSE(r.engine.call([&] { return r.engine.run_if_idle([] {}); }));
  // The engine still runs its own work afterwards.
  CHECK(r.engine.call([&] { return r.engine.on_engine_thread(); }));
}

TEST_CASE("engine: work posted while another thread stands in waits for it, and no second stand-in starts",
          "[unit][engine]") {
  Running r;
  std::promise<void> started, release;
  auto release_future = release.get_future().share();
  std::atomic<bool> stand_in_done{false};
  std::thread stand_in([&] {
    bool ran = run_when_idle(r.engine, [&] {
      started.set_value();
      release_future.wait_for(5s);
      stand_in_done = true;
    });
    if (!ran) started.set_value();  // the REQUIRE below reports it
  });
  started.get_future().wait();
  std::atomic<int> saw_done{-1};
  r.engine.post([&] { saw_done = stand_in_done ? 1 : 0; });
  bool second = r.engine.run_if_idle([] {});
  release.set_value();
  stand_in.join();
  REQUIRE(stand_in_done);
  CHECK_FALSE(second);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (saw_done == -1 && std::chrono::steady_clock::now() < deadline) std::this_thread::sleep_for(1ms);
  CHECK(saw_done == 1);  // the engine woke for the post, and waited for the stand-in first
}

TEST_CASE("engine: a flood of queued work yields to timers after a turn's budget", "[unit][engine]") {
  // One swap of the queue holds a task that sets a timer due at once, then 200 tasks of 1 ms:
  // with the budget (Engine::kTurnBudget, 20 ms) the turn ends early and the timer runs
  // among them; without it, after all 200.
  Running r;
  constexpr int kFlood = 200;
  std::promise<void> engine_blocked, release;
  auto release_future = release.get_future().share();
  r.engine.post([&] {
    engine_blocked.set_value();
    release_future.wait_for(5s);
  });
  engine_blocked.get_future().wait();
  std::atomic<int> done{0};
  std::atomic<int> timer_saw{-1};
  r.engine.post([&] { r.engine.add_timer(0ms, [&] { timer_saw = done.load(); }); });
  for (int i = 0; i < kFlood; ++i) {
    r.engine.post([&] {
      std::this_thread::sleep_for(1ms);
      ++done;
    });
  }
  release.set_value();
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while ((timer_saw == -1 || done < kFlood) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(1ms);
  }
  REQUIRE(done == kFlood);
  REQUIRE(timer_saw >= 0);
  CHECK(timer_saw < kFlood);
}
