// Scopes and strict mode across OS processes: a scope added at runtime syncs both ways, scopes
// are separate subclusters, and in strict mode only a process registers or joins itself.
#include "process/scope_support.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;
using namespace syn::test::scoped;
using syn::test::Agent;
using syn::test::eventually;

namespace {

Term names_in(Agent& agent, const std::string& scope, const Term& names) { return lookups(agent, scope, names); }

std::string reg(const std::string& scope, const Term& name, const std::string& pid, const Term& meta, const Term& why) {
  return callback("registered", scope, name, pid, meta, why);
}

}  // namespace

TEST_CASE("scopes: a scope added at runtime syncs both ways, and scopes are separate subclusters",
          "[process][scopes][registry][groups]") {
  auto alpha = start("alpha", {}, {"s1", "s2"});
  auto beta = start("beta", {alpha->endpoint()}, {"s1"});
  auto gamma = start("gamma", {alpha->endpoint()}, {});
  REQUIRE(eventually([&] { return subcluster_is(*alpha, "registry", "s1", {"beta"}); }));
  AgentCallbacks alpha_log(*alpha), beta_log(*beta), gamma_log(*gamma);

  // The same name in two scopes: two entries.
  auto x1 = alpha->spawn(), x2 = alpha->spawn(), y = beta->spawn();
  alpha->ok("register", {{"scope", "s1"}, {"name", "x"}, {"pid", x1}, {"meta", 1}});
  alpha->ok("register", {{"scope", "s2"}, {"name", "x"}, {"pid", x2}, {"meta", 2}});
  beta->ok("register", {{"scope", "s1"}, {"name", "y"}, {"pid", y}});
  CHECK(eventually([&] { return names_in(*beta, "s1", {"x", "y"}) == Term{entry(x1, 1), entry(y)}; }));
  CHECK(names_in(*alpha, "s2", {"x", "y"}) == Term{entry(x2, 2), nullptr});

  // Outside a scope: invalid_scope; a pid whose node is not in the scope: invalid_remote_scope.
  CHECK(gamma->call("lookup", {{"scope", "s1"}, {"name", "x"}})["code"] == "invalid_scope");
  CHECK(gamma->call("subcluster", {{"kind", "registry"}, {"scope", "s1"}})["code"] == "invalid_scope");
  CHECK(beta->call("count", {{"scope", "s2"}})["code"] == "invalid_scope");
  CHECK(alpha->call("register", {{"scope", "s2"}, {"name", "b"}, {"pid", y}})["code"] == "invalid_remote_scope");
  CHECK(alpha->call("join", {{"scope", "s2"}, {"group", "g"}, {"pid", y}})["code"] == "invalid_remote_scope");
  CHECK(subcluster_is(*alpha, "registry", "s2", {}));
  CHECK(subcluster_is(*alpha, "groups", "s1", {"beta"}));

  // gamma adds s1 (twice: idempotent): it gets s1's names, and the others get its own.
  auto g = gamma->spawn();
  gamma->ok("add_scopes", {{"scopes", {"s1"}}});
  gamma->ok("add_scopes", {{"scopes", {"s1"}}});
  CHECK(gamma->ok("scopes")["scopes"] == Term{"s1"});
  Members s1{{alpha.get(), beta.get(), gamma.get()}, nullptr};
  REQUIRE_SCOPE_MESH(s1, "s1");
  CHECK(subcluster_is(*alpha, "registry", "s2", {}));
  gamma->ok("register", {{"scope", "s1"}, {"name", "z"}, {"pid", g}, {"meta", "gamma's"}});
  gamma->ok("join", {{"scope", "s1"}, {"group", "room"}, {"pid", g}});
  Term all_names = {"x", "y", "z"};
  CHECK_LOOKUPS(s1, "s1", all_names, (Term{entry(x1, 1), entry(y), entry(g, "gamma's")}));
  CHECK_MEMBERS(s1, "s1", Term{"room"}, Term{Term{entry(g)}});
  CHECK(names_in(*alpha, "s2", {"x", "z"}) == Term{entry(x2, 2), nullptr});

  auto joined_g = callback("joined", "s1", "room", g, nullptr, normal());
  CHECK_CALLBACKS(
      "gamma", gamma_log,
      (std::vector<std::string>{reg("s1", "x", x1, 1, node_up("alpha")), reg("s1", "y", y, nullptr, node_up("beta")),
                                reg("s1", "z", g, "gamma's", normal()), joined_g}));
  CHECK_CALLBACKS("alpha", alpha_log,
                  (std::vector<std::string>{reg("s1", "x", x1, 1, normal()), reg("s2", "x", x2, 2, normal()),
                                            reg("s1", "y", y, nullptr, normal()),
                                            reg("s1", "z", g, "gamma's", normal()), joined_g}));
  CHECK_CALLBACKS("beta", beta_log,
                  (std::vector<std::string>{reg("s1", "x", x1, 1, normal()), reg("s1", "y", y, nullptr, normal()),
                                            reg("s1", "z", g, "gamma's", normal()), joined_g}));
}

TEST_CASE("strict mode across processes: only a process registers, updates or joins itself",
          "[process][strict][registry][groups]") {
  Term strict = {{"strict_mode", true}};
  auto alpha = start("alpha", {}, {"s"}, strict);
  auto beta = start("beta", {alpha->endpoint()}, {"s"}, strict);
  Members all{{alpha.get(), beta.get()}, nullptr};
  REQUIRE_SCOPE_MESH(all, "s");
  auto pa = alpha->spawn();

  // From another node, or through the Pid overload: not_self.
  CHECK(beta->call("register", {{"scope", "s"}, {"name", "n"}, {"pid", pa}})["code"] == "not_self");
  CHECK(alpha->call("register", {{"scope", "s"}, {"name", "n"}, {"pid", pa}, {"self", false}})["code"] == "not_self");
  CHECK(beta->call("join", {{"scope", "s"}, {"group", "g"}, {"pid", pa}})["code"] == "not_self");
  // The process itself (syn-node's owned-pid path): accepted, and replicated.
  alpha->ok("register", {{"scope", "s"}, {"name", "n"}, {"pid", pa}, {"meta", 1}});
  alpha->ok("join", {{"scope", "s"}, {"group", "g"}, {"pid", pa}});
  CHECK_LOOKUPS(all, "s", Term{"n"}, Term{entry(pa, 1)});
  CHECK_MEMBERS(all, "s", Term{"g"}, Term{Term{entry(pa)}});
  // Updates: only the holder itself.
  CHECK(beta->call("update", {{"scope", "s"}, {"name", "n"}, {"meta", 2}})["code"] == "not_self");
  auto pa2 = alpha->spawn();
  CHECK(alpha->call("update", {{"scope", "s"}, {"name", "n"}, {"meta", 2}, {"as", pa2}})["code"] == "not_self");
  CHECK(alpha->ok("update", {{"scope", "s"}, {"name", "n"}, {"meta", 3}, {"as", pa}})["entry"] == entry(pa, 3));
  CHECK_LOOKUPS(all, "s", Term{"n"}, Term{entry(pa, 3)});
}

TEST_CASE("syn-node: callbacks printed on demand (record_events), kill_all, and a bad events option",
          "[process][control][registry][groups]") {
  auto alpha = std::make_unique<Agent>(syn::test::agent_options("alpha", {}, {"s"}), syn::test::process_agent_config());
  auto beta = std::make_unique<Agent>(syn::test::agent_options("beta", {alpha->endpoint()}, {"s"}),
                                      syn::test::process_agent_config());
  Members all{{alpha.get(), beta.get()}, nullptr};
  REQUIRE_SCOPE_MESH(all, "s");
  AgentCallbacks beta_log(*beta);

  // Before record_events: no callback lines.
  auto p1 = alpha->spawn();
  alpha->ok("register", {{"scope", "s"}, {"name", "one"}, {"pid", p1}});
  CHECK_LOOKUPS(all, "s", Term{"one"}, Term{entry(p1)});
  beta->ok("record_events");
  auto p2 = alpha->spawn();
  alpha->ok("register", {{"scope", "s"}, {"name", "two"}, {"pid", p2}, {"meta", "m"}});
  alpha->ok("join", {{"scope", "s"}, {"group", "g"}, {"pid", p2}});

  // The pipelined unregister, in order, with its errors.
  auto p3 = beta->spawn();
  beta->ok("register", {{"scope", "s"}, {"name", "three"}, {"pid", p3}});
  beta->ok("register", {{"scope", "s"}, {"name", "four"}, {"pid", p3}});
  // unregister checks the caller's replica first: let alpha's catch up.
  CHECK_LOOKUPS(all, "s", (Term{"three", "four"}), (Term{entry(p3), entry(p3)}));
  CHECK(alpha->ok("unregister_async", {{"scope", "s"}, {"names", {"three", "nobody", "four"}}})["results"] ==
        Term{"ok", "undefined", "ok"});
  CHECK_LOOKUPS(all, "s", (Term{"three", "four"}), (Term{nullptr, nullptr}));

  // kill_all: every owned live process exits with the reason; names and memberships go.
  auto killed = alpha->ok("kill_all", {{"reason", "cleanup"}})["killed"];
  CHECK(sorted_texts(killed.get<std::vector<std::string>>()) == sorted_texts({p1, p2}));
  CHECK(alpha->ok("exit_reason", {{"pid", p1}})["reason"] == "cleanup");
  CHECK_LOOKUPS(all, "s", (Term{"one", "two"}), (Term{nullptr, nullptr}));
  CHECK_MEMBERS(all, "s", Term{"g"}, Term{Term::array()});
  CHECK(alpha->ok("kill_all")["killed"].empty());
  CHECK_CALLBACKS("beta", beta_log,
                  (std::vector<std::string>{callback("registered", "s", "two", p2, "m", normal()),
                                            callback("registered", "s", "three", p3, nullptr, normal()),
                                            callback("registered", "s", "four", p3, nullptr, normal()),
                                            callback("unregistered", "s", "three", p3, nullptr, normal()),
                                            callback("unregistered", "s", "four", p3, nullptr, normal()),
                                            callback("joined", "s", "g", p2, nullptr, normal()),
                                            callback("unregistered", "s", "one", p1, nullptr, process_exit("cleanup")),
                                            callback("unregistered", "s", "two", p2, "m", process_exit("cleanup")),
                                            callback("left", "s", "g", p2, nullptr, process_exit("cleanup"))}));
  beta->ok("record_events", {{"on", false}});

  auto options = syn::test::agent_options("bad");
  options["events"] = "yes";
  CHECK_THROWS_WITH(Agent(options, syn::test::process_agent_config()), Catch::Contains("events"));
}
