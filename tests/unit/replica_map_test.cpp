// The registry's shard map: the writers' operations against a model, and the lock-free probe.
#include "tables/replica_map.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <random>
#include <string>

using syn::detail::KeyHash;
using syn::detail::RegEntry;
using syn::detail::RegEntrySnapshot;
using syn::detail::ReplicaMap;

namespace {

// Short keys live inline in the slot, keys over 15 bytes on the heap: both kinds are mixed.
std::string key_of(int i) {
  return i % 3 == 0 ? "a-rather-long-registered-name:" + std::to_string(i) : "k" + std::to_string(i);
}

RegEntry entry_of(int i, int version) {
  return RegEntry(syn::Pid::from_atom(1, 1, static_cast<std::uint64_t>(i)), version,
                  version % 2 ? "meta:" + std::to_string(version) : std::string(), nullptr);
}

ReplicaMap::Probe probe(const ReplicaMap& map, const std::string& key, RegEntrySnapshot& out) {
  return map.probe(
      key, KeyHash{}(key), [] { return true; }, out);
}

// Every key of the model is found by find and by probe with its entry; the rest are not;
// iteration visits exactly the model.
void check_against(const ReplicaMap& map, const std::map<std::string, int>& model, int key_space) {
  REQUIRE(map.size() == model.size());
  for (int i = 0; i < key_space; ++i) {
    auto key = key_of(i);
    auto expected = model.find(key);
    auto it = map.find(key);
    RegEntrySnapshot snap;
    auto found = probe(map, key, snap);
    if (expected == model.end()) {
      CHECK(it == map.end());
      CHECK(found == ReplicaMap::Probe::miss);
      continue;
    }
    REQUIRE(it != map.end());
    CHECK(it->first.view() == key);
    CHECK(it->second.time == expected->second);
    REQUIRE(found == ReplicaMap::Probe::hit);
    CHECK(snap.pid.id() == static_cast<std::uint64_t>(i));
    CHECK(snap.time == expected->second);
    CHECK(snap.meta() == it->second.meta());
  }
  std::size_t visited = 0;
  for (const auto& [key, entry] : map) {
    ++visited;
    auto expected = model.find(std::string(key.view()));
    REQUIRE(expected != model.end());
    CHECK(entry.time == expected->second);
  }
  CHECK(visited == model.size());
}

}  // namespace

TEST_CASE("ReplicaMap agrees with a model through inserts, overwrites, erases and clears", "[unit][registry]") {
  constexpr int kKeys = 3000;
  ReplicaMap map;
  std::map<std::string, int> model;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> pick(0, kKeys - 1);
  for (int round = 0; round < 6; ++round) {
    for (int op = 0; op < 4000; ++op) {
      int i = pick(rng);
      auto key = key_of(i);
      int version = round * 10000 + op;
      if (rng() % 3 == 0) {
        auto it = map.find(key);
        CHECK((it != map.end()) == (model.count(key) == 1));
        if (it != map.end()) map.erase(it);
        model.erase(key);
      } else {
        auto [it, inserted] = map.try_emplace(key);
        CHECK(inserted == (model.count(key) == 0));
        it->second = entry_of(i, version);
        model[key] = version;
      }
    }
    check_against(map, model, kKeys);
    if (round == 3) {
      map.clear();
      model.clear();
      check_against(map, model, kKeys);
    }
  }
}

TEST_CASE("ReplicaMap erasing every key leaves an empty map that still grows", "[unit][registry]") {
  ReplicaMap map;
  std::map<std::string, int> model;
  for (int i = 0; i < 500; ++i) {
    map.try_emplace(key_of(i)).first->second = entry_of(i, i);
    model[key_of(i)] = i;
  }
  for (int i = 0; i < 500; i += 2) {
    map.erase(map.find(key_of(i)));
    model.erase(key_of(i));
  }
  check_against(map, model, 500);
  for (int i = 1; i < 500; i += 2) map.erase(map.find(key_of(i)));
  model.clear();
  check_against(map, model, 500);
  CHECK(map.begin() == map.end());
  map.try_emplace(key_of(3)).first->second = entry_of(3, 9);
  model[key_of(3)] = 9;
  check_against(map, model, 500);
}
