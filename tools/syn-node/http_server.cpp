#include "http_server.hpp"

#include <syn/control.hpp>
#include <syn/metrics.hpp>

#include <httplib.h>

#include <chrono>
#include <cstddef>
#include <stdexcept>
#include <thread>

namespace syn_node {

namespace {

/// Workers of the HTTP server: each connection holds one while it is open. cpp-httplib's
/// default (8 on a 2-core host) let a handful of idle connections keep /healthz from answering.
constexpr std::size_t kHttpWorkers = 32;

bool is_loopback_host(const std::string& host) {
  return host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

}  // namespace

struct HttpServer::State {
  httplib::Server server;
  std::thread thread;
  RateMeter rates;
};

HttpServer::HttpServer(syn::Node& node, const std::string& address, bool allow_remote)
    : state_(std::make_unique<State>()) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0)
    throw std::runtime_error("--http: expected HOST:PORT, got '" + address + "'");
  std::string host = address.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  int port = 0;
  try {
    port = std::stoi(address.substr(colon + 1));
  } catch (const std::exception&) { throw std::runtime_error("--http: bad port in '" + address + "'"); }
  if (port < 0 || port > 65535) throw std::runtime_error("--http: bad port in '" + address + "'");
  if (!allow_remote && !is_loopback_host(host)) {
    throw std::runtime_error("--http " + address +
                             " is reachable beyond this host and has no authentication: bind a loopback address, or "
                             "add --http-remote to allow it");
  }
  // The page shows the last events: keep them from now on.
  syn::control_request(node, {{"cmd", "recent_events"}, {"n", 0}});
  auto& server = state_->server;
  // A liveness probe must be answered while clients hold connections open (idle, kept alive,
  // or a request sent in part): more workers, and a connection that says nothing is let go
  // after a second or two rather than five.
  server.new_task_queue = [] { return new httplib::ThreadPool(kHttpWorkers); };
  server.set_read_timeout(std::chrono::seconds(2));
  server.set_keep_alive_timeout(1);
  server.Get("/metrics", [&node](const httplib::Request&, httplib::Response& res) {
    res.set_content(syn::to_prometheus(node.metrics()), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/healthz",
             [](const httplib::Request&, httplib::Response& res) { res.set_content("ok\n", "text/plain"); });
  server.Get("/readyz", [&node](const httplib::Request&, httplib::Response& res) {
    bool ready = node.ready();
    res.status = ready ? 200 : 503;
    res.set_content(ready ? "ready\n" : "not ready\n", "text/plain");
  });
  server.Get("/", [&node, &rates = state_->rates](const httplib::Request&, httplib::Response& res) {
    res.set_content(status_page(node, rates), "text/html; charset=utf-8");
  });
  if (port == 0) {
    port = server.bind_to_any_port(host);
    if (port < 0) throw std::runtime_error("--http: cannot bind " + address);
  } else if (!server.bind_to_port(host, port)) {
    throw std::runtime_error("--http: cannot bind " + address);
  }
  url_ = "http://" + (host.find(':') != std::string::npos ? "[" + host + "]" : host) + ":" + std::to_string(port);
  state_->thread = std::thread([this] { state_->server.listen_after_bind(); });
}

HttpServer::~HttpServer() {
  state_->server.stop();
  if (state_->thread.joinable()) state_->thread.join();
}

}  // namespace syn_node
