// Processes: spawn, mailboxes, local and remote sends, ordering, exits, handles.
#include "cluster/cluster_helpers.hpp"

#include <catch2/catch.hpp>

#include <future>
#include <set>
#include <thread>

using namespace syn;
using namespace std::chrono_literals;
using syn::test::eventually;
using syn::test::sees_exactly;
using syn::test::stays;
using syn::test::test_options;

TEST_CASE("spawn makes distinct live processes of this node", "[cluster][processes]") {
  Node node(test_options("spawner"));
  std::vector<Process> processes;
  std::set<Pid> pids;
  for (int i = 0; i < 100; ++i) {
    processes.push_back(node.spawn());
    const Pid& pid = processes.back().pid();
    CHECK(pid.node() == "spawner");
    CHECK(pid.creation() == node.creation());
    CHECK_FALSE(pid.is_null());
    CHECK(processes.back().alive());
    CHECK_FALSE(processes.back().exit_reason().has_value());
    CHECK(node.is_alive(pid));
    pids.insert(pid);
  }
  CHECK(pids.size() == 100);
}

TEST_CASE("local messages arrive in order: receive, try_receive and pending", "[cluster][processes]") {
  Node node(test_options("local"));
  auto p = node.spawn();
  CHECK(p.pending() == 0);
  CHECK_FALSE(p.try_receive().has_value());
  CHECK_FALSE(p.receive(20ms).has_value());  // timeout: nothing

  for (int i = 0; i < 10; ++i) node.send(p.pid(), i);
  REQUIRE(eventually([&] { return p.pending() == 10; }));
  auto first = p.try_receive();
  REQUIRE(first);
  CHECK(first->body == 0);
  CHECK_FALSE(first->is_multi_call());
  CHECK(first->caller_meta().is_null());
  first->reply("ignored");  // a reply to a plain message is dropped, harmlessly
  CHECK(p.pending() == 9);
  for (int i = 1; i < 10; ++i) {
    auto m = p.receive(1s);
    REQUIRE(m);
    CHECK(m->body == i);
  }
  CHECK(p.pending() == 0);
  CHECK_FALSE(p.try_receive().has_value());
}

TEST_CASE("messages cross between processes on different nodes", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "cross");
  REQUIRE(cluster.wait_full_mesh());
  auto a = cluster[0].spawn();
  auto b = cluster[1].spawn();
  const Term body = {{"hello", 1}, {"list", {1, "two", nullptr, 3.5, false}}, {"nested", {{"x", {{"y", "z"}}}}}};
  cluster[0].send(b.pid(), body);
  auto m = b.receive(5s);
  REQUIRE(m);
  CHECK(m->body == body);

  // The pid travels inside a message and is usable on the other side.
  cluster[1].send(a.pid(), Term{{"reply_to", b.pid()}, {"n", -42}});
  auto back = a.receive(5s);
  REQUIRE(back);
  CHECK(back->body["n"] == -42);
  Pid reply_to = back->body["reply_to"].get<Pid>();
  CHECK(reply_to == b.pid());
  cluster[0].send(reply_to, "pong");
  auto pong = b.receive(5s);
  REQUIRE(pong);
  CHECK(pong->body == "pong");
}

TEST_CASE("1000 messages from one node to a process on another arrive in order", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "order");
  REQUIRE(cluster.wait_full_mesh());
  auto receiver = cluster[1].spawn();
  for (int i = 0; i < 1000; ++i) cluster[0].send(receiver.pid(), Term{{"seq", i}, {"pad", std::string(i % 50, 'x')}});
  for (int i = 0; i < 1000; ++i) {
    auto m = receiver.receive(5s);
    REQUIRE(m);
    REQUIRE(m->body["seq"] == i);
  }
  CHECK_FALSE(receiver.try_receive().has_value());
}

TEST_CASE("each sender's messages keep their order when senders interleave", "[cluster][processes]") {
  syn::test::Cluster cluster(3, {}, "interleave");
  REQUIRE(cluster.wait_full_mesh());
  auto receiver = cluster[2].spawn();
  constexpr int kPerSender = 500;
  // Two remote nodes, and two threads on one of them, plus a local sender.
  auto sender = [&](Node& node, int id) {
    return std::async(std::launch::async, [&node, id, pid = receiver.pid()] {
      for (int i = 0; i < kPerSender; ++i) node.send(pid, Term{id, i});
    });
  };
  auto s1 = sender(cluster[0], 0);
  auto s2 = sender(cluster[1], 1);
  auto s3 = sender(cluster[1], 2);
  auto s4 = sender(cluster[2], 3);
  s1.get();
  s2.get();
  s3.get();
  s4.get();
  std::vector<int> next(4, 0);
  for (int i = 0; i < 4 * kPerSender; ++i) {
    auto m = receiver.receive(5s);
    REQUIRE(m);
    int id = m->body[0].get<int>();
    REQUIRE(m->body[1] == next.at(id));
    ++next[id];
  }
  CHECK(next == std::vector<int>(4, kPerSender));
}

// A sending thread sends a frame itself when the engine is idle, and queues behind the engine
// when it is busy (a burst, or engine work such as a join in flight). Both ways share one order.
TEST_CASE("a sender's messages keep their order across lone sends, bursts and engine work", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {"work"}, "handoff");
  REQUIRE(cluster.wait_full_mesh());
  auto receiver = cluster[1].spawn();
  auto member = cluster[0].spawn();
  int sent = 0;
  int received = 0;
  auto expect_all = [&] {
    while (received < sent) {
      auto m = receiver.receive(5s);
      REQUIRE(m);
      REQUIRE(m->body == received);
      ++received;
    }
  };
  for (int round = 0; round < 40; ++round) {
    // A lone message after a quiet moment: the engine waits in poll.
    cluster[0].send(receiver.pid(), sent++);
    expect_all();
    // A burst: the first may go alone, the rest queue behind it.
    for (int i = 0; i < 25; ++i) cluster[0].send(receiver.pid(), sent++);
    // Engine work in between: a join replicates while messages follow it.
    REQUIRE(cluster[0].groups("work").join("g" + std::to_string(round), member.pid()));
    for (int i = 0; i < 5; ++i) cluster[0].send(receiver.pid(), sent++);
    if (round % 2 == 0) expect_all();
  }
  expect_all();
  CHECK(received == 40 * 31);
  CHECK_FALSE(receiver.try_receive().has_value());
}

TEST_CASE("exit kills a local process with its reason", "[cluster][processes]") {
  Node node(test_options("killer"));
  auto p = node.spawn();
  auto bystander = node.spawn();
  node.send(p.pid(), "unread");
  node.exit(p.pid(), Term{{"why", "test"}});
  CHECK_FALSE(p.alive());
  CHECK_FALSE(node.is_alive(p.pid()));
  REQUIRE(p.exit_reason().has_value());
  CHECK(*p.exit_reason() == Term{{"why", "test"}});
  // A dead process receives nothing, not even what was waiting.
  CHECK_FALSE(p.receive(10ms).has_value());
  CHECK_FALSE(p.try_receive().has_value());
  node.send(p.pid(), "too late");
  CHECK_FALSE(p.try_receive().has_value());
  // Dying twice keeps the first reason.
  node.exit(p.pid(), "again");
  p.exit("and again");
  CHECK(*p.exit_reason() == Term{{"why", "test"}});
  CHECK(bystander.alive());
}

TEST_CASE("Process::exit ends the process with its reason", "[cluster][processes]") {
  Node node(test_options("self-exit"));
  auto p = node.spawn();
  p.exit();
  CHECK_FALSE(p.alive());
  CHECK(p.exit_reason() == std::optional<Term>("normal"));
  auto q = node.spawn();
  q.exit(Term::array({"shutdown", 3}));
  CHECK(q.exit_reason() == std::optional<Term>(Term::array({"shutdown", 3})));
  CHECK_FALSE(node.is_alive(q.pid()));
}

TEST_CASE("exit kills a process on another node with its reason", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "rkill");
  REQUIRE(cluster.wait_full_mesh());
  auto victim = cluster[1].spawn();
  auto bystander = cluster[1].spawn();
  cluster[0].exit(victim.pid(), Term{{"remote", true}});
  REQUIRE(eventually([&] { return !victim.alive(); }));
  CHECK(victim.exit_reason() == std::optional<Term>(Term{{"remote", true}}));
  CHECK_FALSE(cluster[1].is_alive(victim.pid()));
  CHECK(bystander.alive());
}

TEST_CASE("a blocked receive returns when the process is killed", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "wake");
  REQUIRE(cluster.wait_full_mesh());
  auto p = cluster[1].spawn();
  auto waiting = std::async(std::launch::async, [&] { return p.receive(60s); });
  REQUIRE(waiting.wait_for(50ms) == std::future_status::timeout);  // really blocked
  cluster[0].exit(p.pid(), "wake up");
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(waiting.get().has_value());
}

TEST_CASE("destroying a Process handle exits it with normal", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "scope");
  REQUIRE(cluster.wait_full_mesh());
  auto log = std::make_shared<syn::test::DownLog>();
  Pid pid;
  {
    auto p = cluster[1].spawn();
    pid = p.pid();
    cluster[0].monitor(pid, log->callback());
    cluster[1].monitor(pid, log->callback());
    // The monitor request and this message travel on the same link, in order: once the
    // message is in the mailbox the remote monitor is in place.
    cluster[0].send(pid, "ordered after the monitor");
    REQUIRE(eventually([&] { return p.pending() == 1; }));
  }
  CHECK_FALSE(cluster[1].is_alive(pid));
  REQUIRE(eventually([&] { return log->size() == 2; }));
  CHECK(log->at(0).second == "normal");
  CHECK(log->at(1).second == "normal");
}

TEST_CASE("messages to dead or unknown pids are dropped silently", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "drop");
  REQUIRE(cluster.wait_full_mesh());
  auto dead_local = cluster[0].spawn();
  auto dead_remote = cluster[1].spawn();
  dead_local.exit("gone");
  dead_remote.exit("gone");
  auto receiver = cluster[1].spawn();
  const Pid unknown_on_peer(cluster[1].name(), cluster[1].creation(), 987654321);
  const Pid unknown_local(cluster[0].name(), cluster[0].creation(), 987654321);
  const Pid old_incarnation(cluster[1].name(), cluster[1].creation() + 1, receiver.pid().id());
  const Pid unknown_node("drop-nobody", 1, 1);
  for (const Pid& pid :
       {dead_local.pid(), dead_remote.pid(), unknown_on_peer, unknown_local, old_incarnation, unknown_node, Pid()}) {
    INFO(pid.to_string());
    cluster[0].send(pid, "lost");
    cluster[0].exit(pid, "lost");
    cluster[1].send(pid, "lost");
    cluster[1].exit(pid, "lost");
  }
  // Both nodes keep working, and nothing was misdelivered to the live process.
  cluster[0].send(receiver.pid(), "first");
  auto m = receiver.receive(5s);
  REQUIRE(m);
  CHECK(m->body == "first");
  CHECK(receiver.alive());
  CHECK(receiver.pending() == 0);
  CHECK(sees_exactly(cluster[0], {"drop2"}));
  CHECK(sees_exactly(cluster[1], {"drop1"}));
  CHECK(cluster[0].stats().malformed_frames == 0);
  CHECK(cluster[1].stats().malformed_frames == 0);
}

TEST_CASE("is_alive is exact for local pids and follows the node for remote ones", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "alive");
  REQUIRE(cluster.wait_full_mesh());
  auto local = cluster[0].spawn();
  CHECK(cluster[0].is_alive(local.pid()));
  CHECK_FALSE(cluster[0].is_alive(Pid()));
  CHECK_FALSE(cluster[0].is_alive(Pid(cluster[0].name(), cluster[0].creation(), 987654321)));
  CHECK_FALSE(cluster[0].is_alive(Pid(cluster[0].name(), cluster[0].creation() + 1, local.pid().id())));
  CHECK_FALSE(cluster[0].is_alive(Pid("alive-nobody", 1, 1)));
  local.exit("done");
  CHECK_FALSE(cluster[0].is_alive(local.pid()));

  auto remote = cluster[1].spawn();
  CHECK(cluster[0].is_alive(remote.pid()));
  CHECK_FALSE(cluster[0].is_alive(Pid(cluster[1].name(), cluster[1].creation() + 1, remote.pid().id())));
  const Pid remote_pid = remote.pid();
  cluster.stop(1);
  CHECK_FALSE(remote.alive());
  CHECK(eventually([&] { return !cluster[0].is_alive(remote_pid); }));
}

TEST_CASE("Process is a move-only owning handle", "[cluster][processes]") {
  Node node(test_options("mover"));

  SECTION("an empty handle") {
    Process empty;
    CHECK(empty.pid().is_null());
    CHECK_FALSE(empty.alive());
    CHECK_FALSE(empty.exit_reason().has_value());
    CHECK_FALSE(empty.receive(1ms).has_value());
    CHECK_FALSE(empty.try_receive().has_value());
    CHECK(empty.pending() == 0);
    empty.exit("nothing to exit");
  }
  SECTION("moving constructs a new owner; the moved-from handle no longer owns") {
    auto p = node.spawn();
    const Pid pid = p.pid();
    node.send(pid, "kept");
    {
      Process q(std::move(p));
      CHECK(q.pid() == pid);
      CHECK(q.alive());
      CHECK_FALSE(p.alive());             // NOLINT(bugprone-use-after-move)
      { Process dropped(std::move(p)); }  // destroying an empty handle kills nothing
      CHECK(q.alive());
      CHECK(node.is_alive(pid));
      auto m = q.receive(1s);
      REQUIRE(m);
      CHECK(m->body == "kept");
    }
    CHECK_FALSE(node.is_alive(pid));  // q owned it
  }
  SECTION("move assignment exits the process held before") {
    auto a = node.spawn();
    auto b = node.spawn();
    const Pid pa = a.pid();
    const Pid pb = b.pid();
    auto log = std::make_shared<syn::test::DownLog>();
    node.monitor(pa, log->callback());
    a = std::move(b);
    CHECK(a.pid() == pb);
    CHECK(a.alive());
    CHECK_FALSE(node.is_alive(pa));
    CHECK(node.is_alive(pb));
    REQUIRE(eventually([&] { return log->size() == 1; }));
    CHECK(log->at(0).first == pa);
    CHECK(log->at(0).second == "normal");
    a = std::move(a);  // self-move: nothing happens  NOLINT
    CHECK(node.is_alive(pb));
  }
  SECTION("processes live in a container") {
    std::vector<Process> many;
    for (int i = 0; i < 50; ++i) many.push_back(node.spawn());  // reallocations move them
    for (auto& p : many) CHECK(node.is_alive(p.pid()));
    const Pid first = many.front().pid();
    many.erase(many.begin());
    CHECK_FALSE(node.is_alive(first));
    for (auto& p : many) CHECK(node.is_alive(p.pid()));
  }
}

TEST_CASE("destroying a node kills its processes", "[cluster][processes]") {
  auto node = std::make_unique<Node>(test_options("doomed"));
  auto p = node->spawn();
  auto waiting = std::async(std::launch::async, [&] { return p.receive(60s); });
  node.reset();
  REQUIRE(waiting.wait_for(10s) == std::future_status::ready);
  CHECK_FALSE(waiting.get().has_value());
  CHECK_FALSE(p.alive());
  CHECK(p.exit_reason().has_value());
  p.exit("after the node");  // harmless
}

TEST_CASE("many threads send to a remote process concurrently without loss", "[cluster][processes]") {
  syn::test::Cluster cluster(2, {}, "threads");
  REQUIRE(cluster.wait_full_mesh());
  auto receiver = cluster[1].spawn();
  constexpr int kThreads = 4;
  constexpr int kEach = 1000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i) cluster[0].send(receiver.pid(), Term{t, i});
    });
  }
  for (auto& t : threads) t.join();
  std::vector<int> next(kThreads, 0);
  for (int i = 0; i < kThreads * kEach; ++i) {
    auto m = receiver.receive(5s);
    REQUIRE(m);
    int t = m->body[0].get<int>();
    REQUIRE(m->body[1] == next.at(t));
    ++next[t];
  }
}
