// Lifecycle events, readiness and per-scope handlers (SPEC 9): on_node_up / on_node_down with
// their reasons, on_scope_synced after the snapshot's own callbacks, Node::ready() as a
// readiness probe, and set_event_handler(scope, handler).
#include "cluster/cluster_helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

using namespace syn;
using syn::test::eventually;
using syn::test::stays;
using syn::test::test_options;

namespace {

/// Every callback as one line, in the order they ran.
class LifecycleRecorder : public EventHandler {
 public:
  void on_node_up(const std::string& node) override { add("up " + node); }
  void on_node_down(const std::string& node, const std::string& reason) override { add("down " + node + " " + reason); }
  void on_scope_synced(Kind kind, std::string_view scope, const std::string& node) override {
    add("synced " + std::string(to_string(kind)) + " " + std::string(scope) + " " + node);
  }
  void on_process_registered(std::string_view scope, const Term& name, const Pid&, const Term&,
                             const Reason&) override {
    add("registered " + std::string(scope) + " " + name.dump());
  }
  void on_process_joined(std::string_view scope, const Term& group, const Pid&, const Term&, const Reason&) override {
    add("joined " + std::string(scope) + " " + group.dump());
  }

  std::vector<std::string> events() const {
    std::lock_guard lock(mutex_);
    return events_;
  }
  bool has(const std::string& line) const {
    auto all = events();
    return std::find(all.begin(), all.end(), line) != all.end();
  }
  /// Index of the first `line`, or -1.
  long index_of(const std::string& line) const {
    auto all = events();
    auto it = std::find(all.begin(), all.end(), line);
    return it == all.end() ? -1 : static_cast<long>(it - all.begin());
  }

 private:
  void add(std::string line) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(line));
  }
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

}  // namespace

TEST_CASE("lifecycle: node up and down events carry the node and the reason", "[cluster][lifecycle]") {
  auto rec = std::make_shared<LifecycleRecorder>();
  auto oa = test_options("life-a");
  oa.event_handler = rec;
  Node a(oa);
  auto b = std::make_unique<Node>(test_options("life-b"));
  Node c(test_options("life-c"));
  b->connect(a.endpoint());
  c.connect(a.endpoint());
  REQUIRE(eventually([&] { return rec->has("up life-b") && rec->has("up life-c"); }));
  a.disconnect("life-c");
  REQUIRE(eventually([&] { return rec->has("down life-c disconnected"); }));
  b.reset();  // a graceful stop: the peer says it leaves
  INFO([&] {
    std::string all;
    for (const auto& e : rec->events()) all += e + "; ";
    return all;
  }());
  REQUIRE(eventually([&] { return rec->has("down life-b left"); }));
  CHECK(rec->index_of("up life-b") < rec->index_of("down life-b left"));
}

TEST_CASE("lifecycle: a node with an unreachable seed is not ready, one without seeds is ready at once",
          "[cluster][lifecycle][ready]") {
  auto lone = test_options("ready-lone", {"s"});
  Node alone(lone);
  CHECK(eventually([&] { return alone.ready(); }));

  auto o = test_options("ready-orphan", {"s"});
  o.seeds = {"tcp://127.0.0.1:" + std::to_string(syn::test::free_port())};  // nobody listens there
  Node orphan(o);
  CHECK(stays([&] { return !orphan.ready(); }, std::chrono::milliseconds(500)));
}

TEST_CASE("lifecycle: ready means every name of the seed is here, and synced follows the entries' callbacks",
          "[cluster][lifecycle][ready]") {
  constexpr int kNames = 20000;
  Node a(test_options("ready-a", {"s"}));
  auto reg = a.registry("s");
  auto holder = a.spawn();
  std::vector<std::future<Result<void>>> writes;
  writes.reserve(kNames);
  for (int i = 0; i < kNames; ++i) writes.push_back(reg.register_name_async(Term{{"n", i}}, holder.pid()));
  for (auto& w : writes) REQUIRE(w.get());
  auto g = a.groups("s");
  REQUIRE(g.join("room", holder.pid()));

  auto rec = std::make_shared<LifecycleRecorder>();
  auto ob = test_options("ready-b", {"s"});
  ob.seeds = {a.endpoint()};
  ob.event_handler = rec;
  Node b(ob);
  REQUIRE(eventually([&] { return b.ready(); }, std::chrono::seconds(30), std::chrono::milliseconds(1)));
  // Ready: the seed's whole snapshot, of every kind, is applied here.
  CHECK(b.registry("s").count() == static_cast<std::size_t>(kNames));
  CHECK(b.groups("s").member_count("room") == 1);
  REQUIRE(eventually([&] {
    return rec->has("synced registry s ready-a") && rec->has("synced groups s ready-a") &&
           rec->has("synced multicast s ready-a");
  }));
  // After the callbacks of the entries that snapshot brought.
  long synced = rec->index_of("synced registry s ready-a");
  CHECK(rec->index_of("registered s " + Term{{"n", kNames - 1}}.dump()) < synced);
  CHECK(rec->index_of("registered s " + Term{{"n", 0}}.dump()) < synced);
  CHECK(rec->index_of("joined s \"room\"") < rec->index_of("synced groups s ready-a"));
  CHECK(rec->index_of("up ready-a") < synced);
}

TEST_CASE("lifecycle: a peer without the scope never delays readiness", "[cluster][lifecycle][ready]") {
  Node a(test_options("scopeless-a", {"other"}));
  auto ob = test_options("scopeless-b", {"s"});
  ob.seeds = {a.endpoint()};
  Node b(ob);
  REQUIRE(eventually([&] { return b.ready(); }));
  CHECK(b.nodes() == std::vector<std::string>{"scopeless-a"});
  // A scope added later is synced with the peers that run it before the node is ready again.
  b.add_node_to_scopes({"other"});
  REQUIRE(eventually([&] { return b.ready(); }));
  CHECK(b.subcluster_nodes(Kind::registry, "other") == std::vector<std::string>{"scopeless-a"});
}

TEST_CASE("lifecycle: a scope's own handler takes that scope's callbacks, the node's the rest",
          "[cluster][lifecycle][handlers]") {
  auto node_rec = std::make_shared<LifecycleRecorder>();
  auto scope_rec = std::make_shared<LifecycleRecorder>();
  auto oa = test_options("per-scope-a", {"s1", "s2"});
  oa.event_handler = node_rec;
  Node a(oa);
  a.set_event_handler("s2", scope_rec);
  Node b(test_options("per-scope-b", {"s1", "s2"}));
  b.connect(a.endpoint());
  REQUIRE(eventually([&] { return a.ready() && b.ready() && a.nodes().size() == 1; }));
  auto p = b.spawn();
  REQUIRE(b.registry("s1").register_name("one", p.pid()));
  REQUIRE(b.registry("s2").register_name("two", p.pid()));
  REQUIRE(
      eventually([&] { return node_rec->has("registered s1 \"one\"") && scope_rec->has("registered s2 \"two\""); }));
  CHECK_FALSE(node_rec->has("registered s2 \"two\""));
  CHECK_FALSE(scope_rec->has("registered s1 \"one\""));
  // Lifecycle events stay with the node's handler; a scope's sync goes to the scope's.
  CHECK(node_rec->has("up per-scope-b"));
  CHECK_FALSE(scope_rec->has("up per-scope-b"));
  CHECK(scope_rec->has("synced registry s2 per-scope-b"));
  CHECK_FALSE(node_rec->has("synced registry s2 per-scope-b"));
  // nullptr: the scope goes back to the node's handler.
  a.set_event_handler("s2", nullptr);
  REQUIRE(b.registry("s2").register_name("three", p.pid()));
  REQUIRE(eventually([&] { return node_rec->has("registered s2 \"three\""); }));
  CHECK_FALSE(scope_rec->has("registered s2 \"three\""));
}

TEST_CASE("registry: names() and for_each() walk the replica, and a taken name reports its holder",
          "[cluster][registry][introspection]") {
  syn::test::Cluster c(2, {"s"}, "walk");
  auto p1 = c[0].spawn();
  auto p2 = c[1].spawn();
  auto r1 = c[0].registry("s");
  auto r2 = c[1].registry("s");
  REQUIRE(r1.register_name("alpha", p1.pid(), Term{{"v", 1}}));
  REQUIRE(r2.register_name(Term{{"k", 2}}, p2.pid(), "m2"));
  REQUIRE(eventually([&] { return r1.count() == 2 && r2.count() == 2; }));

  auto names = r1.names();
  std::vector<std::string> dumped;
  for (const auto& n : names) dumped.push_back(n.dump());
  std::sort(dumped.begin(), dumped.end());
  CHECK(dumped == std::vector<std::string>{"\"alpha\"", "{\"k\":2}"});

  std::map<std::string, Entry> walked;
  r2.for_each([&](const Term& name, const Entry& entry) { walked[name.dump()] = entry; });
  REQUIRE(walked.size() == 2);
  CHECK(walked["\"alpha\""] == Entry{p1.pid(), Term{{"v", 1}}});
  CHECK(walked["{\"k\":2}"] == Entry{p2.pid(), "m2"});

  // A walk may call the API (no lock is held while it runs).
  std::size_t seen = 0;
  r1.for_each([&](const Term& name, const Entry&) { seen += r1.whereis(name) ? 1 : 0; });
  CHECK(seen == 2);

  // taken: the holder as the authority saw it, for a local and for a remote authority.
  auto p3 = c[0].spawn();
  Entry holder;
  auto taken = r1.register_name("alpha", p3.pid(), nullptr, &holder);
  REQUIRE_FALSE(taken);
  CHECK(taken.error() == Errc::taken);
  CHECK(holder == Entry{p1.pid(), Term{{"v", 1}}});
  Entry remote_holder;
  auto taken_remote = r2.register_name(Term{{"k", 2}}, p3.pid(), nullptr, &remote_holder);
  REQUIRE_FALSE(taken_remote);
  CHECK(remote_holder == Entry{p2.pid(), "m2"});
  // Success leaves the holder alone.
  Entry untouched{p3.pid(), "unchanged"};
  REQUIRE(r1.register_name("free", p3.pid(), nullptr, &untouched));
  CHECK(untouched == Entry{p3.pid(), "unchanged"});

  // A local process that died is gone from the walk at once.
  p1.exit("bye");
  CHECK(eventually([&] {
    auto now = r1.names();
    return std::none_of(now.begin(), now.end(), [](const Term& n) { return n == Term("alpha"); });
  }));
}

TEST_CASE("lifecycle: nodes that seed each other and dial at once all reach a seed and become ready",
          "[cluster][lifecycle][ready]") {
  // Each one's dial to its seed may be the second connection between the two (welcomed as a
  // duplicate after the link is up): the seed still counts as reached.
  int p1 = syn::test::free_port(), p2 = syn::test::free_port(), p3 = syn::test::free_port();
  auto at = [](int port) { return "tcp://127.0.0.1:" + std::to_string(port); };
  std::vector<std::unique_ptr<Node>> nodes;
  const int ports[] = {p1, p2, p3};
  for (int i = 0; i < 3; ++i) {
    auto o = test_options("mutual-" + std::to_string(i), {"s"});
    o.listen = at(ports[i]);
    for (int j = 0; j < 3; ++j) {
      if (j != i) o.seeds.push_back(at(ports[j]));
    }
    nodes.push_back(std::make_unique<Node>(o));
  }
  for (auto& node : nodes) {
    INFO(node->name());
    CHECK(eventually([&] { return node->ready() && node->nodes().size() == 2; }));
  }
}
