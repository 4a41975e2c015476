// NodeOptions::from_json and the validation of options by the Node constructor.
#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <functional>

#include <string>

using namespace syn;
using namespace std::chrono_literals;

namespace {

/// Runs `fn`, which must throw Error{bad_argument} whose message names `key`.
template <class F>
void require_bad_key(F&& fn, const std::string& key) {
  INFO("key " << key);
  try {
    fn();
    FAIL("no Error thrown");
  } catch (const Error& e) {
    CHECK(e.code() == Errc::bad_argument);
    CHECK_THAT(e.what(), Catch::Contains("'" + key + "'"));
  }
}

NodeOptions valid_options(const std::string& name) {
  NodeOptions o;
  o.name = name;
  o.heartbeat_interval = 100ms;
  o.peer_timeout = 1000ms;
  return o;
}

}  // namespace

TEST_CASE("NodeOptions initializes in API.md's field order", "[unit][options]") {
  // Users write NodeOptions{name, listen, seeds, scopes, auto_connect, ...} from API.md:
  // fields beyond it (advertise) come last.
  NodeOptions o{"a", "tcp://127.0.0.1:0", {"tcp://127.0.0.1:4000"}, {"s"}, false, true};
  CHECK(o.name == "a");
  CHECK(o.listen == "tcp://127.0.0.1:0");
  CHECK(o.seeds == std::vector<std::string>{"tcp://127.0.0.1:4000"});
  CHECK(o.scopes == std::vector<std::string>{"s"});
  CHECK_FALSE(o.auto_connect);
  CHECK(o.strict_mode);
  CHECK(o.advertise.empty());
  // Through the additions too (security, operations, multicast), up to the last of them.
  NodeOptions all{"b",
                  "tcp://127.0.0.1:0",
                  {},
                  {"s"},
                  true,
                  false,
                  nullptr,
                  {},
                  std::chrono::milliseconds(100),
                  std::chrono::milliseconds(1000),
                  std::chrono::milliseconds(2000),
                  "",
                  "",
                  false,
                  4096,
                  "",
                  true,
                  1u << 16,
                  std::chrono::milliseconds(500),
                  std::chrono::milliseconds(300)};
  CHECK(all.max_term_bytes == 4096);
  CHECK(all.control_writes);
  CHECK(all.multicast_max_in_flight == (1u << 16));
  CHECK(all.multicast_max_lag == std::chrono::milliseconds(500));
  CHECK(all.view_change_timeout == std::chrono::milliseconds(300));
  CHECK(all.max_protocol_version == 0);  // beyond API.md: after its fields
}

TEST_CASE("from_json of an empty object gives the defaults", "[unit][options]") {
  auto o = NodeOptions::from_json(Term::object());
  NodeOptions d;
  CHECK(o.name == d.name);
  CHECK(o.listen == "tcp://127.0.0.1:0");
  CHECK(o.seeds.empty());
  CHECK(o.scopes.empty());
  CHECK(o.auto_connect);
  CHECK_FALSE(o.strict_mode);
  CHECK(o.event_handler == nullptr);
  CHECK_FALSE(o.conflict_resolver);
  CHECK(o.heartbeat_interval == 500ms);
  CHECK(o.peer_timeout == 3000ms);
  CHECK(o.call_timeout == 5000ms);
  CHECK(o.multicast_max_in_flight == (64u << 20));
  CHECK(o.multicast_max_lag == 10000ms);
  CHECK(o.view_change_timeout == 2000ms);
  CHECK(o.max_link_backlog == (std::size_t{256} << 20));
}

TEST_CASE("from_json reads every key", "[unit][options]") {
  auto o = NodeOptions::from_json(Term{
      {"name", "alpha"},
      {"listen", "tcp://0.0.0.0:4369"},
      {"seeds", {"tcp://10.0.0.1:4369", "tcp://10.0.0.2:4369"}},
      {"scopes", {"users", "devices"}},
      {"auto_connect", false},
      {"strict_mode", true},
      {"heartbeat_interval", 250},
      {"peer_timeout", 2000},
      {"call_timeout", 7000},
      {"multicast_max_in_flight", 1048576},
      {"multicast_max_lag", 1500},
      {"view_change_timeout", 800},
      {"max_link_backlog", 1 << 20},
  });
  CHECK(o.name == "alpha");
  CHECK(o.listen == "tcp://0.0.0.0:4369");
  CHECK(o.seeds == std::vector<std::string>{"tcp://10.0.0.1:4369", "tcp://10.0.0.2:4369"});
  CHECK(o.scopes == std::vector<std::string>{"users", "devices"});
  CHECK_FALSE(o.auto_connect);
  CHECK(o.strict_mode);
  CHECK(o.heartbeat_interval == 250ms);
  CHECK(o.peer_timeout == 2000ms);
  CHECK(o.call_timeout == 7000ms);
  CHECK(o.multicast_max_in_flight == 1048576u);
  CHECK(o.multicast_max_lag == 1500ms);
  CHECK(o.view_change_timeout == 800ms);
  CHECK(o.max_link_backlog == (1u << 20));
  // Keys left out keep their defaults.
  auto partial = NodeOptions::from_json(Term{{"name", "beta"}, {"seeds", Term::array()}});
  CHECK(partial.name == "beta");
  CHECK(partial.seeds.empty());
  CHECK(partial.auto_connect);
  CHECK(partial.peer_timeout == 3000ms);
  // 0 turns the byte bound off.
  CHECK(NodeOptions::from_json(Term{{"max_link_backlog", 0}}).max_link_backlog == 0);
}

TEST_CASE("from_json refuses a value of the wrong type, naming the key", "[unit][options]") {
  const std::vector<std::pair<std::string, Term>> wrong = {
      {"name", 42},
      {"name", nullptr},
      {"name", Term::array({"a"})},
      {"listen", true},
      {"listen", Term::object()},
      {"seeds", "tcp://127.0.0.1:1"},
      {"seeds", Term::array({"tcp://127.0.0.1:1", 7})},
      {"seeds", Term::array({Term::array({"nested"})})},
      {"scopes", "users"},
      {"scopes", Term::array({nullptr})},
      {"scopes", Term::object()},
      {"auto_connect", "true"},
      {"auto_connect", 1},
      {"auto_connect", nullptr},
      {"strict_mode", 0},
      {"strict_mode", "false"},
      {"heartbeat_interval", "500"},
      {"heartbeat_interval", 1.5},
      {"heartbeat_interval", 0},
      {"heartbeat_interval", -100},
      {"peer_timeout", true},
      {"peer_timeout", nullptr},
      {"peer_timeout", 3000.0},
      {"call_timeout", Term::array({5000})},
      {"call_timeout", -1},
      {"call_timeout", 18446744073709551615ULL},  // 2^64-1: not a positive int64
      {"multicast_max_in_flight", -1},
      {"multicast_max_in_flight", "64MiB"},
      {"multicast_max_lag", 0},
      {"multicast_max_lag", "10s"},
      {"view_change_timeout", -2000},
      {"view_change_timeout", nullptr},
      {"max_link_backlog", -1},
      {"max_link_backlog", "256MiB"},
  };
  for (const auto& [key, value] : wrong) {
    INFO("value " << value.dump());
    Term doc = {{"listen", "tcp://127.0.0.1:0"}};
    doc[key] = value;
    require_bad_key([&] { (void)NodeOptions::from_json(doc); }, key);
  }
}

TEST_CASE("from_json refuses unknown keys, naming them", "[unit][options]") {
  for (const std::string key : {"nmae", "Name", "peer-timeout", "", "heartbeat", "seed"}) {
    require_bad_key([&] { (void)NodeOptions::from_json(Term{{"name", "ok"}, {key, 1}}); }, key);
  }
}

TEST_CASE("from_json refuses the options that can only be set in code", "[unit][options]") {
  for (const std::string key : {"event_handler", "conflict_resolver"}) {
    require_bad_key([&] { (void)NodeOptions::from_json(Term{{key, nullptr}}); }, key);
    require_bad_key([&] { (void)NodeOptions::from_json(Term{{key, "my_handler"}}); }, key);
    require_bad_key([&] { (void)NodeOptions::from_json(Term{{key, Term::object()}}); }, key);
  }
}

TEST_CASE("from_json refuses a document that is not an object", "[unit][options]") {
  for (const Term& doc : {Term(), Term("name"), Term(3), Term::array({"name", "x"}), Term::array()}) {
    INFO(doc.dump());
    try {
      (void)NodeOptions::from_json(doc);
      FAIL("no Error thrown");
    } catch (const Error& e) { CHECK(e.code() == Errc::bad_argument); }
  }
}

TEST_CASE("the Node constructor refuses bad options with bad_argument", "[unit][options]") {
  auto refused = [](NodeOptions o) {
    try {
      Node node(std::move(o));
      return false;
    } catch (const Error& e) { return e.code() == Errc::bad_argument; }
  };
  using Change = std::function<void(NodeOptions&)>;
  const std::vector<std::pair<std::string, Change>> bad = {
      {"", [](auto&) {}},
      {"a<b", [](auto&) {}},
      {"a>b", [](auto&) {}},
      {"equal-timeouts", [](auto& o) { o.peer_timeout = o.heartbeat_interval; }},
      {"shorter-timeout",
       [](auto& o) {
         o.heartbeat_interval = 500ms;
         o.peer_timeout = 100ms;
       }},
      {"zero-heartbeat", [](auto& o) { o.heartbeat_interval = 0ms; }},
      {"negative-heartbeat", [](auto& o) { o.heartbeat_interval = -5ms; }},
      {"zero-call-timeout", [](auto& o) { o.call_timeout = 0ms; }},
      {"zero-in-flight", [](auto& o) { o.multicast_max_in_flight = 0; }},
      {"zero-lag", [](auto& o) { o.multicast_max_lag = 0ms; }},
      {"negative-view-change-timeout", [](auto& o) { o.view_change_timeout = -1ms; }},
      {"tiny-link-backlog",
       [](auto& o) {
         o.max_term_bytes = 1024;
         o.max_link_backlog = (1u << 20) - 1;
       }},
      {"bad-listen", [](auto& o) { o.listen = "nonsense"; }},
      {"bad-seed", [](auto& o) { o.seeds = {"nonsense"}; }},
  };
  for (const auto& [name, change] : bad) {
    INFO("node '" << name << "'");
    auto o = valid_options(name);
    change(o);
    CHECK(refused(o));
  }
  // And good options build a node, from JSON too.
  auto o = NodeOptions::from_json(Term{{"name", "from-json"}, {"heartbeat_interval", 100}, {"peer_timeout", 1000}});
  Node node(o);
  CHECK(node.name() == "from-json");
  CHECK(node.endpoint().rfind("tcp://127.0.0.1:", 0) == 0);
  CHECK(node.endpoint() != "tcp://127.0.0.1:0");
  CHECK(node.nodes().empty());
  // No byte bound on links, and the smallest one, are good; a bound below four of the largest
  // terms too (the node raises it), whatever max_term_bytes is.
  for (auto [backlog, term] :
       {std::pair{std::size_t{0}, std::size_t{1} << 20}, std::pair{std::size_t{1} << 20, std::size_t{256} << 10},
        std::pair{std::size_t{1} << 20, std::size_t{1} << 20},
        std::pair{std::size_t{256} << 20, std::size_t{512} << 20}}) {
    auto bounded = valid_options("backlog-" + std::to_string(backlog) + "-" + std::to_string(term));
    bounded.max_link_backlog = backlog;
    bounded.max_term_bytes = term;
    CHECK_FALSE(refused(bounded));
  }
}
