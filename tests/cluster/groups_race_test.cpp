// Races between a remote caller's write and the death of the process at its authority: the
// caller applies the change carried by the authority's reply, and the authority broadcasts
// the removal that the death causes. Whatever the interleaving, the caller must not keep a
// member whose process is dead (SPEC 1: updates arrive in the order they were sent; SPEC 6:
// no entry refers to a dead process).
#include "cluster/groups_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;
using syn::test::stays;

namespace {

std::optional<Pid> pid_in(const std::string& event) {
  auto pos = event.find('<');
  if (pos == std::string::npos) return std::nullopt;
  return Pid::parse(event.substr(pos, event.find('>', pos) - pos + 1));
}

std::size_t members_in(Groups g, const std::vector<Term>& groups) {
  std::size_t n = 0;
  for (auto& group : groups) n += g.member_count(group);
  return n;
}

}  // namespace

TEST_CASE("groups: a remote write racing with the death of the process leaves no stale member", "[groups][race]") {
  // The authority a kills each process from its event handler as soon as the write is applied
  // there (on a's callback thread, concurrently with a answering the caller c).
  auto rec_a = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("grace1", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  Node& c = nodes.add("grace2", {"s"});
  REQUIRE(wait_scope_mesh({&a, &c}, "s"));
  auto ga = a.groups("s"), gc = c.groups("s");
  constexpr int kProcs = 1000;
  std::vector<Term> groups;
  for (int i = 0; i < 7; ++i) groups.push_back("g" + std::to_string(i));

  SECTION("join") {
    std::vector<Process> procs;
    for (int i = 0; i < kProcs; ++i) procs.push_back(a.spawn());
    rec_a->set_hook([&](const std::string& event) {
      if (event.rfind("join", 0) != 0) return;
      if (auto pid = pid_in(event)) a.exit(*pid, "raced");
    });
    std::vector<std::future<Result<void>>> futures;
    for (int i = 0; i < kProcs; ++i) futures.push_back(gc.join_async(groups[i % 7], procs[i].pid()));
    for (auto& f : futures) (void)f.get();
    bool clean = eventually([&] { return members_in(gc, groups) == 0 && members_in(ga, groups) == 0; }, 3s);
    INFO(members_in(gc, groups) << " stale members on the caller");
    CHECK(clean);
  }

  SECTION("update_member") {
    std::vector<Process> procs;
    for (int i = 0; i < kProcs; ++i) {
      procs.push_back(a.spawn());
      (void)ga.join(groups[i % 7], procs.back().pid(), 0);
    }
    REQUIRE(eventually([&] { return members_in(gc, groups) == kProcs; }));
    rec_a->set_hook([&](const std::string& event) {
      if (event.rfind("upd", 0) != 0) return;
      if (auto pid = pid_in(event)) a.exit(*pid, "raced");
    });
    std::vector<std::thread> threads;
    for (int t = 0; t < 4; ++t) {
      threads.emplace_back([&, t] {
        for (int i = t; i < kProcs; i += 4) {
          (void)gc.update_member(groups[i % 7], procs[i].pid(), [](const Term&) { return Term(1); });
        }
      });
    }
    for (auto& th : threads) th.join();
    bool clean = eventually([&] { return members_in(gc, groups) == 0 && members_in(ga, groups) == 0; }, 3s);
    INFO(members_in(gc, groups) << " stale members on the caller");
    CHECK(clean);
  }
}
