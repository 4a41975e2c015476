// Lookups take no lock: they must still never return half of one write and half of another,
// nor read memory a writer freed. Writers churn names (short ones stored inline, long ones on
// the heap; metas of varying sizes) while readers on the owner and on a replica check that
// every entry they see is whole: its meta names the pid it came with.
#include "support/cluster.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

using namespace syn;
using syn::test::eventually;

namespace {

constexpr int kNames = 600;
constexpr int kProcesses = 40;
constexpr int kHot = 8;

Term name_of(int i) {
  return i % 2 ? Term("n" + std::to_string(i)) : Term("a-name-longer-than-fifteen-bytes:" + std::to_string(i));
}

// The meta written with `pid`; its size varies so that meta blocks differ in length.
Term meta_for(const Pid& pid, int version) {
  return Term{{"pid", pid.id()}, {"pad", std::string(static_cast<std::size_t>(version % 40), 'x')}};
}

bool whole(const Entry& e) { return e.meta.is_object() && e.meta.value("pid", std::uint64_t{0}) == e.pid.id(); }

}  // namespace

TEST_CASE("registry: lookups racing writers see whole entries on the owner and on a replica", "[registry][reads]") {
  syn::test::Cluster cluster(2, {"s"});
  REQUIRE(cluster.wait_full_mesh());
  REQUIRE(eventually([&] { return cluster[1].subcluster_nodes(Kind::registry, "s").size() == 1; }));
  std::vector<Process> processes;
  for (int i = 0; i < kProcesses; ++i) processes.push_back(cluster[0].spawn());
  auto owner = cluster[0].registry("s");
  auto replica = cluster[1].registry("s");

  std::atomic<bool> done{false}, hot_only{false};
  std::atomic<long> hits{0}, torn{0};
  auto read_loop = [&](Registry reg) {
    std::size_t i = 0;
    while (!done.load()) {
      int n = static_cast<int>(i++ % (hot_only ? kHot : kNames));
      if (auto e = reg.lookup(name_of(n))) {
        ++hits;
        if (!whole(*e)) ++torn;
      }
    }
  };
  std::vector<std::thread> readers;
  readers.emplace_back(read_loop, owner);
  readers.emplace_back(read_loop, replica);

  // Waves of registrations (the tables grow), metas rewritten in place, names freed and
  // taken again by other processes; then a hot set of names churned for a while, so that
  // readers often land in the middle of a write. Bounded in count and in time.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  int version = 0;
  for (int wave = 0; wave < 4 && std::chrono::steady_clock::now() < deadline; ++wave) {
    for (int i = 0; i < kNames; ++i) {
      const Pid& pid = processes[static_cast<std::size_t>((i + wave) % kProcesses)].pid();
      REQUIRE(owner.register_name(name_of(i), pid, meta_for(pid, ++version)));
    }
    for (int i = 0; i < kNames; i += 3) {
      REQUIRE(owner.update(name_of(i), [&](const Pid& pid, const Term&) { return meta_for(pid, ++version); }));
    }
    for (int i = 0; i < kNames; ++i) REQUIRE(owner.unregister_name(name_of(i)));
  }
  hot_only = true;
  auto churn_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(1500);
  for (int round = 0; round < 100000 && std::chrono::steady_clock::now() < churn_until; ++round) {
    for (int i = 0; i < kHot; ++i) {
      const Pid& pid = processes[static_cast<std::size_t>((i + round) % kProcesses)].pid();
      REQUIRE(owner.register_name(name_of(i), pid, meta_for(pid, ++version)));
    }
    for (int i = 0; i < kHot; ++i) REQUIRE(owner.unregister_name(name_of(i)));
  }
  hot_only = false;
  for (int i = 0; i < kNames; ++i) {
    const Pid& pid = processes[static_cast<std::size_t>(i % kProcesses)].pid();
    REQUIRE(owner.register_name(name_of(i), pid, meta_for(pid, ++version)));
  }
  REQUIRE(eventually([&] { return replica.count() == static_cast<std::size_t>(kNames); }));
  done = true;
  for (auto& t : readers) t.join();
  CHECK(torn.load() == 0);
  CHECK(hits.load() > 0);
  for (int i = 0; i < kNames; ++i) {
    auto e = replica.lookup(name_of(i));
    REQUIRE(e);
    CHECK(e->pid == processes[static_cast<std::size_t>(i % kProcesses)].pid());
    CHECK(whole(*e));
  }
}
