#pragma once
// syn-node's HTTP endpoints (--http HOST:PORT, cpp-httplib): /metrics (Prometheus text),
// /healthz (alive), /readyz (ready: 200, else 503), and / (a status page for people that
// refreshes itself). Loopback only unless --http-remote: the endpoints have no
// authentication, and the page shows the cluster's shape.
#include <syn/node.hpp>

#include <memory>
#include <string>

namespace syn_node {

class HttpServer {
 public:
  /// Binds `address` ("HOST:PORT"; port 0 picks one) and serves from a thread of its own.
  /// Throws std::runtime_error when it cannot bind or the address is refused.
  HttpServer(syn::Node& node, const std::string& address, bool allow_remote);
  /// Stops serving and joins the thread.
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// "http://HOST:PORT" with the bound port.
  const std::string& url() const { return url_; }

 private:
  struct State;
  std::unique_ptr<State> state_;
  std::string url_;
};

/// The status page (HTML) of a node: its links, its scopes, its counters.
std::string status_page(syn::Node& node);

}  // namespace syn_node
