// The snapshot staleness rule of the registry (SPEC 5, `remote_scope_node_up`): when a peer's
// snapshot has been applied, the entries of that peer that this node held before it and that
// the snapshot did not contain are stale and go; a change of the peer that overtakes its part
// of the snapshot is current and stays. A group that spans chunks is applied whole, one
// event, before anything else of its node. Driven step by step on two simulated nodes whose link
// is cut, so that only what the test hands over reaches the receiver.
#include "groups/groups_scope.hpp"
#include "registry/registry_scope.hpp"
#include "scope/entry_calls.hpp"
#include "sim/sim_cluster.hpp"
#include "wire/entry_messages.hpp"
#include "wire/meta_codec.hpp"
#include "wire/term_codec.hpp"

#include <catch2/catch.hpp>

#include <msgpack.hpp>

#include <memory>
#include <string>
#include <vector>

using namespace syn;
using namespace syn::sim;

namespace {

constexpr Micros kSettle = 10'000'000;

/// The unregistrations a node's callbacks saw: name and reason.
class Unregistrations final : public EventHandler {
 public:
  void on_process_unregistered(std::string_view, const Term& name, const Pid&, const Term&,
                               const Reason& reason) override {
    seen.emplace_back(name.get<std::string>(), reason.kind);
  }
  std::vector<std::pair<std::string, Reason::Kind>> seen;
};

msgpack::object_handle unpack(const std::string& bytes) { return msgpack::unpack(bytes.data(), bytes.size()); }

}  // namespace

TEST_CASE("snapshot: what the sender's snapshot lacks is stale and goes, a change that overtakes it stays",
          "[sim][snapshot]") {
  World world(2024);
  auto events = std::make_shared<Unregistrations>();
  NodeOptions b_options;
  b_options.event_handler = events;
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"});
  SimNode& b = world.add_node("b", b_options, {"s"});
  world.settle(kSettle);
  auto ra = a.scopes().get<detail::RegistryScope>(Kind::registry, "s");
  auto rb = b.scopes().get<detail::RegistryScope>(Kind::registry, "s");
  Pid p = a.spawn();
  for (const char* name : {"gone", "kept", "moved"}) REQUIRE(ra->register_name(name, p, "old", false));
  world.settle(kSettle);
  REQUIRE(rb->lookup("gone"));
  REQUIRE(rb->lookup("moved"));

  // b stops hearing a; a drops "gone" and "moved", then writes its snapshot.
  world.cut("a", "b");
  REQUIRE(ra->unregister_name("gone"));
  REQUIRE(ra->unregister_name("moved"));
  std::vector<std::string> chunks;
  a.engine_step([&] {
    for (std::size_t part = 0; part < ra->snapshot_parts(); ++part) {
      ra->write_snapshot_part(part, [&](std::string_view chunk) { chunks.emplace_back(chunk); });
    }
  });
  REQUIRE_FALSE(chunks.empty());
  // a registers "moved" again after its snapshot was read: the change travels ahead of the
  // snapshot's end (the engine sends it between the parts).
  std::string moved_again = detail::encode_put(wire::canonical(Term("moved")), p, a.unique_time_ns(),
                                               detail::meta_canonical(Term("new")), Reason::Kind::normal);

  b.engine_step([&] {
    rb->begin_remote_snapshot(a.atom());
    auto change = unpack(moved_again);
    rb->on_replicated(a.atom(), change.get());
    for (const auto& chunk : chunks) {
      auto object = unpack(chunk);
      rb->apply_snapshot_chunk(a.atom(), object.get());
    }
    rb->end_remote_snapshot(a.atom());
  });
  b.run_callbacks();

  CHECK_FALSE(rb->lookup("gone"));  // stale: held before, absent from the snapshot
  REQUIRE(rb->lookup("kept"));
  CHECK(rb->lookup("kept")->meta == "old");
  auto moved = rb->lookup("moved");  // absent from the snapshot, but its change is current
  REQUIRE(moved);
  CHECK(moved->meta == "new");
  CHECK(events->seen ==
        std::vector<std::pair<std::string, Reason::Kind>>{{"gone", Reason::Kind::remote_scope_node_up}});
  for (const auto& broken : b.scopes().check_invariants()) FAIL(broken);
}

TEST_CASE("snapshot: a group that spans chunks is one event, and a change sent after the chunks applies after it",
          "[sim][snapshot]") {
  World world(2025);
  SimNode& a = world.add_node("a", NodeOptions{}, {"s"});
  SimNode& b = world.add_node("b", NodeOptions{}, {"s"});
  world.settle(kSettle);
  auto ga = a.scopes().get<detail::GroupsScope>(Kind::groups, "s");
  auto gb = b.scopes().get<detail::GroupsScope>(Kind::groups, "s");
  std::vector<GroupEvent> seen;
  auto subscription = gb->monitor(
      Term("big"), [&](const GroupEvent& event) { seen.push_back(event); }, nullptr);

  // b stops hearing a, which puts more members in one group than a chunk holds.
  world.cut("a", "b");
  const std::size_t count = wire::entries::SnapshotChunker::kChunkEntries * 3 / 2;
  std::vector<Pid> pids;
  for (std::size_t i = 0; i < count; ++i) {
    pids.push_back(a.spawn());
    REQUIRE(ga->join(Term("big"), pids.back(), Term(), false));
  }
  std::vector<std::string> chunks;
  a.engine_step([&] {
    for (std::size_t part = 0; part < ga->snapshot_parts(); ++part) {
      ga->write_snapshot_part(part, [&](std::string_view chunk) { chunks.emplace_back(chunk); });
    }
  });
  REQUIRE(chunks.size() == 2);
  // The last member leaves after a's part was sent: its removal follows the chunks.
  REQUIRE(ga->leave(Term("big"), pids.back()));
  std::string left =
      detail::encode_del(wire::canonical(Term("big")), pids.back(), a.unique_time_ns(), Reason::Kind::normal);

  b.engine_step([&] {
    gb->begin_remote_snapshot(a.atom());
    for (const auto& chunk : chunks) {
      auto object = unpack(chunk);
      gb->apply_snapshot_chunk(a.atom(), object.get());
    }
    auto change = unpack(left);
    gb->on_replicated(a.atom(), change.get());
    gb->end_remote_snapshot(a.atom());
  });
  b.run_callbacks();

  REQUIRE(seen.size() == 2);
  CHECK(seen[0].type == GroupEvent::Type::join);
  CHECK(seen[0].members.size() == count);
  CHECK(seen[1].type == GroupEvent::Type::leave);
  REQUIRE(seen[1].members.size() == 1);
  CHECK(seen[1].members[0].pid == pids.back());
  CHECK(gb->members(Term("big")).size() == count - 1);
  for (const auto& broken : b.scopes().check_invariants()) FAIL(broken);
}
