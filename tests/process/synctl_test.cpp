// synctl against a live cluster of syn-node processes with a cluster key (SPEC 9, API.md):
// every command in both output modes, the exit statuses, the control endpoint's security
// (CURVE with the key on tcp, a 0600 socket file on ipc, read-only by default), and live
// events followed while the cluster changes.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

using namespace syn;
using namespace syn::test;
using namespace std::chrono_literals;

namespace {

const char* const kScope = "ops";

/// What a finished synctl printed and its exit status.
struct Run {
  int status = -1;
  std::string out;
  std::string err;
};

std::string read_all(int fd) {
  std::string text;
  std::array<char, 4096> buffer{};
  for (;;) {
    auto n = ::read(fd, buffer.data(), buffer.size());
    if (n <= 0) return text;
    text.append(buffer.data(), static_cast<std::size_t>(n));
  }
}

/// A synctl process with pipes on stdout and stderr; killed (SIGKILL) and reaped at the end.
class Synctl {
 public:
  explicit Synctl(const std::vector<std::string>& args) {
    int out[2], err[2];
    REQUIRE(::pipe(out) == 0);
    REQUIRE(::pipe(err) == 0);
    pid_ = ::fork();
    REQUIRE(pid_ >= 0);
    if (pid_ == 0) {
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      ::close(out[0]);
      ::close(err[0]);
      std::vector<char*> argv;
      std::string binary = SYNCTL_BINARY;
      argv.push_back(binary.data());
      std::vector<std::string> copies(args);
      for (auto& a : copies) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::unsetenv("SYN_CLUSTER_KEY_FILE");
      ::unsetenv("SYN_CONTROL");
      ::execv(binary.c_str(), argv.data());
      ::_exit(127);
    }
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Synctl() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }
  Synctl(const Synctl&) = delete;
  Synctl& operator=(const Synctl&) = delete;

  /// Waits for the exit (bounded) and returns what it printed.
  Run finish(std::chrono::milliseconds timeout = 20s) {
    Run run;
    run.out = read_all(out_);
    run.err = read_all(err_);
    int status = 0;
    REQUIRE(eventually([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; }, timeout));
    pid_ = -1;
    REQUIRE(WIFEXITED(status));
    run.status = WEXITSTATUS(status);
    return run;
  }

  /// The next stdout line, or "" when none came within `timeout`.
  std::string line(std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      auto end = pending_.find('\n');
      if (end != std::string::npos) {
        auto text = pending_.substr(0, end);
        pending_.erase(0, end + 1);
        return text;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return "";
      pollfd fd{out_, POLLIN, 0};
      if (::poll(&fd, 1, static_cast<int>(left.count())) <= 0) continue;
      std::array<char, 4096> buffer{};
      auto n = ::read(out_, buffer.data(), buffer.size());
      if (n <= 0) return "";
      pending_.append(buffer.data(), static_cast<std::size_t>(n));
    }
  }

 private:
  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  std::string pending_;
};

Run synctl(const std::vector<std::string>& args) { return Synctl(args).finish(); }

/// A key file of mode 0600, removed at the end of the scope.
struct KeyFile {
  std::string path;
  explicit KeyFile(const std::string& key, const std::string& suffix = "") {
    path = "/tmp/syn-synctl-key-" + std::to_string(::getpid()) + suffix;
    std::ofstream(path) << key << "\n";
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
  }
  ~KeyFile() { std::remove(path.c_str()); }
};

/// Three keyed syn-node processes; alpha has a tcp control endpoint, beta an ipc one.
struct ControlledCluster {
  KeyFile key{generate_cluster_key()};
  std::string alpha_control = "tcp://127.0.0.1:" + std::to_string(free_tcp_port());
  std::string beta_socket = "/tmp/syn-synctl-beta-" + std::to_string(::getpid()) + ".sock";
  std::unique_ptr<Agent> alpha;
  std::unique_ptr<Agent> beta;
  std::unique_ptr<Agent> gamma;

  static int free_tcp_port() {
    Node probe(test_options("port-probe"));
    auto endpoint = probe.endpoint();
    return std::stoi(endpoint.substr(endpoint.rfind(':') + 1));  // free again once probe is gone
  }

  Term options(const std::string& name, std::vector<std::string> seeds) {
    auto o = agent_options(name, std::move(seeds), {kScope});
    o["cluster_key_file"] = key.path;
    return o;
  }

  ControlledCluster() {
    auto a = options("alpha", {});
    a["control"] = alpha_control;
    alpha = std::make_unique<Agent>(a, process_agent_config());
    auto b = options("beta", {alpha->endpoint()});
    b["control"] = "ipc://" + beta_socket;
    beta = std::make_unique<Agent>(b, process_agent_config());
    gamma = std::make_unique<Agent>(options("gamma", {alpha->endpoint()}), process_agent_config());
    REQUIRE(eventually([&] { return agent_sees_exactly(*alpha, {"beta", "gamma"}); }));
    REQUIRE(eventually([&] { return agent_sees_exactly(*beta, {"alpha", "gamma"}); }));
  }

  /// synctl against alpha's tcp endpoint with the key.
  std::vector<std::string> at_alpha(std::vector<std::string> command) const {
    std::vector<std::string> args = {"--control", alpha_control, "--key-file", key.path};
    args.insert(args.end(), command.begin(), command.end());
    return args;
  }
};

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("synctl shows a live keyed cluster: nodes, scopes, names, lookup, groups, members, stats, health, ready",
          "[process][synctl]") {
  ControlledCluster c;
  std::vector<std::string> pids;
  for (auto* agent : {c.alpha.get(), c.beta.get(), c.gamma.get()}) {
    auto pid = agent->spawn();
    pids.push_back(pid);
    for (int i = 0; i < 4; ++i) {
      agent->ok("register", {{"scope", kScope},
                             {"name", "device:" + agent->name() + ":" + std::to_string(i)},
                             {"pid", pid},
                             {"meta", {{"i", i}}}});
    }
    agent->ok("register", {{"scope", kScope}, {"name", {{"k", agent->name()}}}, {"pid", pid}});
    agent->ok("join", {{"scope", kScope}, {"group", "room"}, {"pid", pid}, {"meta", agent->name()}});
  }
  REQUIRE(eventually([&] { return synctl(c.at_alpha({"--json", "ready"})).status == 0; }));
  REQUIRE(eventually([&] {
    auto run = synctl(c.at_alpha({"--json", "names", kScope, "--limit", "100"}));
    return run.status == 0 && Term::parse(run.out)["matching"] == 15;
  }));

  SECTION("nodes") {
    auto human = synctl(c.at_alpha({"nodes"}));
    REQUIRE(human.status == 0);
    CHECK(contains(human.out, "NODE"));
    CHECK(contains(human.out, "beta"));
    CHECK(contains(human.out, "gamma"));
    CHECK(contains(human.out, "up"));
    auto json = synctl(c.at_alpha({"--json", "nodes"}));
    REQUIRE(json.status == 0);
    auto answer = Term::parse(json.out);
    CHECK(answer["nodes"] == Term::array({"beta", "gamma"}));
    REQUIRE(answer["links"].size() == 2);
    for (const auto& link : answer["links"]) {
      CHECK(link["state"] == "up");
      CHECK(link["creation"].get<std::uint64_t>() > 0);
      CHECK(link["incarnation"] == link["creation"]);  // SPEC 9 says incarnation
      CHECK(contains(link["endpoint"].get<std::string>(), "tcp://127.0.0.1:"));
    }
  }
  SECTION("scopes") {
    auto json = Term::parse(synctl(c.at_alpha({"--json", "scopes"})).out);
    REQUIRE(json["details"].size() == 1);
    auto ops = json["details"][0];
    CHECK(ops["scope"] == kScope);
    CHECK(ops["names"] == 15);
    CHECK(ops["local_names"] == 5);
    CHECK(ops["groups"] == 1);
    CHECK(ops["members"] == 3);
    CHECK(ops["registry_nodes"] == Term::array({"beta", "gamma"}));
    auto human = synctl(c.at_alpha({"scopes"}));
    CHECK(human.status == 0);
    CHECK(contains(human.out, "ops"));
    CHECK(contains(human.out, "15"));
  }
  SECTION("names: a prefix, pages that follow each other, and non-string names as JSON") {
    auto page1 =
        Term::parse(synctl(c.at_alpha({"--json", "names", kScope, "--prefix", "device:", "--limit", "5"})).out);
    CHECK(page1["matching"] == 12);
    REQUIRE(page1["names"].size() == 5);
    CHECK(page1["names"][0]["name"] == "device:alpha:0");
    CHECK(page1["names"][0]["meta"] == Term{{"i", 0}});
    CHECK(page1["names"][0]["pid"] == pids[0]);
    std::vector<std::string> all;
    Term cursor = page1["next"];
    for (const auto& n : page1["names"]) all.push_back(n["name"].get<std::string>());
    while (!cursor.is_null()) {
      auto page = Term::parse(synctl(c.at_alpha({"--json", "names", kScope, "--prefix", "device:", "--limit", "5",
                                                 "--after", cursor.get<std::string>()}))
                                  .out);
      for (const auto& n : page["names"]) all.push_back(n["name"].get<std::string>());
      cursor = page["next"];
    }
    CHECK(all.size() == 12);
    CHECK(std::is_sorted(all.begin(), all.end()));
    CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());
    auto human = synctl(c.at_alpha({"names", kScope, "--prefix", "{"}));
    CHECK(human.status == 0);
    CHECK(contains(human.out, "{\"k\":\"beta\"}"));
    CHECK(contains(human.out, "3 shown, 3 matching"));
  }
  SECTION("lookup: a name as JSON or as a string; exit 1 when missing") {
    auto found = synctl(c.at_alpha({"lookup", kScope, "device:gamma:2"}));
    CHECK(found.status == 0);
    CHECK(contains(found.out, pids[2]));
    auto json_name = Term::parse(synctl(c.at_alpha({"--json", "lookup", kScope, "{\"k\":\"beta\"}"})).out);
    CHECK(json_name["found"] == true);
    CHECK(json_name["pid"] == pids[1]);
    auto missing = synctl(c.at_alpha({"lookup", kScope, "device:nobody"}));
    CHECK(missing.status == 1);
    CHECK(contains(missing.out, "not registered"));
    CHECK(synctl(c.at_alpha({"--json", "lookup", kScope, "device:nobody"})).status == 1);
    // The global options after the command too, as `synctl lookup S N --json`.
    auto after = synctl(c.at_alpha({"lookup", kScope, "device:gamma:2", "--json"}));
    REQUIRE(after.status == 0);
    CHECK(Term::parse(after.out).contains("pid"));
    CHECK(synctl(c.at_alpha({"lookup", kScope, "device:nobody", "--json"})).status == 1);
  }
  SECTION("groups and members") {
    auto groups = Term::parse(synctl(c.at_alpha({"--json", "groups", kScope})).out);
    REQUIRE(groups["groups"].size() == 1);
    CHECK(groups["groups"][0] == Term{{"group", "room"}, {"members", 3}, {"local_members", 1}});
    auto members = Term::parse(synctl(c.at_alpha({"--json", "members", kScope, "room"})).out);
    REQUIRE(members["members"].size() == 3);
    std::vector<std::string> seen;
    for (const auto& m : members["members"]) seen.push_back(m["pid"].get<std::string>());
    CHECK(sorted(seen) == sorted(pids));
    auto human = synctl(c.at_alpha({"members", kScope, "room"}));
    CHECK(contains(human.out, "PID"));
    CHECK(contains(human.out, "\"gamma\""));
  }
  SECTION("stats, health, ready") {
    auto stats = Term::parse(synctl(c.at_alpha({"--json", "stats"})).out);
    CHECK(stats["frames_received"].get<std::uint64_t>() > 0);
    CHECK(stats["malformed_frames"] == 0);
    CHECK(contains(synctl(c.at_alpha({"stats"})).out, "frames_sent"));
    auto health = synctl(c.at_alpha({"health"}));
    CHECK(health.status == 0);
    CHECK(contains(health.out, "alive: alpha"));
    auto ready = synctl(c.at_alpha({"ready"}));
    CHECK(ready.status == 0);
    CHECK(ready.out == "ready\n");
  }
  SECTION("the ipc endpoint: a socket file of mode 0600 that needs no key") {
    struct stat st {};
    REQUIRE(::stat(c.beta_socket.c_str(), &st) == 0);
    CHECK((st.st_mode & 0777) == 0600);
    auto run = synctl({"--control", "ipc://" + c.beta_socket, "--json", "nodes"});
    REQUIRE(run.status == 0);
    CHECK(Term::parse(run.out)["nodes"] == Term::array({"alpha", "gamma"}));
  }
  // The key never shows in what the nodes log.
  std::ifstream key_in(c.key.path);
  std::string key_text;
  std::getline(key_in, key_text);
  CHECK_FALSE(contains(c.alpha->stderr_text(), key_text));
}

TEST_CASE("synctl: a keyed tcp control endpoint refuses a client without the key, and errors exit 2",
          "[process][synctl]") {
  ControlledCluster c;
  auto no_key = synctl({"--control", c.alpha_control, "--timeout", "1500", "health"});
  CHECK(no_key.status == 2);
  CHECK(contains(no_key.err, c.alpha_control));
  KeyFile other(generate_cluster_key(), "-other");
  auto wrong_key = synctl({"--control", c.alpha_control, "--key-file", other.path, "--timeout", "1500", "health"});
  CHECK(wrong_key.status == 2);
  CHECK(contains(wrong_key.err, "refused"));

  auto nobody = synctl({"--control", "ipc:///tmp/syn-no-such-node.sock", "--timeout", "300", "health"});
  CHECK(nobody.status == 2);
  CHECK(contains(nobody.err, "no such socket file"));
  auto bad_scope = synctl(c.at_alpha({"names", "no-such-scope"}));
  CHECK(bad_scope.status == 2);
  CHECK(contains(bad_scope.err, "invalid_scope"));
  CHECK(synctl({"names"}).status == 2);  // usage: no scope
  CHECK(synctl(c.at_alpha({"no-such-command"})).status == 2);
  CHECK(synctl({"--help"}).status == 0);
  // The node is fine after all of that.
  CHECK(synctl(c.at_alpha({"health"})).status == 0);
}

TEST_CASE("synctl events --follow prints the cluster's changes as they happen", "[process][synctl]") {
  ControlledCluster c;
  REQUIRE(eventually([&] { return synctl(c.at_alpha({"ready"})).status == 0; }));
  Synctl follower(c.at_alpha({"--json", "events", "--scope", kScope, "--follow"}));
  auto gamma_pid = c.gamma->spawn();
  // The follower subscribes asynchronously: register until its line shows (each name once).
  bool registered = false, left_node = false;
  for (int attempt = 0; attempt < 20 && !registered; ++attempt) {
    c.gamma->ok("register", {{"scope", kScope}, {"name", "live:" + std::to_string(attempt)}, {"pid", gamma_pid}});
    for (auto line = follower.line(1500ms); !line.empty(); line = follower.line(300ms)) {
      auto event = Term::parse(line);
      if (event["event"] == "registered" && event["pid"] == gamma_pid && event["scope"] == kScope) registered = true;
    }
  }
  REQUIRE(registered);
  c.gamma->kill();  // SIGKILL: alpha sees gamma go down, and its entries leave
  for (auto line = follower.line(10s); !line.empty() && !left_node; line = follower.line(10s)) {
    auto event = Term::parse(line);
    if (event["event"] == "node_down" && event["peer"] == "gamma") left_node = true;
  }
  CHECK(left_node);

  // Without --follow: the node's last events. Asking for them (following counts) starts
  // keeping them: what the follower saw is there.
  auto kept = synctl(c.at_alpha({"--json", "events"}));
  REQUIRE(kept.status == 0);
  CHECK(contains(kept.out, "\"live:"));
  CHECK(contains(kept.out, "\"node_down\""));
  auto beta_pid = c.beta->spawn();
  c.beta->ok("register", {{"scope", kScope}, {"name", "recent:1"}, {"pid", beta_pid}});
  CHECK(eventually([&] {
    auto run = synctl(c.at_alpha({"--json", "events", "--scope", kScope}));
    if (run.status != 0) return false;
    auto lines = Term::parse(run.out.empty() ? "{}" : run.out.substr(0, run.out.find('\n')));
    return contains(run.out, "\"recent:1\"") && contains(run.out, beta_pid) && lines.contains("event");
  }));
  auto human = synctl(c.at_alpha({"events"}));
  CHECK(human.status == 0);
  CHECK(contains(human.out, "registered"));
  CHECK(contains(human.out, "recent:1"));
}

TEST_CASE("synctl prints a name holding control characters escaped, on one line", "[process][synctl]") {
  ControlledCluster c;
  REQUIRE(synctl(c.at_alpha({"events"})).status == 0);  // alpha keeps its events from now on
  // A newline and an escape sequence: printed raw, the name would forge a second event line
  // and colour the operator's terminal.
  const std::string evil = "evil\n03:00:00  node_down  peer=b  reason=left\x1b[31m";
  auto pid = c.beta->spawn();
  c.beta->ok("register", {{"scope", kScope}, {"name", evil}, {"pid", pid}});
  auto raw = [](const std::string& out) { return contains(out, "\x1b"); };
  auto forged = [](const std::string& out) { return contains(out, "\n03:00:00  node_down"); };
  REQUIRE(eventually([&] { return synctl(c.at_alpha({"lookup", kScope, evil})).status == 0; }));
  auto names = synctl(c.at_alpha({"names", kScope}));
  REQUIRE(names.status == 0);
  CHECK_FALSE(raw(names.out));
  CHECK_FALSE(forged(names.out));
  CHECK(contains(names.out, "\"evil\\n03:00:00  node_down  peer=b  reason=left\\u001b[31m\""));
  Run events;
  REQUIRE(eventually([&] {
    events = synctl(c.at_alpha({"events", "--scope", kScope}));
    return events.status == 0 && contains(events.out, "registered");
  }));
  CHECK_FALSE(raw(events.out));
  CHECK_FALSE(forged(events.out));
}

TEST_CASE("the control endpoint is read-only unless the node allows writes", "[process][synctl]") {
  ControlledCluster c;
  ControlClientOptions options{c.alpha_control, {}, c.key.path};
  ControlClient client(options);
  auto pid = c.alpha->spawn();
  auto refused = client.request({{"cmd", "register"}, {"scope", kScope}, {"name", "x"}, {"pid", pid}});
  CHECK(refused["ok"] == false);
  CHECK(refused["code"] == "read_only");
  CHECK(client.request({{"cmd", "lookup"}, {"scope", kScope}, {"name", "x"}})["found"] == false);

  auto o = c.options("delta", {c.alpha->endpoint()});
  auto socket = "/tmp/syn-synctl-delta-" + std::to_string(::getpid()) + ".sock";
  o["control"] = "ipc://" + socket;
  o["control_writes"] = true;
  Agent delta(o, process_agent_config());
  ControlClient writer(ControlClientOptions{"ipc://" + socket});
  auto delta_pid = delta.spawn();
  auto done = writer.request({{"cmd", "register"}, {"scope", kScope}, {"name", "x"}, {"pid", delta_pid}});
  CHECK(done["ok"] == true);
  CHECK(eventually([&] {
    return client.request({{"cmd", "lookup"}, {"scope", kScope}, {"name", "x"}})["found"] == true;
  }));
  auto malformed = writer.request({{"cmd", "register"}, {"scope", kScope}, {"name", "y"}, {"pid", "not a pid"}});
  CHECK(malformed["code"] == "bad_argument");

  // The same writes from synctl, with META and REASON read as NAME is (JSON when it parses).
  const std::string at_delta = "ipc://" + socket;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--control", at_delta});
    return synctl(args);
  };
  auto second = delta.spawn();
  auto registered = run({"register", kScope, "by-synctl", second, "{\"m\":1}"});
  INFO(registered.err);
  CHECK(registered.status == 0);
  CHECK(contains(registered.out, "ok"));
  auto found = Term::parse(run({"--json", "lookup", kScope, "by-synctl"}).out);
  CHECK(found["pid"] == second);
  CHECK(found["meta"] == Term{{"m", 1}});
  auto taken = run({"register", kScope, "by-synctl", delta_pid});
  CHECK(taken.status == 2);
  CHECK(contains(taken.err, "taken"));
  CHECK(run({"join", kScope, "room", second, "member-meta"}).status == 0);
  auto members = Term::parse(run({"--json", "members", kScope, "room"}).out)["members"];
  REQUIRE(members.size() == 1);
  CHECK(members[0]["pid"] == second);
  CHECK(members[0]["meta"] == "member-meta");
  CHECK(run({"leave", kScope, "room", second}).status == 0);
  CHECK(Term::parse(run({"--json", "members", kScope, "room"}).out)["members"].empty());
  CHECK(run({"unregister", kScope, "by-synctl"}).status == 0);
  CHECK(run({"lookup", kScope, "by-synctl"}).status == 1);
  // kill ends the process, on any node, and its names go with it.
  REQUIRE(run({"register", kScope, "doomed", second}).status == 0);
  CHECK(run({"kill", second, "shutdown"}).status == 0);
  CHECK(eventually([&] { return run({"lookup", kScope, "doomed"}).status == 1; }));
  // A node that does not allow writes refuses them from synctl too: read_only, exit 2.
  auto refused_run = synctl(c.at_alpha({"register", kScope, "z", delta_pid}));
  CHECK(refused_run.status == 2);
  CHECK(contains(refused_run.err, "read_only"));
}

TEST_CASE("the control endpoint and synctl work over IPv6 loopback", "[process][synctl]") {
  auto o = test_options("v6-control");
  o.control = "tcp://[::1]:" + std::to_string(ControlledCluster::free_tcp_port());
  Node node(o);  // loopback: no key needed
  ControlClient client(ControlClientOptions{o.control});
  auto health = client.request({{"cmd", "health"}});
  CHECK(health["ok"] == true);
  CHECK(health["node"] == "v6-control");
  auto run = synctl({"--control", o.control, "--json", "health"});
  INFO(run.err);
  CHECK(run.status == 0);
  CHECK(contains(run.out, "v6-control"));
  // Every global option after the command.
  auto after = synctl({"health", "--control", o.control, "--json", "--timeout", "3000"});
  INFO(after.err);
  CHECK(after.status == 0);
  CHECK(Term::parse(after.out)["incarnation"] == health["incarnation"]);
  CHECK(contains(synctl({"health", "--control", o.control}).out, "(incarnation "));
}

TEST_CASE("synctl waits within its timeout for the socket of a node that is starting", "[process][synctl]") {
  auto socket = "/tmp/syn-synctl-late-" + std::to_string(::getpid()) + ".sock";
  std::remove(socket.c_str());
  Synctl early({"--control", "ipc://" + socket, "--timeout", "20000", "health"});  // before the node
  auto o = agent_options("late");
  o["control"] = "ipc://" + socket;
  Agent late(o, process_agent_config());
  auto run = early.finish();
  CHECK(run.status == 0);
  CHECK(contains(run.out, "alive: late"));
}

TEST_CASE("synctl remove-scopes makes a node leave a scope everywhere, add-scopes brings it back",
          "[process][synctl]") {
  ControlledCluster c;
  auto o = c.options("delta", {c.alpha->endpoint()});
  auto socket = "/tmp/syn-synctl-leaver-" + std::to_string(::getpid()) + ".sock";
  o["control"] = "ipc://" + socket;
  o["control_writes"] = true;
  Agent delta(o, process_agent_config());
  auto pid = delta.spawn();
  delta.ok("register", {{"scope", kScope}, {"name", "delta-name"}, {"pid", pid}});
  ControlClient alpha(ControlClientOptions{c.alpha_control, {}, c.key.path});
  REQUIRE(eventually([&] {
    return alpha.request({{"cmd", "lookup"}, {"scope", kScope}, {"name", "delta-name"}})["found"] == true;
  }));
  // A read-only endpoint refuses it (alpha keeps the scope).
  auto refused = synctl(c.at_alpha({"remove-scopes", kScope}));
  CHECK(refused.status != 0);
  CHECK(contains(synctl(c.at_alpha({"--json", "scopes"})).out, kScope));

  auto left = synctl({"--control", "ipc://" + socket, "remove-scopes", kScope});
  INFO(left.err);
  CHECK(left.status == 0);
  CHECK(contains(left.out, "scopes: (none)"));
  CHECK(delta.call("whereis", {{"scope", kScope}, {"name", "delta-name"}})["code"] == "invalid_scope");
  REQUIRE(eventually([&] {
    return alpha.request({{"cmd", "lookup"}, {"scope", kScope}, {"name", "delta-name"}})["found"] == false;
  }));
  CHECK(synctl({"--control", "ipc://" + socket, "remove-scopes"}).status == 2);  // usage: no scope

  auto back = synctl({"--control", "ipc://" + socket, "--json", "add-scopes", kScope});
  CHECK(back.status == 0);
  CHECK(Term::parse(back.out)["scopes"] == Term{kScope});
  REQUIRE(eventually([&] {
    auto found = delta.call("whereis", {{"scope", kScope}, {"name", "delta-name"}});
    return found["ok"] == true && found["pid"].is_null() &&
           delta.ok("subcluster", {{"kind", "registry"}, {"scope", kScope}})["nodes"].size() == 3;
  }));
}
