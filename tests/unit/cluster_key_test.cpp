// Cluster keys (SPEC 7): their form, key files and their permissions, and the rule that a
// node without a key binds nothing beyond loopback. The key never appears in an error.
#include "transport/cluster_key.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>
#include <string>

using namespace syn;

namespace {

/// A file in /tmp holding `text`, with `mode`; removed at the end of the scope.
struct TempFile {
  std::string path;
  TempFile(const std::string& text, mode_t mode) {
    char name[] = "/tmp/syn-key-test-XXXXXX";
    int fd = ::mkstemp(name);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = name;
    std::ofstream(path) << text;
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  }
  ~TempFile() { std::remove(path.c_str()); }
};

/// The message of the Error{bad_argument} that `fn` throws.
template <class Fn>
std::string bad_argument_of(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    CHECK(e.code() == Errc::bad_argument);
    return e.what();
  }
  FAIL("no Error thrown");
  return {};
}

NodeOptions keyed(const std::string& name) {
  NodeOptions o;
  o.name = name;
  return o;
}

}  // namespace

TEST_CASE("generate_cluster_key makes distinct 40-character Z85 keys a node accepts", "[unit][security]") {
  std::set<std::string> keys;
  for (int i = 0; i < 20; ++i) {
    auto key = generate_cluster_key();
    CHECK(key.size() == 40);
    CHECK(key.find_first_of(" \t\n") == std::string::npos);
    keys.insert(key);
    auto pair = transport::curve_keys_from_secret(key, "test");
    CHECK(pair.secret == key);
    CHECK(pair.public_key.size() == 40);
    CHECK(pair.public_key != key);
  }
  CHECK(keys.size() == 20);
  // The same secret always gives the same public key: every node derives the cluster's.
  auto key = generate_cluster_key();
  CHECK(transport::curve_keys_from_secret(key, "a").public_key ==
        transport::curve_keys_from_secret(key, "b").public_key);
}

TEST_CASE("a key of the wrong form is bad_argument naming the option, never echoing the key", "[unit][security]") {
  const std::string good = generate_cluster_key();
  for (const std::string& wrong :
       {good.substr(0, 39), good + "A", std::string(40, ' '), good.substr(0, 39) + "\"", std::string("short")}) {
    auto options = keyed("k");
    options.cluster_key = wrong;
    auto message = bad_argument_of([&] { Node node(options); });
    CHECK(message.find("cluster_key") != std::string::npos);
    if (wrong.size() > 8) CHECK(message.find(wrong) == std::string::npos);
  }
  auto options = keyed("k");
  options.cluster_key = good;
  options.cluster_key_file = "/nonexistent";
  CHECK(bad_argument_of([&] { Node node(options); }).find("both") != std::string::npos);
}

TEST_CASE("a key file must be private to its owner, and holds the key on one line", "[unit][security]") {
  const std::string key = generate_cluster_key();
  {
    TempFile file("  " + key + "\n\n", 0600);
    auto pair = transport::read_cluster_key_file(file.path);  // surrounding whitespace ignored
    CHECK(pair.secret == key);
  }
  for (mode_t mode : {0644, 0640, 0604, 0660, 0606}) {
    TempFile file(key + "\n", mode);
    auto message = bad_argument_of([&] { transport::read_cluster_key_file(file.path); });
    CHECK(message.find(file.path) != std::string::npos);
    CHECK(message.find("group or others") != std::string::npos);
    CHECK(message.find(key) == std::string::npos);
  }
  {
    TempFile file("not a key at all\n", 0600);
    auto message = bad_argument_of([&] { transport::read_cluster_key_file(file.path); });
    CHECK(message.find(file.path) != std::string::npos);
    CHECK(message.find("cluster_key_file") != std::string::npos);  // the option, too
  }
  {
    TempFile file(key + "\n", 0400);  // stricter than 0600 is fine
    CHECK(transport::read_cluster_key_file(file.path).secret == key);
  }
  auto message = bad_argument_of([] { transport::read_cluster_key_file("/nonexistent/syn.key"); });
  CHECK(message.find("/nonexistent/syn.key") != std::string::npos);
}

TEST_CASE("from_json reads the security options and refuses wrong types, naming the option", "[unit][security]") {
  auto key = generate_cluster_key();
  auto o = NodeOptions::from_json(
      Term{{"name", "a"}, {"cluster_key", key}, {"allow_insecure", true}, {"max_term_bytes", 4096}});
  CHECK(o.cluster_key == key);
  CHECK(o.allow_insecure);
  CHECK(o.max_term_bytes == 4096);
  CHECK(NodeOptions::from_json(Term{{"cluster_key_file", "/etc/syn.key"}}).cluster_key_file == "/etc/syn.key");
  CHECK(bad_argument_of([] {
          NodeOptions::from_json(Term{{"max_term_bytes", -1}});
        }).find("max_term_bytes") != std::string::npos);
  CHECK(bad_argument_of([] {
          NodeOptions::from_json(Term{{"allow_insecure", "yes"}});
        }).find("allow_insecure") != std::string::npos);
}

TEST_CASE("without a key a node binds loopback only, unless allow_insecure", "[unit][security]") {
  CHECK(transport::is_loopback_endpoint("tcp://127.0.0.1:0"));
  CHECK(transport::is_loopback_endpoint("tcp://127.3.2.1:7000"));
  CHECK(transport::is_loopback_endpoint("tcp://[::1]:0"));
  CHECK(transport::is_loopback_endpoint("tcp://localhost:0"));
  CHECK(transport::is_loopback_endpoint("ipc:///tmp/syn.sock"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://0.0.0.0:0"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://*:0"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://[::]:0"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://198.18.0.1:0"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://127.0.0.1.example:0"));
  CHECK_FALSE(transport::is_loopback_endpoint("tcp://eth0:0"));

  auto options = keyed("wild");
  options.listen = "tcp://0.0.0.0:0";
  auto message = bad_argument_of([&] { Node node(options); });
  CHECK(message.find("listen") != std::string::npos);
  options.allow_insecure = true;
  { Node node(options); }
  options.allow_insecure = false;
  options.cluster_key = generate_cluster_key();
  { Node node(options); }
}

TEST_CASE("keys accepted during a rotation come after the cluster's own, and need it", "[unit][security]") {
  auto own = generate_cluster_key();
  auto next = generate_cluster_key();
  auto keys = transport::configured_keys(own, "", {next});
  REQUIRE(keys.size() == 2);
  CHECK(keys[0].secret == own);
  CHECK(keys[1].secret == next);
  CHECK(transport::configured_keys("", "").empty());
  CHECK(bad_argument_of([&] { transport::configured_keys("", "", {next}); }).find("cluster_keys_accepted") !=
        std::string::npos);
  auto message = bad_argument_of([&] { transport::configured_keys(own, "", {"nope"}); });
  CHECK(message.find("cluster_keys_accepted[0]") != std::string::npos);
  auto o = NodeOptions::from_json(Term{{"cluster_key", own}, {"cluster_keys_accepted", {next}}});
  CHECK(o.cluster_keys_accepted == std::vector<std::string>{next});
}
