// The tables' invariant checks (check_invariants) hold on tables kept by their own helpers, and
// name each rule a table breaks when its state is corrupted by hand: the checks the storm tests
// and the simulator rely on can fail.
#include "groups/groups_table.hpp"
#include "registry/registry_table.hpp"

#include <catch2/catch.hpp>

using namespace syn;
using namespace syn::detail;

namespace {

bool mentions(const std::vector<std::string>& lines, const std::string& what) {
  for (const auto& line : lines) {
    if (line.find(what) != std::string::npos) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("registry table invariants: kept by the helpers, broken by hand", "[unit][tables]") {
  const std::uint32_t self = intern_node_name("inv-self");
  const std::uint32_t other = intern_node_name("inv-other");
  const std::uint32_t third = intern_node_name("inv-third");
  RegistryTable table;
  auto& shard = table.shard_for("k");
  {
    RegistryTable::Shard::WriteLock lock(shard);
    shard.put("k", RegEntry(Pid::from_atom(other, 1, 1), 10, "", nullptr));
    shard.put("k2", RegEntry(Pid::from_atom(self, 1, 2), 11, "", nullptr));
    auto it = shard.entries.find(std::string_view("k"));
    shard.replace(it, RegEntry(Pid::from_atom(third, 1, 3), 12, "", nullptr));
    shard.hidden["k"].push_back(RegEntry(Pid::from_atom(other, 1, 1), 10, "", nullptr));
  }
  CHECK(table.check_invariants(self).empty());

  SECTION("a per-node count off by one") {
    {
      RegistryTable::Shard::WriteLock lock(shard);
      ++shard.per_node[third];
    }
    CHECK(mentions(table.check_invariants(self), "per-node count"));
  }
  SECTION("a hidden registration of the shown one's node") {
    {
      RegistryTable::Shard::WriteLock lock(shard);
      shard.hidden["k"].push_back(RegEntry(Pid::from_atom(third, 1, 9), 5, "", nullptr));
    }
    CHECK(mentions(table.check_invariants(self), "of the shown one's node"));
  }
  SECTION("a hidden registration with nothing shown") {
    {
      RegistryTable::Shard::WriteLock lock(shard);
      shard.hidden["gone"].push_back(RegEntry(Pid::from_atom(other, 1, 4), 5, "", nullptr));
    }
    CHECK(mentions(table.check_invariants(self), "no shown one"));
  }
}

TEST_CASE("groups table invariants: kept by the helpers, broken by hand", "[unit][tables]") {
  const std::uint32_t self = intern_node_name("inv-self");
  const std::uint32_t other = intern_node_name("inv-other");
  GroupsTable table;
  auto& shard = table.shard_for("g");
  {
    std::unique_lock lock(shard.mutex);
    auto& group = shard.groups["g"];
    group.put(Pid::from_atom(self, 1, 1), MemberRec{1, CompactBytes(""), nullptr});
    group.put(Pid::from_atom(other, 1, 2), MemberRec{2, CompactBytes(""), nullptr});
    group.erase(group.members.find(Pid::from_atom(self, 1, 1)));
  }
  CHECK(table.check_invariants(self).empty());

  SECTION("a per-node count that does not match the members") {
    {
      std::unique_lock lock(shard.mutex);
      ++shard.groups["g"].per_node[self];
    }
    CHECK(mentions(table.check_invariants(self), "per-node counts"));
  }
  SECTION("an empty group left behind") {
    {
      std::unique_lock lock(shard.mutex);
      shard.groups["empty"];
    }
    CHECK(mentions(table.check_invariants(self), "an empty group"));
  }
}
