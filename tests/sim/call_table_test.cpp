// The call table (src/scope/call_table.hpp) on a simulated node: a call ends once with its
// reply, its timeout or node_down; a reply after the timeout comes once more, marked late; a
// duplicate reply, a reply from another node and a reply after the late window are dropped.
// Replies are handed to the table directly (the simulated peer never answers: its link is cut),
// so every case is exact and follows simulated time.
#include "scope/call_table.hpp"
#include "sim/sim_cluster.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <memory>
#include <new>
#include <vector>

using namespace syn;
using namespace syn::sim;
using detail::CallOutcome;
using detail::CallTable;

namespace {

constexpr Micros kSecond = 1'000'000;

struct Seen {
  std::uint32_t status;
  bool late;
  std::int64_t payload;  // -1: none
};

/// Two simulated nodes in scope "s", "a" calling "b" over a cut link (nothing reaches b).
struct Calls {
  World world{4711};
  SimNode* a;
  SimNode* b;
  std::unique_ptr<CallTable> table;
  std::vector<Seen> seen;
  msgpack::zone zone;

  Calls() {
    a = &world.add_node("a", NodeOptions{}, {"s"});
    b = &world.add_node("b", NodeOptions{}, {"s"});
    world.settle(10 * kSecond);
    REQUIRE(a->is_up(b->atom()));
    world.cut("a", "b");
    table = std::make_unique<CallTable>(*a);
  }

  /// Calls b (request ids count from 1) with `timeout`.
  void call(std::chrono::milliseconds timeout, std::uint32_t to = 0) {
    a->engine_step([&] {
      table->call(to ? to : b->atom(), wire::ScopeAddress{0, "s"}, std::string(1, '\xc0'), timeout,
                  [this](const CallOutcome& o) {
                    seen.push_back({o.status, o.late, o.payload ? o.payload->as<std::int64_t>() : -1});
                  });
    });
  }
  /// The reply to request `id` with `value`, as if it came from `from`.
  void reply(std::uint64_t id, std::int64_t value, std::uint32_t from = 0) {
    auto* payload = zone.allocate_align(sizeof(msgpack::object), alignof(msgpack::object));
    auto* object = new (payload) msgpack::object(value, zone);
    a->engine_step([&] { table->on_reply(from ? from : b->atom(), wire::Reply{id, 0, object}); });
  }
  void run_for(Micros t) { world.run_until(world.now() + t); }
};

const std::uint32_t kTimeout = detail::status_of(Errc::timeout);
const std::uint32_t kNodeDown = detail::status_of(Errc::node_down);

}  // namespace

TEST_CASE("call table: a reply before the timeout ends the call once", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(500));
  c.run_for(kSecond / 10);
  CHECK(c.seen.empty());
  c.reply(1, 42);
  REQUIRE(c.seen.size() == 1);
  CHECK(c.seen[0].status == 0);
  CHECK_FALSE(c.seen[0].late);
  CHECK(c.seen[0].payload == 42);
  c.reply(1, 43);          // a duplicate
  c.run_for(2 * kSecond);  // the timeout passes
  CHECK(c.seen.size() == 1);
}

TEST_CASE("call table: a timeout, then the late reply once, then nothing", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(200));
  c.run_for(kSecond / 10);
  CHECK(c.seen.empty());
  c.run_for(kSecond / 5);
  REQUIRE(c.seen.size() == 1);
  CHECK(c.seen[0].status == kTimeout);
  CHECK_FALSE(c.seen[0].late);
  c.reply(1, 7, /*from=*/c.a->atom());  // from the wrong node: dropped
  CHECK(c.seen.size() == 1);
  c.reply(1, 7);
  REQUIRE(c.seen.size() == 2);
  CHECK(c.seen[1].status == 0);
  CHECK(c.seen[1].late);  // the change it carries still reaches the caller's replica
  CHECK(c.seen[1].payload == 7);
  c.reply(1, 8);  // a duplicate of the late reply
  c.run_for(120 * kSecond);
  CHECK(c.seen.size() == 2);
}

TEST_CASE("call table: a reply after the late window is forgotten", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(200));
  c.run_for(61 * kSecond);  // the timeout, then the 60 s late-reply window
  REQUIRE(c.seen.size() == 1);
  CHECK(c.seen[0].status == kTimeout);
  c.reply(1, 9);
  CHECK(c.seen.size() == 1);
}

TEST_CASE("call table: the peer going down ends its calls with node_down, once", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(500));
  c.call(std::chrono::milliseconds(500));
  c.a->engine_step([&] { c.table->on_peer_down(c.b->atom()); });
  REQUIRE(c.seen.size() == 2);
  CHECK(c.seen[0].status == kNodeDown);
  CHECK(c.seen[1].status == kNodeDown);
  c.reply(1, 1);
  c.run_for(2 * kSecond);
  CHECK(c.seen.size() == 2);
}

TEST_CASE("call table: a call to a node that is not up ends at once with node_down", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(500), /*to=*/0xfffffu);
  REQUIRE(c.seen.size() == 1);
  CHECK(c.seen[0].status == kNodeDown);
  c.run_for(2 * kSecond);
  CHECK(c.seen.size() == 1);
}

TEST_CASE("call table: the node stopping ends every pending call with node_down", "[sim][call_table]") {
  Calls c;
  c.call(std::chrono::milliseconds(200));
  c.run_for(kSecond / 2);  // the first timed out: stopping does not end it twice
  c.call(std::chrono::milliseconds(500));
  c.a->engine_step([&] { c.table->fail_all(); });
  REQUIRE(c.seen.size() == 2);
  CHECK(c.seen[0].status == kTimeout);
  CHECK(c.seen[1].status == kNodeDown);
}
