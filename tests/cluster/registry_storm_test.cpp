// A storm (SPEC 2, 3, 5, 6): four nodes, several threads each doing random register /
// unregister / update / kill over a small name space, then quiescence. Every node must agree
// on every lookup and count, no entry may refer to a dead process, and each node's callbacks,
// replayed in order, must make sense and give its replica.
#include "cluster/cluster_helpers.hpp"
#include "cluster/registry_helpers.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <random>
#include <thread>

using namespace syn;
using namespace syn::test::reg;
using syn::test::eventually;

namespace {

/// The processes of one node, shared by its threads; others read their pids.
struct Pool {
  std::mutex mutex;
  std::vector<Process> procs;
  std::vector<Pid> pids() {
    std::lock_guard lock(mutex);
    std::vector<Pid> out;
    for (auto& p : procs) out.push_back(p.pid());
    return out;
  }
};

/// A node's callbacks, replayed in order, are consistent and end at its replica of `names`.
void check_callbacks_end_at_replica(Node& node, const Recorder& rec, const std::vector<Term>& names) {
  auto r = node.registry("s");
  bool settled = eventually(
      [&] {
        std::string error;
        auto state = replay(rec.log(), error);
        if (!error.empty()) return false;
        for (auto& name : names) {
          auto e = r.lookup(name);
          auto it = state.find(name);
          if (e.has_value() != (it != state.end())) return false;
          if (e && *e != it->second) return false;
        }
        return state.size() == r.count();
      },
      5s);
  std::string error;
  replay(rec.log(), error);
  INFO("node " << node.name() << ": " << rec.size() << " callbacks; " << error);
  CHECK(error.empty());
  CHECK(settled);
}

}  // namespace

TEST_CASE("registry storm: four nodes, random writes and deaths, then everyone agrees", "[registry][storm]") {
  constexpr int kNodes = 4, kThreads = 3, kNames = 8, kProcs = 6, kMaxOps = 400;
  constexpr auto kDuration = std::chrono::milliseconds(2500);
  std::shared_ptr<Recorder> rec[kNodes];
  Nodes nodes;
  for (int i = 0; i < kNodes; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("storm" + std::to_string(i + 1), {"s"}, true, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  auto all = nodes.running_nodes();
  REQUIRE(wait_scope_mesh(all, "s"));

  Pool pools[kNodes];
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < kProcs; ++k) pools[i].procs.push_back(nodes[i].spawn());
  }
  std::vector<Term> names;
  for (int k = 0; k < kNames; ++k) names.push_back(Term{{"svc", k}});

  std::atomic<int> unexpected{0};
  std::atomic<int> ops{0}, oks{0};
  std::mutex error_mutex;
  std::vector<std::string> errors;
  auto fail = [&](const std::string& what) {
    ++unexpected;
    std::lock_guard lock(error_mutex);
    if (errors.size() < 20) errors.push_back(what);
  };

  auto deadline = std::chrono::steady_clock::now() + kDuration;
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, n, t] {
        std::mt19937 rng(static_cast<unsigned>(1000 * n + t + 1));
        auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
        Node& node = nodes[n];
        auto reg = node.registry("s");
        for (int i = 0; i < kMaxOps && std::chrono::steady_clock::now() < deadline; ++i) {
          ++ops;
          const Term& name = names[pick(kNames)];
          int op = pick(10);
          if (op < 4) {  // register a pid of any node (maybe dead by now)
            int owner = pick(kNodes);
            auto pids = pools[owner].pids();
            const Pid pid = pids[pick(static_cast<int>(pids.size()))];
            auto r = reg.register_name(name, pid, Term{{"by", n}, {"n", 0}});
            if (r) {
              ++oks;
            } else if (r.error() != Errc::taken && r.error() != Errc::not_alive) {
              fail("register: " + std::string(to_string(r.error())));
            }
          } else if (op < 6) {
            auto r = reg.unregister_name(name);
            if (r) {
              ++oks;
            } else if (r.error() != Errc::undefined && r.error() != Errc::race_condition) {
              fail("unregister: " + std::string(to_string(r.error())));
            }
          } else if (op < 8) {
            auto u = reg.update(name, [](const Pid&, const Term& m) {
              Term next = m.is_object() ? m : Term::object();
              next["n"] = next.value("n", 0) + 1;
              return next;
            });
            if (u) {
              ++oks;
            } else if (u.error() != Errc::undefined && u.error() != Errc::not_alive && u.error() != Errc::taken) {
              fail("update: " + std::string(to_string(u.error())));
            }
          } else if (op < 9) {  // a local process dies and is replaced
            std::lock_guard lock(pools[n].mutex);
            auto& slot = pools[n].procs[static_cast<std::size_t>(pick(kProcs))];
            slot.exit(Term{{"killed_by", t}});
            slot = node.spawn();
          } else {  // kill a process of another node from here
            int owner = pick(kNodes);
            auto pids = pools[owner].pids();
            node.exit(pids[pick(static_cast<int>(pids.size()))], "remote kill");
          }
        }
      });
    }
  }
  for (auto& th : threads) th.join();
  INFO("operations: " << ops << ", successful writes: " << oks);
  {
    std::lock_guard lock(error_mutex);
    for (auto& e : errors) UNSCOPED_INFO(e);
  }
  CHECK(unexpected == 0);
  CHECK(oks > 50);

  bool agreed = eventually([&] { return converged(all, "s", names); }, 10s);
  INFO(views(all, "s", names));
  REQUIRE(agreed);
  std::size_t total = 0;
  for (int i = 0; i < kNodes; ++i) {
    auto r = nodes[i].registry("s");
    std::size_t entries = 0;
    for (auto& name : names) {
      if (auto e = r.lookup(name)) {
        ++entries;
        CHECK(nodes.find(e->pid.node())->is_alive(e->pid));
      }
    }
    CHECK(r.count() == entries);
    total += r.local_count();
  }
  CHECK(total == nodes[0].registry("s").count());

  // Each node's callbacks, replayed in order, are consistent and end at its replica.
  for (int i = 0; i < kNodes; ++i) { check_callbacks_end_at_replica(nodes[i], *rec[i], names); }
  for (int i = 0; i < kNodes; ++i) syn::test::check_invariants(nodes[i]);
}

TEST_CASE("registry storm with net splits: links cut and healed while writes go on, then everyone agrees",
          "[registry][storm][conflict]") {
  constexpr int kNodes = 4, kThreads = 2, kNames = 6, kProcs = 5, kMaxOps = 300;
  constexpr auto kDuration = std::chrono::milliseconds(2500);
  std::shared_ptr<Recorder> rec[kNodes];
  Nodes nodes;
  for (int i = 0; i < kNodes; ++i) {
    rec[i] = std::make_shared<Recorder>();
    nodes.add("split" + std::to_string(i + 1), {"s"}, false, [&](NodeOptions& o) { o.event_handler = rec[i]; });
  }
  auto all = nodes.running_nodes();
  REQUIRE(wait_scope_mesh(all, "s"));

  Pool pools[kNodes];
  for (int i = 0; i < kNodes; ++i) {
    for (int k = 0; k < kProcs; ++k) pools[i].procs.push_back(nodes[i].spawn());
  }
  std::vector<Term> names;
  for (int k = 0; k < kNames; ++k) names.push_back(Term{{"svc", k}});

  std::atomic<int> unexpected{0}, oks{0}, cuts{0}, ops{0};
  std::mutex error_mutex;
  std::vector<std::string> errors;
  auto fail = [&](const std::string& what) {
    ++unexpected;
    std::lock_guard lock(error_mutex);
    if (errors.size() < 20) errors.push_back(what);
  };
  auto acceptable = [](Errc e) {
    return e == Errc::taken || e == Errc::not_alive || e == Errc::undefined || e == Errc::race_condition ||
           e == Errc::node_down || e == Errc::timeout;
  };

  auto deadline = std::chrono::steady_clock::now() + kDuration;
  std::vector<std::thread> threads;
  for (int n = 0; n < kNodes; ++n) {
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, n, t] {
        std::mt19937 rng(static_cast<unsigned>(7000 * n + t + 3));
        auto pick = [&](int k) { return static_cast<int>(rng() % static_cast<unsigned>(k)); };
        Node& node = nodes[n];
        auto reg = node.registry("s");
        for (int i = 0; i < kMaxOps && std::chrono::steady_clock::now() < deadline; ++i) {
          ++ops;
          const Term& name = names[pick(kNames)];
          int op = pick(10);
          if (op < 5) {  // register mostly local pids: both sides of a split take the same names
            int owner = pick(3) == 0 ? pick(kNodes) : n;
            auto pids = pools[owner].pids();
            auto r = reg.register_name(name, pids[pick(static_cast<int>(pids.size()))], Term{{"by", n}});
            if (r) {
              ++oks;
            } else if (!acceptable(r.error())) {
              fail("register: " + std::string(to_string(r.error())));
            }
          } else if (op < 7) {
            auto r = reg.unregister_name(name);
            if (r) {
              ++oks;
            } else if (!acceptable(r.error())) {
              fail("unregister: " + std::string(to_string(r.error())));
            }
          } else if (op < 9) {
            auto u = reg.update(name, [](const Pid&, const Term& m) {
              Term next = m.is_object() ? m : Term::object();
              next["n"] = next.value("n", 0) + 1;
              return next;
            });
            if (u) {
              ++oks;
            } else if (!acceptable(u.error())) {
              fail("update: " + std::string(to_string(u.error())));
            }
          } else {  // a local process dies (or was killed by a conflict) and is replaced
            std::lock_guard lock(pools[n].mutex);
            auto& slot = pools[n].procs[static_cast<std::size_t>(pick(kProcs))];
            slot.exit("replaced");
            slot = node.spawn();
          }
        }
      });
    }
  }
  // Chaos: cut and heal random links (at most two cut at a time).
  std::thread chaos([&] {
    std::mt19937 rng(42);
    std::vector<std::pair<int, int>> cut_links;
    while (std::chrono::steady_clock::now() < deadline) {
      int i = static_cast<int>(rng() % kNodes), j = static_cast<int>(rng() % kNodes);
      if (i == j) continue;
      if (i > j) std::swap(i, j);
      auto found = std::find(cut_links.begin(), cut_links.end(), std::make_pair(i, j));
      if (found == cut_links.end() && cut_links.size() < 2) {
        nodes[i].disconnect(nodes[j].name());
        cut_links.emplace_back(i, j);
        ++cuts;
      } else if (found != cut_links.end()) {
        nodes[i].connect(nodes[j].endpoint());
        cut_links.erase(found);
      }
      // Each state of the links lasts for a number of operations (a split healed at once is no split).
      const int mark = ops + 10 + static_cast<int>(rng() % 40);
      eventually([&] { return ops >= mark || std::chrono::steady_clock::now() >= deadline; }, kDuration, 1ms);
    }
  });
  for (auto& th : threads) th.join();
  chaos.join();
  {
    std::lock_guard lock(error_mutex);
    for (auto& e : errors) UNSCOPED_INFO(e);
  }
  CHECK(unexpected == 0);
  CHECK(cuts > 5);

  // Heal everything.
  for (int i = 0; i < kNodes; ++i) {
    for (int j = i + 1; j < kNodes; ++j) nodes[i].connect(nodes[j].endpoint());
  }
  REQUIRE(eventually([&] {
    for (auto* n : all) {
      if (n->nodes().size() != kNodes - 1) return false;
    }
    return true;
  }));
  REQUIRE(wait_scope_mesh(all, "s"));
  bool agreed = eventually([&] { return converged(all, "s", names); }, 10s);
  INFO("successful writes: " << oks << ", cuts: " << cuts);
  INFO(views(all, "s", names));
  REQUIRE(agreed);
  for (int i = 0; i < kNodes; ++i) { check_callbacks_end_at_replica(nodes[i], *rec[i], names); }
  for (int i = 0; i < kNodes; ++i) syn::test::check_invariants(nodes[i]);
}
