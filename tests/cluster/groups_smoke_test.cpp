#include "support/cluster.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>

using namespace syn;
using syn::test::eventually;

TEST_CASE("groups: join, members everywhere, publish, multi_call, subscription", "[groups][smoke]") {
  syn::test::Cluster cluster(3, {"chat"});
  REQUIRE(cluster.wait_full_mesh());
  REQUIRE(eventually([&] { return cluster[2].subcluster_nodes(Kind::groups, "chat").size() == 2; }));
  auto g0 = cluster[0].groups("chat");
  auto g2 = cluster[2].groups("chat");

  std::mutex mutex;
  std::vector<GroupEvent> events;
  std::vector<Member> current;
  auto sub = g2.monitor(
      "room",
      [&](const GroupEvent& e) {
        std::lock_guard lock(mutex);
        events.push_back(e);
      },
      &current);
  CHECK(current.empty());

  auto a = cluster[0].spawn();
  auto b = cluster[1].spawn();
  auto c = cluster[2].spawn();
  REQUIRE(g0.join("room", a.pid(), "alice"));
  REQUIRE(g2.join("room", b.pid(), "bob"));  // remote caller
  REQUIRE(g2.join("room", c.pid(), "carol"));
  CHECK(g2.member_count("room") >= 2);
  REQUIRE(eventually([&] { return g0.member_count("room") == 3 && g2.member_count("room") == 3; }));
  CHECK(g0.members("room") == g2.members("room"));
  CHECK(g2.member_count("room", cluster[1].name()) == 1);
  CHECK(g2.local_member_count("room") == 1);
  CHECK(g2.group_names() == std::vector<Term>{"room"});

  CHECK(g0.publish("room", "hi") == 3);
  for (auto* p : {&a, &b, &c}) {
    auto m = p->receive(std::chrono::seconds(5));
    REQUIRE(m);
    CHECK(m->body == "hi");
  }

  std::thread replier([&] {
    for (auto* p : {&b, &c}) {
      auto m = p->receive(std::chrono::seconds(5));
      if (m && m->is_multi_call()) m->reply(Term{{"from", m->caller_meta()}});
    }
  });
  auto result = g0.multi_call("room", "ping", std::chrono::milliseconds(500));
  replier.join();
  CHECK(result.replies.size() == 2);
  REQUIRE(result.bad_replies.size() == 1);
  CHECK(result.bad_replies[0].pid == a.pid());

  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return events.size() == 3;
  }));
  b.exit("gone");
  REQUIRE(eventually([&] { return g0.member_count("room") == 2 && g2.member_count("room") == 2; }));
  REQUIRE(eventually([&] {
    std::lock_guard lock(mutex);
    return events.size() == 4 && events.back().type == GroupEvent::Type::leave;
  }));
  auto updated = g2.update_member("room", a.pid(), [](const Term& m) { return m.get<std::string>() + "!"; });
  REQUIRE(updated);
  CHECK(updated->meta == "alice!");
  CHECK(g2.member("room", a.pid())->meta == "alice!");
}
