// Leaving a scope while running (SPEC 4, Node::remove_node_from_scopes): the node's own names
// and memberships go with callbacks (normal) there and are purged everywhere else
// (remote_scope_node_down), its multicast members leave (left), its handles of the scope fail
// with invalid_scope, and adding the scope again works, also while peers keep reading (the
// handles taken before act again then).
#include "cluster/multicast_helpers.hpp"
#include "cluster/scope_helpers.hpp"
#include "scope/scope_directory.hpp"
#include "support/thrown.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace syn;
using syn::test::eventually;
using syn::test::stays;

namespace {

using namespace std::chrono_literals;

/// Records the registry and groups callbacks as text.
class Callbacks : public EventHandler {
 public:
  void on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                             const Reason& r) override {
    add(test::event_text("reg", scope, name, pid, meta, r));
  }
  void on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                               const Reason& r) override {
    add(test::event_text("unreg", scope, name, pid, meta, r));
  }
  void on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                         const Reason& r) override {
    add(test::event_text("join", scope, group, pid, meta, r));
  }
  void on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                       const Reason& r) override {
    add(test::event_text("left", scope, group, pid, meta, r));
  }
  bool saw(const std::string& event) const {
    std::lock_guard lock(mutex_);
    return std::find(events_.begin(), events_.end(), event) != events_.end();
  }

 private:
  void add(std::string event) {
    std::lock_guard lock(mutex_);
    events_.push_back(std::move(event));
  }
  mutable std::mutex mutex_;
  std::vector<std::string> events_;
};

Errc thrown(const std::function<void()>& fn) { return syn::test::thrown_code(fn); }

}  // namespace

TEST_CASE("scopes: a node leaves a scope while running, its entries go everywhere, its handles fail, it comes back",
          "[scopes][remove]") {
  std::shared_ptr<Callbacks> rec[3] = {std::make_shared<Callbacks>(), std::make_shared<Callbacks>(),
                                       std::make_shared<Callbacks>()};
  test::Nodes nodes;
  Node* n[3];
  for (int i = 0; i < 3; ++i) {
    n[i] =
        &nodes.add("rmsc" + std::to_string(i + 1), {"s", "t"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  for (auto kind : {Kind::registry, Kind::groups, Kind::multicast}) {
    REQUIRE(test::wait_scope_mesh({n[0], n[1], n[2]}, kind, "s"));
  }
  Node &a = *n[0], &b = *n[1];
  auto pa = a.spawn();
  auto pb = b.spawn();
  auto ra = a.registry("s"), rb = b.registry("s");
  auto ga = a.groups("s"), gb = b.groups("s");
  REQUIRE(ra.register_name("a-name", pa.pid(), "ma"));
  REQUIRE(rb.register_name("b-name", pb.pid()));
  REQUIRE(ga.join("g", pa.pid(), "ga"));
  REQUIRE(gb.join("g", pb.pid()));
  REQUIRE(a.registry("t").register_name("a-in-t", pa.pid()));
  auto mc_a = std::make_shared<test::Recorder>(), mc_b = std::make_shared<test::Recorder>();
  auto multicast_a = a.multicast("s");
  auto ma = multicast_a.join("room", pa, mc_a);
  REQUIRE(ma);
  auto mb = b.multicast("s").join("room", pb, mc_b);
  REQUIRE(mb);
  REQUIRE(eventually([&] { return mc_b->members().size() == 2 && mc_a->members().size() == 2; }));
  for (int i = 0; i < 3; ++i) {
    REQUIRE(eventually([&] { return n[i]->registry("s").count() == 2 && n[i]->groups("s").member_count("g") == 2; }));
  }

  a.remove_node_from_scopes({"s", "never-added"});

  // On a: the callbacks of its own entries ran (normal) before the call returned.
  CHECK(rec[0]->saw(test::event_text("unreg", "s", "a-name", pa.pid(), "ma", Reason::normal())));
  CHECK(rec[0]->saw(test::event_text("left", "s", "g", pa.pid(), "ga", Reason::normal())));
  // Its multicast member left: on_left(left) for it, a view without it for the others.
  CHECK(mc_a->left() == LeaveReason::left);
  REQUIRE(eventually([&] { return mc_b->members() == std::vector<Pid>{pb.pid()}; }));
  auto last = mc_b->changes().back();
  REQUIRE(last.left.size() == 1);
  CHECK(last.left.front() == std::make_pair(pa.pid(), LeaveReason::left));
  // The scope is gone on a; its other scope is untouched.
  CHECK(a.node_scopes() == std::vector<std::string>{"t"});
  CHECK(a.registry("t").whereis("a-in-t") == pa.pid());
  CHECK(thrown([&] { a.registry("s"); }) == Errc::invalid_scope);
  CHECK(thrown([&] { a.groups("s"); }) == Errc::invalid_scope);
  // Handles taken before fail: writes return invalid_scope, reads throw it.
  CHECK(ra.register_name("again", pa.pid()).error() == Errc::invalid_scope);
  CHECK(ra.unregister_name("a-name").error() == Errc::invalid_scope);
  CHECK(ga.join("g", pa.pid()).error() == Errc::invalid_scope);
  CHECK(ga.leave("g", pa.pid()).error() == Errc::invalid_scope);
  CHECK(ga.join_async("g", pa.pid()).get().error() == Errc::invalid_scope);
  CHECK(ga.join_counted("g", pa.pid()).error() == Errc::invalid_scope);
  CHECK(thrown([&] { ra.lookup("b-name"); }) == Errc::invalid_scope);
  CHECK(thrown([&] { ga.members("g"); }) == Errc::invalid_scope);
  CHECK(thrown([&] { ga.publish("g", "hello"); }) == Errc::invalid_scope);
  // Everywhere else, a's entries went with remote_scope_node_down(a); the rest stayed.
  for (int i = 1; i < 3; ++i) {
    INFO("node " << i);
    REQUIRE(eventually([&] {
      return !n[i]->registry("s").lookup("a-name") && n[i]->groups("s").member_pids("g") == std::vector<Pid>{pb.pid()};
    }));
    CHECK(n[i]->registry("s").whereis("b-name") == pb.pid());
    CHECK(n[i]->registry("t").whereis("a-in-t") == pa.pid());
    // The callbacks run on the node's dispatcher, after the replica changed: waited for.
    CHECK(eventually([&] {
      return rec[i]->saw(test::event_text("unreg", "s", "a-name", pa.pid(), "ma", Reason::node_down(a.name())));
    }));
    CHECK(eventually(
        [&] { return rec[i]->saw(test::event_text("left", "s", "g", pa.pid(), "ga", Reason::node_down(a.name()))); }));
    REQUIRE(eventually([&] {
      auto sub = n[i]->subcluster_nodes(Kind::registry, "s");
      return std::find(sub.begin(), sub.end(), a.name()) == sub.end();
    }));
  }
  // Writes about a's processes from elsewhere: a does not run the scope any more.
  CHECK(rb.register_name("remote", pa.pid()).error() == Errc::invalid_remote_scope);
  CHECK(gb.join("g", pa.pid()).error() == Errc::invalid_remote_scope);
  CHECK(stays([&] { return !rb.lookup("a-name"); }, 200ms));

  // Adding the scope again: a syncs with the others and writes there again.
  a.add_node_to_scopes({"s"});
  REQUIRE(test::wait_scope_mesh({n[0], n[1], n[2]}, Kind::registry, "s"));
  auto ra2 = a.registry("s");
  REQUIRE(eventually([&] { return ra2.whereis("b-name") == pb.pid(); }));
  CHECK_FALSE(ra2.lookup("a-name"));
  REQUIRE(ra2.register_name("a-name", pa.pid(), "back"));
  REQUIRE(a.groups("s").join("g", pa.pid()));
  REQUIRE(eventually([&] { return rb.lookup("a-name") == Entry{pa.pid(), "back"}; }));
  REQUIRE(eventually([&] { return gb.member_count("g") == 2; }));
  // The handles taken before the scope left act on it again, as a scope is a name (syn): they
  // read the new table and write through it.
  CHECK(ra.lookup("a-name") == Entry{pa.pid(), "back"});
  CHECK(ra.count() == ra2.count());
  REQUIRE(ra.register_name("old-handle", pa.pid()));
  CHECK(ra2.whereis("old-handle") == pa.pid());
  REQUIRE(eventually([&] { return rb.whereis("old-handle") == pa.pid(); }));
  CHECK(eventually([&] { return ga.member_count("g") == 2; }));
  REQUIRE(ga.join("g2", pa.pid(), "old"));
  CHECK(a.groups("s").member("g2", pa.pid()) == Member{pa.pid(), "old"});
  CHECK(ga.publish("g2", "to-old") == 1);
  auto got = pa.receive(10s);
  REQUIRE(got);
  CHECK(got->body == "to-old");
  auto mc_again = std::make_shared<test::Recorder>();
  auto ma_again = multicast_a.join("room", pa, mc_again);  // the handle from before, too
  REQUIRE(ma_again);
  REQUIRE(eventually([&] { return mc_b->members().size() == 2; }));
  // Left again, they fail again; added once more, they act again (a chain of two).
  a.remove_node_from_scopes({"s"});
  CHECK(ra.register_name("gone", pa.pid()).error() == Errc::invalid_scope);
  CHECK(thrown([&] { ra.lookup("a-name"); }) == Errc::invalid_scope);
  CHECK(thrown([&] { ga.members("g"); }) == Errc::invalid_scope);
  CHECK(thrown([&] { multicast_a.view("room"); }) == Errc::invalid_scope);
  a.add_node_to_scopes({"s"});
  REQUIRE(ra.register_name("third", pa.pid()));
  CHECK(a.registry("s").whereis("third") == pa.pid());
  for (int i = 0; i < 3; ++i) CHECK(n[i]->scope_directory()->check_invariants().empty());
}

TEST_CASE("scopes: leaving and adding a scope again and again while peers keep reading and writing",
          "[scopes][remove][load]") {
  test::Nodes nodes;
  Node& a = nodes.add("rmld1", {"s"});
  Node& b = nodes.add("rmld2", {"s"});
  Node& c = nodes.add("rmld3", {"s"});
  REQUIRE(test::wait_scope_mesh({&a, &b, &c}, Kind::registry, "s"));
  REQUIRE(test::wait_scope_mesh({&a, &b, &c}, Kind::groups, "s"));
  auto pb = b.spawn();
  auto pa = a.spawn();
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, read_errors{0}, writes{0}, write_errors{0};
  // Readers on b and c: every read works while a comes and goes.
  std::vector<std::thread> workers;
  for (Node* reader : {&b, &c}) {
    workers.emplace_back([&, reader] {
      auto r = reader->registry("s");
      auto g = reader->groups("s");
      while (!stop) {
        try {
          (void)r.lookup("b-fixed");
          (void)r.count();
          (void)g.member_pids("pool");
          ++reads;
        } catch (...) { ++read_errors; }
      }
    });
  }
  // A writer on b: its own names, under changing names.
  workers.emplace_back([&] {
    auto r = b.registry("s");
    for (int i = 0; !stop; ++i) {
      auto name = "b-" + std::to_string(i % 50);
      auto result = (i / 50) % 2 == 0 ? r.register_name(name, pb.pid()) : r.unregister_name(name);
      result ? ++writes : ++write_errors;
    }
  });
  REQUIRE(b.registry("s").register_name("b-fixed", pb.pid()));
  constexpr int kRounds = 8;
  for (int round = 0; round < kRounds; ++round) {
    auto r = a.registry("s");
    auto g = a.groups("s");
    for (int i = 0; i < 20; ++i) REQUIRE(r.register_name("a-" + std::to_string(i), pa.pid()));
    REQUIRE(g.join("pool", pa.pid()));
    REQUIRE(eventually([&] { return b.registry("s").whereis("a-19") == pa.pid(); }));
    a.remove_node_from_scopes({"s"});
    REQUIRE(eventually([&] {
      return !b.registry("s").lookup("a-0") && !c.registry("s").lookup("a-19") &&
             c.groups("s").member_count("pool") == 0;
    }));
    a.add_node_to_scopes({"s"});
    REQUIRE(test::wait_scope_mesh({&a, &b, &c}, Kind::registry, "s"));
    REQUIRE(eventually([&] { return a.registry("s").whereis("b-fixed") == pb.pid(); }));
  }
  stop = true;
  for (auto& w : workers) w.join();
  CHECK(read_errors == 0);
  CHECK(write_errors == 0);
  CHECK(reads > 0);
  CHECK(writes > 0);
  // Every node converges on b's names, and none of a's.
  REQUIRE(eventually([&] {
    return a.registry("s").count() == b.registry("s").count() && c.registry("s").count() == b.registry("s").count();
  }));
  CHECK(b.registry("s").count("rmld1") == 0);
  for (Node* node : {&a, &b, &c}) CHECK(node->scope_directory()->check_invariants().empty());
}
