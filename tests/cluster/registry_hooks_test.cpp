// Registry event hooks (SPEC 5): callbacks have run on the calling node when a call returns,
// may call the API, may throw, and the handler can be replaced while the node runs.
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;
using syn::test::stays;

namespace {

bool has(const Recorder& rec, const std::string& e) {
  auto events = rec.events();
  return std::find(events.begin(), events.end(), e) != events.end();
}

}  // namespace

TEST_CASE("registry: on the calling node the callbacks of a call have run when it returns", "[registry][hooks]") {
  std::shared_ptr<Recorder> rec[3];
  Nodes nodes;
  for (int i = 0; i < 3; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("cb" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  REQUIRE(wait_scope_mesh(nodes.running_nodes(), "s"));
  // A slow handler on every node: without the wait, the checks below would see nothing yet.
  for (auto& r : rec) {
    r->set_hook([](const std::string&, const Term&, const Pid&) { std::this_thread::sleep_for(20ms); });
  }
  auto pa = nodes[0].spawn();
  const Reason normal = Reason::normal();
  for (int round = 0; round < 3; ++round) {
    Term name = Term{{"round", round}};
    for (int caller = 0; caller < 3; ++caller) {
      auto reg = nodes[caller].registry("s");
      Term meta = caller;
      Term previous = caller == 0 ? Term() : Term(caller - 1);
      if (caller == 0) {
        REQUIRE(reg.register_name(name, pa.pid(), meta));
        CHECK(has(*rec[caller], ev_reg("s", name, pa.pid(), meta, normal)));
      } else {
        REQUIRE(reg.update(name, [&](const Pid&, const Term&) { return meta; }));
        CHECK(has(*rec[caller], ev_upd("s", name, pa.pid(), previous, meta, normal)));
      }
    }
    auto reg = nodes[2].registry("s");
    REQUIRE(reg.unregister_name(name));
    CHECK(has(*rec[2], ev_unreg("s", name, pa.pid(), 2, normal)));
    auto remote = nodes[1].registry("s");
    REQUIRE(remote.register_name(name, pa.pid(), "again"));
    CHECK(has(*rec[1], ev_reg("s", name, pa.pid(), "again", normal)));
    REQUIRE(remote.register_name(name, pa.pid(), "changed"));
    CHECK(has(*rec[1], ev_upd("s", name, pa.pid(), "again", "changed", normal)));
  }
  for (int i = 0; i < 3; ++i) REQUIRE(eventually([&] { return rec[i]->size() == 3 * 6; }));
}

TEST_CASE("registry: callbacks may call the API, writes included", "[registry][hooks]") {
  auto rec_a = std::make_shared<Recorder>();
  auto rec_b = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("api_cb1", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  Node& b = nodes.add("api_cb2", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_b; });
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ra = a.registry("s");
  auto rb = b.registry("s");
  auto pa = a.spawn();
  auto pb = b.spawn();

  // On a (the authority of pa): a local registration of "t<i>" registers "local-echo<i>" for
  // the same local pid from inside the callback, reads it back and updates it.
  std::atomic<int> a_errors{0};
  rec_a->set_hook([&](const std::string& ev, const Term& name, const Pid& pid) {
    if (ev.rfind("reg", 0) != 0 || !name.is_object() || !name.contains("t")) return;
    Term echo = Term{{"local-echo", name["t"]}};
    if (!ra.register_name(echo, pid, "echo")) ++a_errors;
    if (ra.lookup(echo) != Entry{pid, "echo"}) ++a_errors;
    if (!ra.update(echo, [](const Pid&, const Term&) { return Term("echo+"); })) ++a_errors;
  });
  // On b: the replicated registration makes b register, update and unregister names of a's
  // pid (remote writes, waiting for a's answer) from inside its callback.
  std::atomic<int> b_errors{0};
  rec_b->set_hook([&](const std::string& ev, const Term& name, const Pid& pid) {
    if (ev.rfind("reg", 0) != 0 || !name.is_object() || !name.contains("t")) return;
    Term echo = Term{{"remote-echo", name["t"]}};
    if (!rb.register_name(echo, pid, "r")) ++b_errors;
    if (rb.whereis(echo) != pid) ++b_errors;
    if (!rb.update(echo, [](const Pid&, const Term&) { return Term("r+"); })) ++b_errors;
    Term tmp = Term{{"tmp", name["t"]}};
    if (!rb.register_name(tmp, pb.pid())) ++b_errors;
    if (!rb.unregister_name(tmp)) ++b_errors;
  });
  constexpr int kRounds = 10;
  for (int i = 0; i < kRounds; ++i) {
    REQUIRE(ra.register_name(Term{{"t", i}}, pa.pid()));
    // The callbacks of this call, and so the nested local writes, have run.
    CHECK(ra.lookup(Term{{"local-echo", i}}) == Entry{pa.pid(), "echo+"});
  }
  for (int i = 0; i < kRounds; ++i) {
    for (auto* reg : {&ra, &rb}) {
      REQUIRE(eventually([&] {
        return reg->lookup(Term{{"remote-echo", i}}) == Entry{pa.pid(), "r+"} &&
               reg->lookup(Term{{"local-echo", i}}) == Entry{pa.pid(), "echo+"} && !reg->whereis(Term{{"tmp", i}});
      }));
    }
  }
  CHECK(a_errors == 0);
  CHECK(b_errors == 0);
  REQUIRE(eventually([&] { return ra.count() == 3 * kRounds && rb.count() == 3 * kRounds; }));
  // The node still works normally afterwards.
  REQUIRE(rb.register_name("after", pb.pid()));
  REQUIRE(eventually([&] { return ra.whereis("after") == pb.pid(); }));
}

TEST_CASE("registry: a throwing callback does not disturb the node", "[registry][hooks]") {
  auto rec_a = std::make_shared<Recorder>();
  auto rec_b = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("thr1", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_a; });
  Node& b = nodes.add("thr2", {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec_b; });
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  rec_b->set_hook([](const std::string&, const Term& name, const Pid&) {
    if (name.is_number() && name.get<int>() % 2 == 0) throw std::runtime_error("handler failure");
    if (name.is_number()) throw 42;  // not even a std::exception
  });
  rec_a->set_hook([](const std::string&, const Term&, const Pid&) { throw std::logic_error("local failure"); });
  auto pa = a.spawn();
  auto pb = b.spawn();
  for (int i = 0; i < 10; ++i) {
    REQUIRE(a.registry("s").register_name(i, pa.pid()));
    REQUIRE(b.registry("s").register_name(100 + i, pb.pid()));
  }
  REQUIRE(a.registry("s").unregister_name(3));
  (void)b.registry("s").unregister_name(3);  // gone already, or a race: undefined either way
  for (Node* n : {&a, &b}) REQUIRE(eventually([&] { return n->registry("s").count() == 19; }));
  // Every callback ran (and threw), once per node per change.
  REQUIRE(eventually([&] { return rec_a->size() == 21 && rec_b->size() == 21; }));
  CHECK(stays([&] { return rec_a->size() == 21 && rec_b->size() == 21; }, 100ms));
  REQUIRE(b.registry("s").register_name("still", pb.pid()));
  REQUIRE(eventually([&] { return a.registry("s").whereis("still") == pb.pid(); }));
}

TEST_CASE("registry: set_event_handler while running", "[registry][hooks]") {
  auto first = std::make_shared<Recorder>();
  auto second = std::make_shared<Recorder>();
  auto remote = std::make_shared<Recorder>();
  Nodes nodes;
  Node& a = nodes.add("seh1", {"s"});
  Node& b = nodes.add("seh2", {"s"}, true, [&](NodeOptions& o) { o.event_handler = remote; });
  REQUIRE(wait_scope_mesh({&a, &b}, "s"));
  auto ra = a.registry("s");
  auto pa = a.spawn();
  REQUIRE(ra.register_name("none", pa.pid()));  // no handler on a yet
  a.set_event_handler(first);
  REQUIRE(ra.register_name("x", pa.pid()));
  CHECK(first->events() == std::vector<std::string>{ev_reg("s", "x", pa.pid(), nullptr, Reason::normal())});
  a.set_event_handler(second);
  REQUIRE(ra.register_name("y", pa.pid()));
  CHECK(second->events() == std::vector<std::string>{ev_reg("s", "y", pa.pid(), nullptr, Reason::normal())});
  a.set_event_handler(nullptr);
  REQUIRE(ra.register_name("z", pa.pid()));
  REQUIRE(eventually([&] { return remote->size() == 4; }));
  CHECK(first->size() == 1);
  CHECK(second->size() == 1);

  // Swapping handlers while another thread writes: no crash, every change reaches exactly
  // one of the handlers.
  a.set_event_handler(first);
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 200; ++i) (void)ra.register_name(Term{{"w", i}}, pa.pid());
    done = true;
  });
  int swaps = 0;
  while (!done) {
    a.set_event_handler(swaps % 2 ? first : second);
    ++swaps;
    std::this_thread::yield();
  }
  writer.join();
  a.set_event_handler(first);
  REQUIRE(eventually([&] { return remote->size() == 204; }));
  REQUIRE(eventually([&] { return first->size() + second->size() == 202; }));
  CHECK(ra.count() == 204);
}
