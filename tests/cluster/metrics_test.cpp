// Node::metrics() on a live cluster (SPEC 9): gauges follow the tables, counters count the
// calls, snapshots, purges and links, and the call histogram sees the calls to other nodes.
#include "cluster/cluster_helpers.hpp"

#include <syn/metrics.hpp>

#include <catch2/catch.hpp>

#include <string>

using namespace syn;
using syn::test::eventually;
using syn::test::test_options;

namespace {

const ScopeMetrics& scope_of(const Metrics& m, const std::string& scope) {
  for (const auto& s : m.scopes) {
    if (s.scope == scope) return s;
  }
  FAIL("no scope " << scope << " in the metrics");
  throw std::logic_error("unreachable");
}

const PeerMetrics* peer_of(const Metrics& m, const std::string& node) {
  for (const auto& p : m.peers) {
    if (p.node == node) return &p;
  }
  return nullptr;
}

std::uint64_t value_or_zero(const std::map<std::string, std::uint64_t>& counts, const std::string& key) {
  auto it = counts.find(key);
  return it == counts.end() ? 0 : it->second;
}

}  // namespace

TEST_CASE("metrics: gauges, counters, peers and the call histogram of a live cluster", "[cluster][metrics]") {
  Node a(test_options("metrics-a", {"s"}));
  auto ob = test_options("metrics-b", {"s"});
  ob.seeds = {a.endpoint()};
  auto b = std::make_unique<Node>(ob);
  REQUIRE(eventually([&] { return a.ready() && b->ready() && a.nodes().size() == 1; }));

  auto before = b->metrics().call_duration_seconds.count;
  auto pa = a.spawn();
  REQUIRE(a.registry("s").register_name("local-1", pa.pid()));
  REQUIRE(a.registry("s").register_name("local-2", pa.pid()));
  // From b, for a's process: each is a call to a (the authority).
  for (int i = 0; i < 3; ++i) REQUIRE(b->registry("s").register_name("remote-" + std::to_string(i), pa.pid()));
  REQUIRE(b->groups("s").join("room", pa.pid()));
  auto pa2 = a.spawn();
  REQUIRE(a.groups("s").join("room", pa2.pid()));
  REQUIRE(eventually([&] { return a.registry("s").count() == 5 && b->registry("s").count() == 5; }));
  REQUIRE(eventually([&] { return b->groups("s").member_count("room") == 2; }));

  auto ma = a.metrics();
  CHECK(ma.node == "metrics-a");
  CHECK(ma.ready);
  CHECK(ma.processes == 2);
  const auto& sa = scope_of(ma, "s");
  CHECK(sa.registry_entries == 5);
  CHECK(sa.registry_local_entries == 5);
  CHECK(sa.groups == 1);
  CHECK(sa.groups_members == 2);
  CHECK(sa.groups_local_members == 2);
  CHECK(value_or_zero(sa.writes, "register") == 2);
  CHECK(value_or_zero(sa.writes, "join") == 1);
  CHECK(sa.snapshots_in >= 3);  // b's registry, groups and multicast snapshots
  CHECK(sa.snapshots_out >= 3);
  // Each snapshot is at least one message: its header (type, kind, scope "s", last) and the
  // chunk, an array.
  CHECK(sa.snapshot_bytes_in >= 3 * 7);
  CHECK(sa.snapshot_bytes_out >= 3 * 7);
  CHECK(sa.snapshot_seconds_in > 0);
  CHECK(sa.snapshot_seconds_out > 0);

  auto mb = b->metrics();
  const auto& sb = scope_of(mb, "s");
  CHECK(sb.registry_entries == 5);
  CHECK(sb.registry_local_entries == 0);
  CHECK(value_or_zero(sb.writes, "register") == 3);
  CHECK(value_or_zero(sb.writes, "join") == 1);
  CHECK(mb.call_duration_seconds.count >= before + 4);  // 3 registrations and a join went to a
  CHECK(mb.call_duration_seconds.buckets.back() <= mb.call_duration_seconds.count);
  CHECK(mb.call_duration_seconds.sum > 0);

  const auto* link = peer_of(ma, "metrics-b");
  REQUIRE(link);
  CHECK(link->up);
  CHECK(link->frames_in > 0);
  CHECK(link->frames_out > 0);
  CHECK(link->bytes_in > link->frames_in);
  bool has_engine = false;
  for (const auto& q : ma.queues) has_engine = has_engine || (q.queue == "engine" && q.high_water >= q.depth);
  CHECK(has_engine);

  // The text form carries the same numbers.
  auto text = to_prometheus(ma);
  CHECK(text.find("syn_registry_entries{scope=\"s\"} 5\n") != std::string::npos);
  CHECK(text.find("syn_groups_members{scope=\"s\"} 2\n") != std::string::npos);

  // b leaves: a purges it and counts the link that ended.
  b.reset();
  REQUIRE(eventually([&] {
    auto m = a.metrics();
    const auto* gone = peer_of(m, "metrics-b");
    return gone && !gone->up && value_or_zero(gone->downs, "left") == 1 && scope_of(m, "s").purges >= 3;
  }));
  CHECK(scope_of(a.metrics(), "s").registry_entries == 5);  // a's own processes hold every name
}

TEST_CASE("metrics: a snapshot's bytes and time are counted by its sender and its receiver alike",
          "[cluster][metrics]") {
  Node a(test_options("metrics-snap-a", {"s"}));
  auto holder = a.spawn();
  constexpr int kNames = 200;
  for (int i = 0; i < kNames; ++i) REQUIRE(a.registry("s").register_name("name-" + std::to_string(i), holder.pid()));
  auto ob = test_options("metrics-snap-b", {"s"});
  ob.seeds = {a.endpoint()};
  Node b(ob);
  REQUIRE(eventually([&] { return a.ready() && b.ready() && b.registry("s").count() == kNames; }));
  // What one sent is what the other applied, message for message (once all of it arrived).
  ScopeMetrics sa, sb;
  REQUIRE(eventually([&] {
    sa = scope_of(a.metrics(), "s");
    sb = scope_of(b.metrics(), "s");
    return sa.snapshots_in >= 3 && sb.snapshots_in >= 3 && sb.snapshot_bytes_in == sa.snapshot_bytes_out &&
           sa.snapshot_bytes_in == sb.snapshot_bytes_out;
  }));
  // a's registry snapshot carries every name: more than their bytes alone.
  CHECK(sa.snapshot_bytes_out > kNames * std::string("name-000").size());
  CHECK(sa.snapshot_seconds_out > 0);
  CHECK(sb.snapshot_seconds_in > 0);
}

TEST_CASE("metrics: mailbox depths count the messages waiting in local processes", "[cluster][metrics]") {
  Node a(test_options("metrics-mail", {"s"}));
  auto mailboxes = [&] {
    for (const auto& q : a.metrics().queues) {
      if (q.queue == "mailboxes") return std::make_pair(q.depth, q.high_water);
    }
    return std::make_pair(std::uint64_t{999}, std::uint64_t{999});
  };
  CHECK(mailboxes() == std::make_pair(std::uint64_t{0}, std::uint64_t{0}));
  auto busy = a.spawn();
  auto idle = a.spawn();
  for (int i = 0; i < 5; ++i) a.send(busy.pid(), Term(i));
  a.send(idle.pid(), "one");
  // Sends to a local process land in its mailbox before send returns.
  CHECK(mailboxes() == std::make_pair(std::uint64_t{6}, std::uint64_t{5}));
  for (int i = 0; i < 5; ++i) REQUIRE(busy.receive(std::chrono::seconds(1)));
  // Nothing waits there now; the deepest it has been stays.
  CHECK(mailboxes() == std::make_pair(std::uint64_t{1}, std::uint64_t{5}));
  CHECK(to_prometheus(a.metrics()).find("syn_queue_high_water{queue=\"mailboxes\"} 5\n") != std::string::npos);
}
