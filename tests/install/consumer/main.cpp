// The installed-package smoke test: two nodes on loopback, a process on one, a message to it
// from the other. Exits 0 when the message arrives, 1 (with a reason on stderr) otherwise.
#include <syn/syn.hpp>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

int fail(const std::string& why) {
  std::cerr << "consumer: FAILED: " << why << '\n';
  return 1;
}

// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class Condition>
bool eventually(Condition&& condition, std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (condition()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(20ms);
  }
}

bool connected_to(const syn::Node& node, const std::string& other) {
  const std::vector<std::string> nodes = node.nodes();
  return std::find(nodes.begin(), nodes.end(), other) != nodes.end();
}

int run() {
#ifdef SYN_PACKAGE_VERSION
  if (std::strcmp(SYN_PACKAGE_VERSION, syn::version) != 0)
    return fail(std::string("package version ") + SYN_PACKAGE_VERSION + " but headers say " + syn::version);
#endif

  syn::NodeOptions alpha_options;
  alpha_options.name = "consumer-alpha";
  alpha_options.listen = "tcp://127.0.0.1:0";
  syn::Node alpha(alpha_options);

  // Designated initializers naming a few fields, as users write them.
  syn::Node beta(syn::NodeOptions{.name = "consumer-beta", .listen = "tcp://127.0.0.1:0", .scopes = {"users"}});

  alpha.connect(beta.endpoint());
  if (!eventually([&] { return connected_to(alpha, beta.name()) && connected_to(beta, alpha.name()); }))
    return fail("nodes " + alpha.endpoint() + " and " + beta.endpoint() + " did not connect");

  syn::Process process = beta.spawn();
  if (!process.alive()) return fail("spawned process is not alive");
  if (process.pid().node() != beta.name()) return fail("pid names node " + process.pid().node());
  const auto parsed = syn::Pid::parse(process.pid().to_string());
  if (!parsed || *parsed != process.pid()) return fail("pid does not round-trip: " + process.pid().to_string());

  // A Result<void> read as std::expected's: value() throws when the call failed.
  beta.registry("users").register_name("consumer", process).value();
  if (beta.registry("users").whereis("consumer") != process.pid()) return fail("the name is not registered");

  const syn::Term sent = {{"hello", "from alpha"}, {"n", 42}, {"path", {"italy", "lombardy"}}};
  alpha.send(process.pid(), sent);

  // receive() itself waits with a timeout; loop on it up to an overall deadline.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::optional<syn::Message> message;
  while (!message && std::chrono::steady_clock::now() < deadline) message = process.receive(200ms);
  if (!message) return fail("no message arrived at " + process.pid().to_string());
  if (message->body != sent) return fail("wrong message: " + message->body.dump());

  std::cout << "consumer: " << process.pid().to_string() << " on " << beta.name() << " got " << message->body.dump()
            << " from " << alpha.name() << " (syn " << syn::version << ")\n";
  return 0;
}

}  // namespace

int main() {
  try {
    return run();
  } catch (const std::exception& e) { return fail(std::string("exception: ") + e.what()); }
}
