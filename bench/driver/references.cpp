#include "driver/references.hpp"

#include <map>
#include <tuple>

namespace syn::bench {

namespace {

constexpr std::size_t kAny = 0;

struct Key {
  std::string workload;
  std::string metric;
  std::size_t n;
  friend bool operator<(const Key& a, const Key& b) {
    return std::tie(a.workload, a.metric, a.n) < std::tie(b.workload, b.metric, b.n);
  }
};

Target at_least(double bound, std::string text) { return Target{bound, false, std::move(text)}; }
Target at_most(double bound, std::string text) { return Target{bound, true, std::move(text)}; }

const std::map<Key, MetricReference>& table() {
  static const std::map<Key, MetricReference> t = {
      // syn's own benchmark, 2 writers x 100 workers, 3 nodes.
      {{"registry", "register", 100000}, {{{"syn", 67e3, 73e3}}, at_least(3 * 70e3, ">= 3x syn (goal 10x)")}},
      {{"registry", "unregister", 100000}, {{{"syn", 59e3, 65e3}}, at_least(3 * 62e3, ">= 3x syn (goal 10x)")}},
      {{"registry", "reregister", 100000}, {{{"syn", 67e3, 73e3}}, at_least(3 * 70e3, ">= 3x syn register")}},
      {{"registry", "kill", 100000}, {{{"syn", 1.08, 1.14}}, at_most(0.2, "< 0.2 s")}},
      {{"registry", "register", 1000000}, {{{"syn", 60e3, 68e3}}, at_least(3 * 64e3, ">= 3x syn (goal 10x)")}},
      {{"registry", "reregister", 1000000}, {{{"syn", 60e3, 68e3}}, at_least(3 * 64e3, ">= 3x syn register")}},
      {{"registry", "kill", 1000000}, {{{"syn", 5.7, 12.5}}, std::nullopt}},
      {{"register_async", "register", 100000}, {{{"syn", 67e3, 73e3}}, at_least(700e3, "> 700k/s (10x syn)")}},
      {{"register_async", "register", 1000000}, {{{"syn", 60e3, 68e3}}, at_least(700e3, "> 700k/s (10x syn)")}},
      {{"register_sequential", "per_call", kAny}, {{{"syn", 1e9 / 91e3, 1e9 / 87e3}}, at_most(4000, "< 4 us")}},
      {{"register_sequential", "rate", kAny}, {{{"syn", 87e3, 91e3}}, std::nullopt}},
      {{"register_sequential", "peer_lag", kAny}, {{{"syn", 0.008, 0.017}}, std::nullopt}},
      // Lookups: 100k names in turn, one caller.
      {{"lookup", "hit_replica", 100000}, {{{"syn", 420, 615}}, at_most(100, "< 100 ns (goal 60)")}},
      {{"lookup", "hit_owner", 100000}, {{{"syn", 440, 503}}, at_most(100, "< 100 ns (goal 60)")}},
      {{"lookup", "miss", 100000}, {{{"syn", 435, 606}}, at_most(100, "< 100 ns (goal 60)")}},
      {{"lookup", "scaling_2t", kAny}, {{}, at_least(1.8, "near-linear (>= 1.8x)")}},
      {{"lookup", "scaling_2t_cpu", kAny}, {{}, at_least(1.8, "near-linear (>= 1.8x)")}},
      {{"lookup", "hit_replica_cpu", 100000}, {{{"syn", 420, 615}}, at_most(100, "< 100 ns (goal 60)")}},
      {{"lookup", "bare_hash", 100000}, {{{"quiet machine", 40, 57}}, std::nullopt}},
      {{"lookup", "hit_random_1M", kAny}, {{{"bare hash", 217, 311}}, at_most(300, "< 300 ns")}},
      {{"lookup", "hit_random_1M_cpu", kAny}, {{{"bare hash", 217, 311}}, at_most(300, "< 300 ns")}},
      {{"lookup", "bare_random_1M", kAny}, {{{"quiet machine", 217, 311}}, std::nullopt}},
      {{"memory_per_entry", "replica", kAny}, {{{"syn", 304, 304}}, at_most(150, "< 150 B")}},
      {{"memory_per_entry", "owner", kAny}, {{{"syn", 352, 352}}, std::nullopt}},
      {{"join_sync", "join_sync", 1000000}, {{}, at_most(2.0, "< 2 s")}},
      {{"kill_node", "purge", 100000}, {{}, at_most(1.0, "< 1 s")}},
      // Groups.
      {{"group_join", "join", 100000}, {{{"syn", 58e3, 67e3}}, std::nullopt}},
      {{"group_join", "leave", 100000}, {{{"syn", 50e3, 55e3}}, std::nullopt}},
      {{"group_join", "rejoin", 100000}, {{{"syn", 58e3, 67e3}}, std::nullopt}},
      {{"group_join_one_100k", "all_nodes", 100000}, {{{"pg", 414, 437}, {"syn", 1.6, 1.6}}, at_most(0.5, "< 0.5 s")}},
      {{"group_join_one_100k", "on_node", 100000}, {{{"pg", 110, 116}}, std::nullopt}},
      {{"members_10", "members", kAny}, {{{"syn", 1300, 1700}, {"pg", 180, 230}}, std::nullopt}},
      {{"members_1000", "members", kAny}, {{{"syn", 76e3, 87e3}, {"pg", 4200, 4700}}, at_most(20e3, "< 20 us")}},
      {{"members_10", "members_cpu", kAny}, {{{"syn", 1300, 1700}, {"pg", 180, 230}}, std::nullopt}},
      {{"members_1000", "members_cpu", kAny}, {{{"syn", 76e3, 87e3}, {"pg", 4200, 4700}}, at_most(20e3, "< 20 us")}},
      // Guaranteed multicast (PERFORMANCE.md, MULTICAST.md).
      {{"multicast_3", "received", kAny}, {{}, at_least(300e3, ">= 300k/s")}},
      {{"multicast_5", "received", kAny}, {{}, at_least(150e3, ">= 150k/s")}},
      {{"confirmed_3", "median", kAny}, {{}, at_most(250e3, "< 250 us")}},
      {{"confirmed_5", "median", kAny}, {{}, at_most(350e3, "< 350 us")}},
      {{"multicast_3_1k", "received", kAny}, {{}, at_least(100e3, ">= 100k/s")}},
      {{"multicast_3_x3", "received", kAny}, {{}, at_least(300e3, ">= 300k/s")}},
      {{"confirmed_pipelined_3", "confirmed", kAny}, {{}, at_least(100e3, ">= 100k/s")}},
      {{"mc_join_5", "median", kAny}, {{}, at_most(5e6, "< 5 ms")}},
      {{"mc_kill_5", "view", kAny}, {{}, at_most(0.1, "< 100 ms")}},
      {{"mc_memory_3", "publisher", kAny}, {{}, at_most(96, "<= 96 B (term + 32 B)")}},
      {{"mc_memory_3", "member", kAny}, {{}, at_most(96, "<= 96 B (term + 32 B)")}},
      {{"mc_memory_3", "publisher_heap", kAny}, {{}, at_most(96, "<= 96 B (term + 32 B)")}},
      {{"mc_memory_3", "member_heap", kAny}, {{}, at_most(96, "<= 96 B (term + 32 B)")}},
      // The physical limits (C++ and ZeroMQ alone on this machine).
      {{"messages_one_way", "received", kAny}, {{{"zmq raw", 2.9e6, 3.2e6}}, std::nullopt}},
      {{"ping_pong", "median", kAny}, {{{"zmq raw", 36e3, 38e3}}, std::nullopt}},
  };
  return t;
}

}  // namespace

MetricReference reference_for(const std::string& workload, const std::string& metric, std::size_t n) {
  const auto& t = table();
  if (auto it = t.find(Key{workload, metric, n}); it != t.end()) return it->second;
  if (auto it = t.find(Key{workload, metric, kAny}); it != t.end()) return it->second;
  return {};
}

}  // namespace syn::bench
