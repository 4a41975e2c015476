// syn-node's HTTP endpoints on a live cluster of node processes (SPEC 9): /healthz, /readyz,
// /metrics in the Prometheus format, and the status page loaded in a real browser (headless
// Chromium) that must show the three nodes.
#include "process/process_support.hpp"
#include "support/loopback_tcp.hpp"

#include <catch2/catch.hpp>

#include <httplib.h>

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

const char* const kScope = "web";

std::unique_ptr<Agent> http_agent(const std::string& name, std::vector<std::string> seeds) {
  return std::make_unique<Agent>(agent_options(name, std::move(seeds), {kScope}),
                                 process_agent_config({"--http", "127.0.0.1:0"}));
}

/// GET `path` from the agent's HTTP endpoint: {status, body} (status -1 when unreachable).
std::pair<int, std::string> get(Agent& agent, const std::string& path) {
  httplib::Client client(agent.started().at("http").get<std::string>());
  client.set_connection_timeout(5);
  client.set_read_timeout(10);
  auto res = client.Get(path.c_str());
  if (!res) return {-1, ""};
  return {res->status, res->body};
}

/// Runs a command and returns its stdout; the exit status in `status`.
std::string run(const std::string& command, int& status) {
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  std::array<char, 4096> buffer{};
  std::size_t n;
  while ((n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0) out.append(buffer.data(), n);
  status = ::pclose(pipe);
  return out;
}

bool contains(const std::string& text, const std::string& needle) { return text.find(needle) != std::string::npos; }

}  // namespace

TEST_CASE("syn-node over HTTP: healthz, readyz and metrics of a live cluster", "[process][http]") {
  auto alpha = http_agent("alpha", {});
  auto beta = http_agent("beta", {alpha->endpoint()});
  REQUIRE(eventually([&] { return agent_sees_exactly(*alpha, {"beta"}); }));
  auto pid = beta->spawn();
  for (int i = 0; i < 6; ++i) {
    beta->ok("register", {{"scope", kScope}, {"name", "n" + std::to_string(i)}, {"pid", pid}});
  }
  beta->ok("join", {{"scope", kScope}, {"group", "g"}, {"pid", pid}});

  CHECK(get(*alpha, "/healthz") == std::pair<int, std::string>{200, "ok\n"});
  REQUIRE(eventually([&] { return get(*alpha, "/readyz").first == 200; }));
  REQUIRE(eventually([&] {
    auto [status, body] = get(*alpha, "/metrics");
    return status == 200 && contains(body, "syn_registry_entries{scope=\"web\"} 6\n") &&
           contains(body, "syn_groups_members{scope=\"web\"} 1\n");
  }));
  auto [status, body] = get(*beta, "/metrics");
  REQUIRE(status == 200);
  CHECK(contains(body, "# TYPE syn_call_duration_seconds histogram"));
  CHECK(contains(body, "syn_writes_total{scope=\"web\",call=\"register\"} 6\n"));
  CHECK(contains(body, "syn_peer_up{peer=\"alpha\"} 1\n"));
  CHECK(get(*alpha, "/no-such-page").first == 404);

  // A node whose only seed is nobody is alive and not ready.
  auto lonely = http_agent("lonely", {"tcp://127.0.0.1:1"});
  CHECK(get(*lonely, "/healthz").first == 200);
  CHECK(stays([&] { return get(*lonely, "/readyz").first == 503; }, 500ms, 100ms));
}

TEST_CASE("syn-node answers /healthz while clients hold connections open", "[process][http]") {
  auto alpha = http_agent("alpha", {});
  const std::string url = alpha->started().at("http").get<std::string>();
  const int port = std::stoi(url.substr(url.rfind(':') + 1));
  // Sixteen connections that say nothing (a port scan, stuck clients, browser tabs kept alive):
  // each held one of cpp-httplib's eight default workers for five seconds at a time.
  std::vector<int> idle;
  for (int i = 0; i < 16; ++i) {
    int fd = connect_loopback_tcp(port);
    REQUIRE(fd >= 0);
    idle.push_back(fd);
  }
  struct Close {
    std::vector<int>& fds;
    ~Close() {
      for (int fd : fds) ::close(fd);
    }
  } close_them{idle};
  // A liveness probe with a timeout shorter than that (Kubernetes' default is one second).
  httplib::Client probe(url);
  probe.set_connection_timeout(3);
  probe.set_read_timeout(3);
  auto res = probe.Get("/healthz");
  REQUIRE(res);
  CHECK(res->status == 200);
}

TEST_CASE("syn-node refuses an HTTP address beyond loopback unless told", "[process][http]") {
  bool refused = false;
  try {
    Agent agent(agent_options("exposed"), process_agent_config({"--http", "0.0.0.0:0"}));
  } catch (const std::exception& e) { refused = contains(e.what(), "exited before it was ready"); }
  CHECK(refused);
}

TEST_CASE("the status page shows the cluster's three nodes in a real browser", "[process][http][browser]") {
#ifndef CHROMIUM_BINARY
  FAIL("Chromium was not found when this was built: scripts/install-deps installs it (Debian package chromium)");
#else
  auto alpha = http_agent("alpha", {});
  auto beta = http_agent("beta", {alpha->endpoint()});
  auto gamma = http_agent("gamma", {alpha->endpoint()});
  REQUIRE(eventually([&] { return agent_sees_exactly(*alpha, {"beta", "gamma"}); }));
  auto url = alpha->started().at("http").get<std::string>() + "/";
  auto dir = "/tmp/syn-browser-" + std::to_string(::getpid());
  ::mkdir(dir.c_str(), 0700);
  // Root needs --no-sandbox; a profile of its own keeps runs apart.
  std::string browser = std::string(CHROMIUM_BINARY) + " --headless --no-sandbox --disable-gpu --user-data-dir=" + dir +
                        "/profile --window-size=1280,900 ";
  int status = 0;
  // The screenshot first: the page's rates are known from its second load on.
  auto shot = dir + "/status.png";
  run(browser + "--screenshot=" + shot + " '" + url + "' 2>/dev/null", status);
  auto dom = run(browser + "--dump-dom '" + url + "' 2>/dev/null", status);
  REQUIRE(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  for (const char* node : {"alpha", "beta", "gamma"}) {
    INFO(node);
    CHECK(contains(dom, "class=\"node\" data-node=\"" + std::string(node) + "\""));
  }
  CHECK(contains(dom, "id=\"ready\""));
  // The last events: the two peers coming up (kept since syn-node started serving the page).
  CHECK(contains(dom, "<td>node_up</td><td>peer beta</td>"));
  CHECK(contains(dom, "<td>node_up</td><td>peer gamma</td>"));
  // Rates since the previous load.
  CHECK(contains(dom, "id=\"traffic\""));
  CHECK(contains(dom, "/s</td>"));
  std::ifstream png(shot, std::ios::binary);
  std::string magic(8, '\0');
  png.read(magic.data(), 8);
  CHECK(magic == "\x89PNG\r\n\x1a\n");
  png.seekg(0, std::ios::end);
  CHECK(png.tellg() > 1000);
  std::system(("rm -rf " + dir).c_str());
#endif
}
