// The scope engine's own rules, on simulated nodes running a probe handler (a handler kind
// of this test, plugged in the way a real one is): what user threads queued leaves before
// anything the engine thread sends for the scope; a reply leaves after the changes made
// before it; send_to reaches one member and only members; the member hooks fire in order
// with the purge; timers run on the engine thread when due; a snapshot longer than a turn
// reaches the peer whole before the changes made after its parts were read.
#include "scope/scope_engine.hpp"
#include "scope/scope_handler.hpp"
#include "sim/sim_cluster.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <map>
#include <memory>
#include <string>
#include <vector>

using namespace syn;
using namespace syn::sim;

namespace {

constexpr Kind kProbe = static_cast<Kind>(100);  // not a node's kind: this test's own
constexpr Micros kSettle = 10'000'000;

std::string pack(const std::string& text) {
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, text);
  return std::string(buffer.data(), buffer.size());
}

/// Records what reaches it; answers a call with a broadcast first, then the reply.
class Probe final : public detail::ScopeHandler {
 public:
  explicit Probe(const detail::ScopeContext& context) : engine_(context, kProbe, *this) {}

  detail::ScopeEngine& engine() override { return engine_; }
  void clear() override {}
  std::uint64_t leave_scope() override { return 0; }
  /// Snapshots of `snapshot_part_bytes`-byte parts, one chunk each; writing the part
  /// `change_after_part` posts a change for the next engine turn.
  static inline std::size_t snapshot_part_count = 0;
  static inline std::size_t snapshot_part_bytes = 0;
  static inline std::size_t change_after_part = ~std::size_t{0};
  std::size_t snapshot_parts() const override { return snapshot_part_count; }
  void write_snapshot_part(std::size_t part, const std::function<void(std::string_view)>& emit) override {
    emit(pack("part " + std::to_string(part) + " " + std::string(snapshot_part_bytes, '.')));
    if (part != change_after_part) return;
    engine_.host().post([this] { engine_.broadcast(pack("change after the snapshot began")); });
  }
  void begin_remote_snapshot(std::uint32_t) override {}
  void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) override {
    if (chunk.type != msgpack::type::STR) return;  // the empty end of a snapshot
    std::string text = chunk.as<std::string>();
    arrivals[detail::node_name_of(from)].push_back(text.substr(0, text.find(' ', 5)));
  }
  void end_remote_snapshot(std::uint32_t from) override { arrivals[detail::node_name_of(from)].push_back("end"); }
  void purge_nodes(const std::vector<std::uint32_t>& nodes) override {
    for (auto node : nodes) events.push_back("purge " + detail::node_name_of(node));
  }
  void on_replicated(std::uint32_t from, const msgpack::object& payload) override {
    received[detail::node_name_of(from)].push_back(payload.as<std::string>());
    arrivals[detail::node_name_of(from)].push_back(payload.as<std::string>());
  }
  void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) override {
    engine_.broadcast(pack("change before the reply to " + payload.as<std::string>()));
    engine_.reply(from, request_id, 0, pack("answer"));
  }
  void on_member_added(std::uint32_t node) override { events.push_back("added " + detail::node_name_of(node)); }
  void on_member_removed(std::uint32_t node) override { events.push_back("removed " + detail::node_name_of(node)); }

  std::vector<std::string> events;
  std::map<std::string, std::vector<std::string>> received;  ///< changes by sender, in arrival order
  /// Changes, snapshot chunks and snapshot ends by sender, in arrival order.
  std::map<std::string, std::vector<std::string>> arrivals;

 private:
  detail::ScopeEngine engine_;
};

std::vector<detail::HandlerKind> probe_kinds() { return {{kProbe, &detail::make_handler<Probe>}}; }

std::shared_ptr<Probe> probe(SimNode& node) { return node.scopes().get<Probe>(kProbe, "s"); }

}  // namespace

TEST_CASE("engine: what user threads queued leaves before the engine thread's sends, in order per peer",
          "[sim][engine]") {
  World world(31);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"}, probe_kinds());
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"}, probe_kinds());
  SimNode& c = world.add_node("c", NodeOptions{}, {"s"}, probe_kinds());
  REQUIRE(world.settle(kSettle));
  auto pa = probe(a);

  // A user thread (outside any engine step) queues two changes; the engine thread then sends
  // before the queue's own drain has run.
  REQUIRE_FALSE(a.on_engine_thread());
  pa->engine().broadcast(pack("u1"));
  pa->engine().broadcast(pack("u2"));
  a.engine_step([&] {
    CHECK(pa->engine().send_to(b.atom(), pack("to b")));
    pa->engine().broadcast(pack("e1"));
  });
  REQUIRE(world.settle(kSettle));

  CHECK(probe(b)->received["a"] == std::vector<std::string>{"u1", "u2", "to b", "e1"});
  CHECK(probe(c)->received["a"] == std::vector<std::string>{"u1", "u2", "e1"});
}

TEST_CASE("engine: a reply leaves after the changes made before it", "[sim][engine]") {
  World world(32);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"}, probe_kinds());
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"}, probe_kinds());
  REQUIRE(world.settle(kSettle));
  auto pb = probe(b);

  std::vector<std::string> seen_at_reply;
  int replies = 0;
  b.engine_step([&] {
    pb->engine().call(a.atom(), pack("q"), std::chrono::seconds(5), [&](const detail::CallOutcome& outcome) {
      ++replies;
      CHECK(outcome.status == 0);
      REQUIRE(outcome.payload);
      CHECK(outcome.payload->as<std::string>() == "answer");
      seen_at_reply = pb->received["a"];
    });
  });
  REQUIRE(world.settle(kSettle));
  CHECK(replies == 1);
  CHECK(seen_at_reply == std::vector<std::string>{"change before the reply to q"});
}

TEST_CASE("engine: send_to reaches members only, member hooks follow the subcluster, the purge first",
          "[sim][engine]") {
  World world(33);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"}, probe_kinds());
  world.add_node("b", NodeOptions{}, {"s"}, probe_kinds());
  SimNode& d = world.add_node("d", NodeOptions{}, {}, probe_kinds());  // up, but not in scope s
  REQUIRE(world.settle(kSettle));
  auto pa = probe(a);
  CHECK(pa->events == std::vector<std::string>{"added b"});

  std::uint32_t b_atom = world.node("b")->atom();
  a.engine_step([&] {
    CHECK_FALSE(pa->engine().send_to(d.atom(), pack("to d")));
    CHECK_FALSE(pa->engine().send_to(a.atom(), pack("to self")));
  });

  world.crash("b");
  REQUIRE(world.settle(kSettle));
  CHECK(pa->events == std::vector<std::string>{"added b", "purge b", "removed b"});
  a.engine_step([&] { CHECK_FALSE(pa->engine().send_to(b_atom, pack("to the dead"))); });

  world.restart("b");
  REQUIRE(world.settle(kSettle));
  CHECK(pa->events == std::vector<std::string>{"added b", "purge b", "removed b", "added b"});
  a.engine_step([&] { CHECK(pa->engine().send_to(b_atom, pack("to the new b"))); });
  REQUIRE(world.settle(kSettle));
  CHECK(probe(*world.node("b"))->received["a"] == std::vector<std::string>{"to the new b"});
}

TEST_CASE("engine: a timer runs on the engine thread once it is due, not before", "[sim][engine]") {
  World world(34);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"}, probe_kinds());
  REQUIRE(world.settle(kSettle));
  auto pa = probe(a);

  Micros set_at = world.now();
  Micros fired_at = -1;
  bool on_engine = false;
  a.engine_step([&] {
    pa->engine().add_timer(std::chrono::milliseconds(50), [&] {
      fired_at = world.now();
      on_engine = a.on_engine_thread();
    });
  });
  world.run_until(set_at + 49'000);
  CHECK(fired_at == -1);
  REQUIRE(world.settle(kSettle));
  CHECK(fired_at >= set_at + 50'000);
  CHECK(on_engine);
}

TEST_CASE("engine: a snapshot longer than a turn reaches the peer before a change made between its turns",
          "[sim][engine]") {
  // Parts of 300 kB: the first fills a turn (256 kB), and the second part's chunk, written
  // once the first was sent, is the one held at the turn's end. A change made after that turn must not overtake it, or
  // the peer would apply the older chunk over the newer change.
  Probe::snapshot_part_count = 4;
  Probe::snapshot_part_bytes = 300 << 10;
  Probe::change_after_part = 1;
  World world(34);
  world.add_node("a", NodeOptions{}, {"s"}, probe_kinds());
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"}, probe_kinds());
  bool settled = world.settle(kSettle);
  Probe::snapshot_part_count = 0;
  Probe::change_after_part = ~std::size_t{0};
  REQUIRE(settled);
  CHECK(probe(b)->arrivals["a"] ==
        std::vector<std::string>{"part 0", "part 1", "change after the snapshot began", "part 2", "part 3", "end"});
}
