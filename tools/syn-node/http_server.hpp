#pragma once
// syn-node's HTTP endpoints (--http HOST:PORT, cpp-httplib): /metrics (Prometheus text),
// /healthz (alive), /readyz (ready: 200, else 503), and / (a status page for people that
// refreshes itself). Loopback only unless --http-remote: the endpoints have no
// authentication, and the page shows the cluster's shape.
#include <syn/metrics.hpp>
#include <syn/node.hpp>

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

/// Rates between two looks at a node's metrics (the status page's: each load is a look).
/// Thread-safe: pages may be served on several threads.
class RateMeter {
 public:
  struct Rates {
    bool known = false;                    ///< false at the first look (nothing to compare)
    std::map<std::string, double> writes;  ///< per scope: calls made on this node per second
    double frames_in = 0, frames_out = 0;  ///< frames per second, all peers
    double events = 0;                     ///< events (as synctl events shows them) per second
  };
  /// Looks at `metrics` and at the count of events seen now: the rates since the previous look.
  Rates look(const syn::Metrics& metrics, std::uint64_t events_seen);

 private:
  struct Totals {
    std::chrono::steady_clock::time_point at;
    std::map<std::string, std::uint64_t> writes;
    std::uint64_t frames_in = 0, frames_out = 0;
    std::uint64_t events = 0;
  };
  std::mutex mutex_;
  std::optional<Totals> last_;
};

/// The status page (HTML) of a node: its links, its scopes, its counters, rates since the
/// last load (from `rates`).
std::string status_page(syn::Node& node, RateMeter& rates);

}  // namespace syn_node
