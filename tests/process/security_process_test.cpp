// The installed tools with a cluster key, as the README tells a new user: `synctl keygen`
// makes a key, syn-node reads it from a key file, and a node with a key and a node without one
// started by hand never form a cluster, each saying why in a log line.
#include "process_support.hpp"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <string>

using namespace syn;
using namespace syn::test;
using namespace std::chrono_literals;

namespace {

/// Runs `synctl keygen` and returns what it printed, checking it exits 0.
std::string synctl_keygen() {
  std::string command = std::string(SYNCTL_BINARY) + " keygen";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  REQUIRE(pipe);
  std::string out;
  std::array<char, 256> buffer{};
  while (std::fgets(buffer.data(), buffer.size(), pipe)) out += buffer.data();
  int status = ::pclose(pipe);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 0);
  return out;
}

/// A key file of mode 0600 holding `text`, removed at the end of the scope.
struct KeyFile {
  std::string path;
  explicit KeyFile(const std::string& text) {
    path = "/tmp/syn-process-key-" + std::to_string(::getpid()) + "-" +
           std::to_string(reinterpret_cast<std::uintptr_t>(this));
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), 0600) == 0);
  }
  ~KeyFile() { std::remove(path.c_str()); }
};

Term with_key_file(Term options, const std::string& path) {
  options["cluster_key_file"] = path;
  return options;
}

}  // namespace

TEST_CASE("synctl keygen prints a key that syn-node nodes share through a key file", "[process][security]") {
  auto printed = synctl_keygen();
  REQUIRE(printed.size() == 41);  // the key and a newline
  CHECK(printed.back() == '\n');
  CHECK(synctl_keygen() != printed);
  KeyFile key(printed);

  Agent alpha(with_key_file(agent_options("alpha"), key.path), process_agent_config());
  Agent beta(with_key_file(agent_options("beta", {alpha.endpoint()}), key.path), process_agent_config());
  REQUIRE(eventually([&] { return agent_sees_exactly(alpha, {"beta"}) && agent_sees_exactly(beta, {"alpha"}); }));
  CHECK(alpha.stderr_text().find(printed.substr(0, 40)) == std::string::npos);
}

TEST_CASE("a node with a key and a node without one never form a cluster, and each says why", "[process][security]") {
  KeyFile key(generate_cluster_key());
  Agent keyed(with_key_file(agent_options("keyed"), key.path), process_agent_config());
  Agent plain(agent_options("plain", {keyed.endpoint()}), process_agent_config());
  // The keyed node is dialled by the plain one: both see the handshake fail, and say so.
  CHECK(keyed.wait_stderr("cluster key", 10s));
  CHECK(plain.wait_stderr("cluster key", 10s));
  CHECK(stays([&] { return keyed.nodes().empty() && plain.nodes().empty(); }, 1500ms));
  CHECK(keyed.ok("stats")["refused_peers"].get<int>() > 0);
  // The dialling side counts its failed handshakes too: it never links either.
  CHECK(eventually([&] { return plain.ok("stats")["refused_peers"].get<int>() > 0; }));
  // One line each, however often ZeroMQ redials (once a second) within the minute.
  auto lines_about_keys = [](const std::string& text) {
    std::size_t n = 0;
    for (std::size_t at = text.find("cluster key"); at != std::string::npos; at = text.find("cluster key", at + 1)) ++n;
    return n;
  };
  CHECK(lines_about_keys(keyed.stderr_text()) == 1);
  CHECK(lines_about_keys(plain.stderr_text()) == 1);
}

TEST_CASE("syn-node refuses a key file others may read, naming the file", "[process][security]") {
  KeyFile key(generate_cluster_key());
  REQUIRE(::chmod(key.path.c_str(), 0644) == 0);
  CHECK_THROWS(Agent(with_key_file(agent_options("loose"), key.path), process_agent_config()));
}
