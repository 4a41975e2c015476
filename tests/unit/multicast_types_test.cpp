// The multicast value types (include/syn/multicast.hpp): names of leave reasons, and ViewId as
// the regular value type API.md promises (==, <=>, std::hash).
#include <syn/multicast.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <unordered_set>

using namespace syn;

TEST_CASE("multicast: every leave reason has its name", "[unit][multicast]") {
  CHECK(to_string(LeaveReason::left) == "left");
  CHECK(to_string(LeaveReason::process_exit) == "process_exit");
  CHECK(to_string(LeaveReason::node_down) == "node_down");
  CHECK(to_string(LeaveReason::evicted) == "evicted");
}

TEST_CASE("multicast: view ids order by number, then coordinator, and hash as they compare", "[unit][multicast]") {
  Pid a = Pid("a", 1, 1);
  Pid b = Pid("b", 1, 1);
  REQUIRE(a < b);
  ViewId a1{a, 1}, b1{b, 1}, a2{a, 2};
  CHECK(a1 < b1);  // the same number: the coordinator decides
  CHECK(b1 < a2);  // a higher number wins over any coordinator
  CHECK(a1 == ViewId{a, 1});
  CHECK(a1 != b1);
  std::set<ViewId> ordered{a2, b1, a1};
  CHECK(std::vector<ViewId>(ordered.begin(), ordered.end()) == std::vector<ViewId>{a1, b1, a2});
  std::unordered_set<ViewId> hashed{a1, b1, a2, ViewId{a, 1}};
  CHECK(hashed.size() == 3);
  CHECK(std::hash<ViewId>{}(a1) == std::hash<ViewId>{}(ViewId{a, 1}));
}

TEST_CASE("multicast: views and view changes compare by value", "[unit][multicast]") {
  Pid a = Pid("a", 1, 1);
  Pid b = Pid("b", 1, 2);
  View v{Term("g"), ViewId{a, 3}, {a, b}};
  View same = v;
  CHECK(v == same);
  same.members = {b, a};  // join order matters
  CHECK_FALSE(v == same);
  ViewChange change{v, {b}, {{Pid("c", 1, 1), LeaveReason::node_down}}, false};
  ViewChange merged = change;
  merged.merged = true;
  CHECK_FALSE(change == merged);
}
