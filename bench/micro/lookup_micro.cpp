// Micro-benchmarks of a registry lookup and of its parts (Google Benchmark). A replica of 100k
// names is filled from another node in this process (loopback TCP), then looked up in turn,
// as in syn's benchmark. Run: build/bench/bench/micro/syn-micro --benchmark_filter=lookup
#include "registry/registry_table.hpp"
#include "wire/term_codec.hpp"

#include <syn/syn.hpp>

#include <benchmark/benchmark.h>

#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

constexpr std::size_t kNames = 100'000;

/// "device:<i>" (13 bytes: keys held inline), or with `prefix` a longer name (keys on the heap).
std::vector<syn::Term> make_names(const std::string& prefix = "device:") {
  std::vector<syn::Term> names;
  names.reserve(kNames);
  for (std::size_t i = 0; i < kNames; ++i) names.emplace_back(prefix + std::to_string(100000 + i));
  return names;
}

/// A 40-byte name, as a service might use ("tenant-...:session:<i>").
const std::string kLongPrefix = "tenant-0042:region-eu-west:session:";

/// Two nodes; the first registers every name for its own processes; the second holds the replica.
struct Replica {
  std::unique_ptr<syn::Node> owner, replica;
  std::vector<syn::Process> processes;
  std::vector<syn::Term> names;

  explicit Replica(const std::string& prefix = "device:") : names(make_names(prefix)) {
    syn::NodeOptions a;
    static int instances = 0;
    const std::string suffix = std::to_string(++instances);  // node names are unique in a process
    a.name = "micro-owner-" + suffix;
    a.scopes = {"s"};
    owner = std::make_unique<syn::Node>(a);
    syn::NodeOptions b;
    b.name = "micro-replica-" + suffix;
    b.scopes = {"s"};
    b.seeds = {owner->endpoint()};
    replica = std::make_unique<syn::Node>(b);
    while (replica->subcluster_nodes(syn::Kind::registry, "s").empty()) std::this_thread::yield();
    auto reg = owner->registry("s");
    for (const auto& name : names) {
      processes.push_back(owner->spawn());
      (void)reg.register_name(name, processes.back().pid());
    }
    auto r = replica->registry("s");
    while (r.count() < kNames) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
};

Replica& replica() {
  static Replica* r = new Replica;  // shared by the benchmarks; never torn down mid-run
  return *r;
}

Replica& long_names_replica() {
  static Replica* r = new Replica(kLongPrefix);
  return *r;
}

/// Calls read(name) on every name in turn from `first`, once per iteration.
template <class Read>
void read_in_turn(benchmark::State& state, const std::vector<syn::Term>& names, std::size_t first, Read read) {
  std::size_t i = first;
  for (auto _ : state) {
    benchmark::DoNotOptimize(read(names[i]));
    if (++i == names.size()) i = 0;
  }
}

void lookup_hit_replica(benchmark::State& state) {
  auto& r = replica();
  auto reg = r.replica->registry("s");
  // Each thread starts at its own place in the names.
  std::size_t first =
      (static_cast<std::size_t>(state.thread_index()) * kNames) / static_cast<std::size_t>(state.threads());
  read_in_turn(state, r.names, first, [&](const syn::Term& name) { return reg.lookup(name); });
}
BENCHMARK(lookup_hit_replica)->Threads(1)->Threads(2)->UseRealTime();

void lookup_hit_replica_long_names(benchmark::State& state) {
  auto& r = long_names_replica();
  auto reg = r.replica->registry("s");
  read_in_turn(state, r.names, 0, [&](const syn::Term& name) { return reg.lookup(name); });
}
BENCHMARK(lookup_hit_replica_long_names);

void whereis_hit_replica(benchmark::State& state) {
  auto& r = replica();
  auto reg = r.replica->registry("s");
  read_in_turn(state, r.names, 0, [&](const syn::Term& name) { return reg.whereis(name); });
}
BENCHMARK(whereis_hit_replica);

void lookup_hit_owner(benchmark::State& state) {
  auto& r = replica();
  auto reg = r.owner->registry("s");
  read_in_turn(state, r.names, 0, [&](const syn::Term& name) { return reg.lookup(name); });
}
BENCHMARK(lookup_hit_owner);

// ---- the parts --------------------------------------------------------------------------

void part_encode_key(benchmark::State& state) {
  auto names = make_names();
  std::string key;
  std::size_t i = 0;
  for (auto _ : state) {
    key.clear();
    syn::wire::append_canonical(key, names[i]);
    benchmark::DoNotOptimize(key.data());
    if (++i == kNames) i = 0;
  }
}
BENCHMARK(part_encode_key);

void part_hash(benchmark::State& state) {
  std::vector<std::string> keys;
  for (const auto& n : make_names()) keys.push_back(syn::wire::canonical(n));
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(syn::detail::KeyHash{}(keys[i]));
    if (++i == kNames) i = 0;
  }
}
BENCHMARK(part_hash);

void part_shared_lock(benchmark::State& state) {
  static std::shared_mutex mutex;
  for (auto _ : state) {
    mutex.lock_shared();
    benchmark::ClobberMemory();
    mutex.unlock_shared();
  }
}
BENCHMARK(part_shared_lock)->Threads(1)->Threads(2)->UseRealTime();

void part_bare_map(benchmark::State& state) {
  absl::flat_hash_map<std::string, int, syn::detail::KeyHash, syn::detail::KeyEq> map;
  std::vector<std::string> keys;
  for (const auto& n : make_names()) {
    keys.push_back(syn::wire::canonical(n));
    map.emplace(keys.back(), 1);
  }
  std::size_t i = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(map.find(std::string_view(keys[i])));
    if (++i == kNames) i = 0;
  }
}
BENCHMARK(part_bare_map);

// The floor of a lookup by Term: encode the name, then one hash map (what lookup adds beyond
// this is the shard, its lock, and building the answer).
void part_encode_and_bare_map(benchmark::State& state) {
  absl::flat_hash_map<std::string, int, syn::detail::KeyHash, syn::detail::KeyEq> map;
  auto names = make_names();
  for (const auto& n : names) map.emplace(syn::wire::canonical(n), 1);
  std::string key;
  std::size_t i = 0;
  for (auto _ : state) {
    key.clear();
    syn::wire::append_canonical(key, names[i]);
    benchmark::DoNotOptimize(map.find(std::string_view(key)));
    if (++i == kNames) i = 0;
  }
}
BENCHMARK(part_encode_and_bare_map);

// The same with registry-sized slots (a 40-byte entry beside the key), in 64 shards.
void part_sharded_72(benchmark::State& state) {
  struct Value {
    char bytes[40];
  };
  std::vector<absl::flat_hash_map<std::string, Value, syn::detail::KeyHash, syn::detail::KeyEq>> maps(
      static_cast<std::size_t>(state.range(0)));
  auto names = make_names();
  for (const auto& n : names) {
    auto k = syn::wire::canonical(n);
    maps[syn::detail::shard_index_64(k) % maps.size()].emplace(k, Value{});
  }
  std::string key;
  std::size_t i = 0;
  for (auto _ : state) {
    key.clear();
    syn::wire::append_canonical(key, names[i]);
    auto& m = maps[syn::detail::shard_index_64(key) % maps.size()];
    benchmark::DoNotOptimize(m.find(std::string_view(key)));
    if (++i == kNames) i = 0;
  }
}
BENCHMARK(part_sharded_72)->Arg(1)->Arg(64);

}  // namespace

BENCHMARK_MAIN();
