// Messaging to groups (SPEC 4): publish and local_publish (exact counts, exactly one copy per
// member, order per publisher and member) and multi_call (replies paired with their members;
// silent, dead and unreachable members as bad replies; about one timeout at most; late
// replies dropped).
#include "cluster/groups_helpers.hpp"
#include "node/node_core.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace syn;
using namespace syn::test::grp;
using syn::test::eventually;
using syn::test::stays;

namespace {

/// Three nodes in scope "s", fully meshed.
struct Three {
  Nodes nodes;
  Node* n[3];
  explicit Three(const std::string& prefix) {
    for (int i = 0; i < 3; ++i) n[i] = &nodes.add(prefix + std::to_string(i + 1), {"s"});
    REQUIRE(wait_scope_mesh({n[0], n[1], n[2]}, "s"));
  }
  Groups g(int i) { return n[i]->groups("s"); }
};

/// Receives one message with `body` (nothing_more checks that no second copy follows).
void receives_once(Process& p, const Term& body) {
  INFO("member " << p.pid());
  auto m = p.receive(std::chrono::seconds(5));
  REQUIRE(m);
  CHECK(m->body == body);
  CHECK_FALSE(m->is_multi_call());
}

/// No member gets anything more for a moment.
bool nothing_more(const std::vector<Process>& members) {
  return stays(
      [&] {
        for (auto& p : members) {
          if (p.pending() != 0) return false;
        }
        return true;
      },
      50ms);
}

}  // namespace

TEST_CASE("groups: publish and local_publish", "[groups][messaging]") {
  Three t("gpub");
  std::vector<Process> members;
  for (int i = 0; i < 3; ++i) {
    for (int k = 0; k < 2; ++k) members.push_back(t.n[i]->spawn());
  }
  auto outsider = t.n[0]->spawn();
  for (std::size_t i = 0; i < members.size(); ++i) {
    REQUIRE(t.g(static_cast<int>((i + 1) % 3)).join("room", members[i].pid(), static_cast<int>(i)));
  }
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return t.g(i).member_count("room") == 6; }));

  // From each node: every member once.
  for (int from = 0; from < 3; ++from) {
    Term body = Term{{"from", from}};
    CHECK(t.g(from).publish("room", body) == 6);
    for (auto& p : members) receives_once(p, body);
    CHECK(nothing_more(members));
  }
  CHECK(outsider.pending() == 0);

  // local_publish: the members of the calling node only.
  for (int from = 0; from < 3; ++from) {
    Term body = Term{{"local", from}};
    CHECK(t.g(from).local_publish("room", body) == 2);
    for (int k = 0; k < 2; ++k) receives_once(members[from * 2 + k], body);
    CHECK(nothing_more(members));
  }

  // Unknown group, a group that became empty, a node with no local member: 0.
  CHECK(t.g(0).publish("nobody", "x") == 0);
  CHECK(t.g(0).local_publish("nobody", "x") == 0);
  auto lone = t.n[1]->spawn();
  REQUIRE(t.g(1).join("emptied", lone.pid()));
  REQUIRE(t.g(1).leave("emptied", lone.pid()));
  CHECK(t.g(1).publish("emptied", "x") == 0);
  CHECK(lone.pending() == 0);
  REQUIRE(t.g(0).join("remote-only", members[2].pid()));
  CHECK(t.g(0).local_publish("remote-only", "x") == 0);
  CHECK(t.g(0).publish("remote-only", "y") == 1);  // read-your-writes: the caller's replica has it
  receives_once(members[2], "y");
  CHECK(nothing_more(members));

  // A dead member is not counted once its death is known.
  Pid dead = members[5].pid();
  members[5].exit("gone");
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return !t.g(i).is_member("room", dead); }));
  for (int from = 0; from < 3; ++from) {
    CHECK(t.g(from).publish("room", "after") == 5);
    for (int i = 0; i < 5; ++i) receives_once(members[i], "after");
  }
  CHECK(nothing_more(members));
}

TEST_CASE("groups: publish keeps the order per publisher and member", "[groups][messaging]") {
  Three t("gord");
  std::vector<Process> members;
  for (int i = 0; i < 3; ++i) members.push_back(t.n[i]->spawn());
  members.push_back(t.n[1]->spawn());
  for (auto& p : members) REQUIRE(t.g(0).join("ordered", p.pid()));
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return t.g(i).member_count("ordered") == 4; }));

  constexpr int kMessages = 500;
  // Two publishers at once (a and c), each numbering its own messages.
  std::atomic<std::size_t> counted{0};
  auto publisher = [&](int node) {
    auto g = t.g(node);
    for (int i = 0; i < kMessages; ++i) counted += g.publish("ordered", Term{{"from", node}, {"n", i}});
  };
  std::thread pa(publisher, 0), pc(publisher, 2);
  pa.join();
  pc.join();
  CHECK(counted == 2 * kMessages * members.size());
  for (auto& p : members) {
    INFO("member " << p.pid());
    std::map<int, int> next = {{0, 0}, {2, 0}};
    int received = 0;
    bool in_order = true;
    while (received < 2 * kMessages) {
      auto m = p.receive(std::chrono::seconds(10));
      if (!m) break;
      ++received;
      int from = m->body["from"].get<int>(), n = m->body["n"].get<int>();
      if (next[from] != n) in_order = false;
      next[from] = n + 1;
    }
    CHECK(received == 2 * kMessages);
    CHECK(in_order);
    CHECK(next[0] == kMessages);
    CHECK(next[2] == kMessages);
    CHECK(stays([&] { return p.pending() == 0; }, 30ms));
  }
}

namespace {

/// Runs a member: answers every multi_call with {"pid", "meta", "body"} (unless `silent`),
/// until stopped or dead. Also counts the requests it got.
struct Responder {
  Process process;
  std::atomic<bool> stop{false};
  std::atomic<int> requests{0};
  std::thread thread;
  Responder(Process p, bool silent) : process(std::move(p)) {
    thread = std::thread([this, silent] {
      while (!stop) {
        auto m = process.receive(std::chrono::milliseconds(20));
        if (!m || !m->is_multi_call()) continue;
        ++requests;
        if (!silent) m->reply(Term{{"pid", process.pid().to_string()}, {"meta", m->caller_meta()}, {"body", m->body}});
      }
    });
  }
  ~Responder() {
    stop = true;
    thread.join();
  }
};

}  // namespace

TEST_CASE("groups: multi_call pairs replies with members, silent and dead members are bad replies",
          "[groups][messaging][multi_call]") {
  Three t("gmc");
  Node &a = *t.n[0], &b = *t.n[1], &c = *t.n[2];
  auto ga = t.g(0);
  // Repliers on every node (a's is local to the caller), a silent one on b, one on c that
  // dies when the request comes, one on a that dies too.
  Responder r_a(a.spawn(), false), r_b(b.spawn(), false), r_c(c.spawn(), false);
  auto silent = b.spawn();
  auto dying_c = c.spawn();
  auto dying_a = a.spawn();
  REQUIRE(ga.join("svc", r_a.process.pid(), "ra"));
  REQUIRE(ga.join("svc", r_b.process.pid(), "rb"));
  REQUIRE(ga.join("svc", r_c.process.pid(), Term{{"m", "rc"}}));
  REQUIRE(ga.join("svc", silent.pid(), "silent"));
  REQUIRE(ga.join("svc", dying_c.pid(), "dying_c"));
  REQUIRE(ga.join("svc", dying_a.pid(), "dying_a"));
  Pid dying_c_pid = dying_c.pid(), dying_a_pid = dying_a.pid();
  std::thread killer([&] {
    // Each dies on receiving the request, without answering.
    std::thread ka([&] {
      if (auto m = dying_a.receive(std::chrono::seconds(10))) dying_a.exit("died");
    });
    if (auto m = dying_c.receive(std::chrono::seconds(10))) dying_c.exit("died");
    ka.join();
  });

  const auto timeout = std::chrono::milliseconds(1500);
  auto start = std::chrono::steady_clock::now();
  auto result = ga.multi_call("svc", Term{{"q", 1}}, timeout);
  auto took = std::chrono::steady_clock::now() - start;
  killer.join();
  CHECK(took < 3 * timeout);

  REQUIRE(result.replies.size() == 3);
  for (auto& [member, answer] : result.replies) {
    INFO("reply of " << member.pid << ": " << answer.dump());
    CHECK(answer["pid"] == member.pid.to_string());
    CHECK(answer["meta"] == member.meta);
    CHECK(answer["body"] == Term{{"q", 1}});
  }
  std::map<Pid, Term> replied;
  for (auto& [member, answer] : result.replies) replied[member.pid] = member.meta;
  CHECK(replied == std::map<Pid, Term>{
                       {r_a.process.pid(), "ra"}, {r_b.process.pid(), "rb"}, {r_c.process.pid(), Term{{"m", "rc"}}}});
  std::map<Pid, Term> bad;
  for (auto& m : result.bad_replies) bad[m.pid] = m.meta;
  CHECK(bad == std::map<Pid, Term>{{silent.pid(), "silent"}, {dying_c_pid, "dying_c"}, {dying_a_pid, "dying_a"}});
  CHECK(r_a.requests == 1);
  CHECK(r_b.requests == 1);
  CHECK(r_c.requests == 1);

  // A late reply is dropped: it does not leak into the next call.
  auto request = silent.receive(std::chrono::seconds(5));
  REQUIRE(request);
  REQUIRE(request->is_multi_call());
  CHECK(request->caller_meta() == "silent");
  request->reply("late");
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return t.g(i).member_count("svc") == 4; }));
  }
  std::thread answer_silent([&] {
    if (auto m = silent.receive(std::chrono::seconds(10))) {
      m->reply("second");
      m->reply("twice");  // only the first answer counts
    }
  });
  // From another node this time.
  auto second = t.g(2).multi_call("svc", "again", std::chrono::milliseconds(3000));
  answer_silent.join();
  REQUIRE(second.replies.size() == 4);
  CHECK(second.bad_replies.empty());
  for (auto& [member, answer] : second.replies) {
    if (member.pid == silent.pid()) {
      CHECK(answer == "second");
    } else {
      CHECK(answer["body"] == "again");
    }
  }

  // No members: nothing, at once.
  auto none = ga.multi_call("nobody", "x", std::chrono::milliseconds(5000));
  CHECK(none.replies.empty());
  CHECK(none.bad_replies.empty());
}

TEST_CASE("groups: multi_call answers of a plain message and replies to nothing are harmless",
          "[groups][messaging][multi_call]") {
  Three t("gmcp");
  auto p = t.n[1]->spawn();
  REQUIRE(t.g(0).join("g", p.pid(), "m"));
  t.n[0]->send(p.pid(), "plain");
  auto m = p.receive(std::chrono::seconds(5));
  REQUIRE(m);
  CHECK_FALSE(m->is_multi_call());
  CHECK(m->caller_meta().is_null());
  m->reply("ignored");  // not a call: dropped
  std::thread replier([&] {
    if (auto r = p.receive(std::chrono::seconds(5))) r->reply(r->caller_meta());
  });
  auto result = t.g(0).multi_call("g", "q", std::chrono::milliseconds(3000));
  replier.join();
  REQUIRE(result.replies.size() == 1);
  CHECK(result.replies[0].first == Member{p.pid(), "m"});
  CHECK(result.replies[0].second == "m");
}

TEST_CASE("groups: multi_call requests dropped without a reply leave no watch behind",
          "[groups][messaging][multi_call]") {
  Three t("gmca");
  Node &a = *t.n[0], &b = *t.n[1];
  auto watches = [](Node& n) { return n.core()->monitors().watch_count(); };
  const std::size_t before_a = watches(a), before_b = watches(b);
  // Members that read the request and drop it, neither answering nor dying: one on the caller's
  // node, one on another.
  auto local = a.spawn();
  auto remote = b.spawn();
  auto ga = t.g(0);
  REQUIRE(ga.join("svc", local.pid(), "local"));
  REQUIRE(ga.join("svc", remote.pid(), "remote"));
  std::atomic<int> dropped{0};
  auto drop_one = [&dropped](Process& p) {
    if (auto m = p.receive(std::chrono::seconds(10))) {
      if (m->is_multi_call()) ++dropped;
    }  // the request goes out of scope here, unanswered
  };
  std::thread drop_local([&] { drop_one(local); });
  std::thread drop_remote([&] { drop_one(remote); });
  auto result = ga.multi_call("svc", "q", std::chrono::milliseconds(20000));
  drop_local.join();
  drop_remote.join();
  CHECK(dropped == 2);
  CHECK(result.replies.empty());
  REQUIRE(result.bad_replies.size() == 2);
  // Both members live on, and the watches placed for the call are gone on both nodes.
  CHECK(local.alive());
  CHECK(remote.alive());
  CHECK(eventually([&] { return watches(a) == before_a && watches(b) == before_b; }));
}

TEST_CASE("groups: multi_call with members on a node that goes down", "[groups][messaging][multi_call]") {
  Three t("gmcd");
  Node& a = *t.n[0];
  Responder local(a.spawn(), false);
  auto on_b1 = t.n[1]->spawn();
  auto on_b2 = t.n[1]->spawn();
  auto ga = t.g(0);
  REQUIRE(ga.join("svc", local.process.pid(), "local"));
  REQUIRE(ga.join("svc", on_b1.pid(), "b1"));
  REQUIRE(ga.join("svc", on_b2.pid(), "b2"));
  Pid b1 = on_b1.pid(), b2 = on_b2.pid();
  // b's members get the request, then b goes away without any of them answering.
  std::thread stopper([&] {
    auto m = on_b1.receive(std::chrono::seconds(5));
    if (m) t.nodes.stop(1);
  });
  const auto timeout = std::chrono::milliseconds(2000);
  auto start = std::chrono::steady_clock::now();
  auto result = ga.multi_call("svc", "q", timeout);
  auto took = std::chrono::steady_clock::now() - start;
  stopper.join();
  CHECK(took < 3 * timeout);
  REQUIRE(result.replies.size() == 1);
  CHECK(result.replies[0].first == Member{local.process.pid(), "local"});
  std::map<Pid, Term> bad;
  for (auto& m : result.bad_replies) bad[m.pid] = m.meta;
  CHECK(bad == std::map<Pid, Term>{{b1, "b1"}, {b2, "b2"}});
  REQUIRE(eventually([&] { return ga.member_count("svc") == 1; }));
}

TEST_CASE("groups: a multi_call whose timeout is milliseconds::max() waits for the answers",
          "[groups][messaging][multi_call]") {
  // The deadline saturates: before, now + max overflowed into the past and the call returned
  // at once with every member a bad reply.
  Three t("gmcmax");
  Responder remote(t.n[1]->spawn(), false);
  REQUIRE(t.g(0).join("svc", remote.process.pid(), "r"));
  REQUIRE(eventually([&] { return t.g(2).member_count("svc") == 1; }));
  auto result = t.g(2).multi_call("svc", "forever", std::chrono::milliseconds::max());
  REQUIRE(result.replies.size() == 1);
  CHECK(result.bad_replies.empty());
  CHECK(result.replies.front().second["body"] == "forever");
}
