#include "control/control_server.hpp"

#include "common/log.hpp"
#include "control/event_tap.hpp"
#include "node/node_core.hpp"
#include "transport/bind_endpoint.hpp"
#include "transport/cluster_key.hpp"
#include "transport/gate.hpp"
#include "transport/refusal_log.hpp"

#include <syn/control.hpp>
#include <syn/errors.hpp>

#include <zmq.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <map>
#include <optional>
#include <vector>

namespace syn::detail {

namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(50);
constexpr auto kFollowerHeartbeat = std::chrono::seconds(1);
constexpr std::int64_t kMaxRequestBytes = 1 << 20;
constexpr int kSendHighWater = 100000;  // frames queued to one client: a follower this far behind is dropped

bool is_ipc(const std::string& endpoint) { return endpoint.rfind("ipc://", 0) == 0; }
bool is_tcp(const std::string& endpoint) { return endpoint.rfind("tcp://", 0) == 0; }

}  // namespace

struct ControlServer::State {
  Node& node;
  bool writes;
  std::string endpoint;
  zmq::context_t context{1};
  std::uint64_t refused = 0;
  transport::RefusalLog refusals;
  std::unique_ptr<transport::Gate> gate;
  zmq::socket_t router{context, zmq::socket_type::router};
  EventTap& tap;
  struct Follower {
    std::optional<std::string> scope;  // only this scope's events (and the node's lifecycle)
  };
  std::map<std::string, Follower> followers;  // by routing id
  std::chrono::steady_clock::time_point last_heartbeat{};

  State(Node& n, const NodeOptions& options)
      : node(n),
        writes(options.control_writes),
        endpoint(options.control),
        refusals(options.name),
        tap(n.event_tap()) {}

  /// False when the client is gone or too far behind (a follower is then dropped).
  bool send(const std::string& rid, const std::string& payload) {
    try {
      if (!router.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) return false;
      return router.send(zmq::buffer(payload), zmq::send_flags::dontwait).has_value();
    } catch (const zmq::error_t&) { return false; }  // EHOSTUNREACH: it disconnected
  }

  void set_following(bool on) { tap.set_following(on); }

  void handle(const std::string& rid, const zmq::message_t& payload) {
    Term request;
    try {
      request = Term::parse(payload.to_string_view());
    } catch (const std::exception&) {
      send(rid, Term{{"ok", false}, {"error", "a request must be one JSON object"}, {"code", "bad_request"}}.dump());
      return;
    }
    if (request.is_object() && request.value("cmd", Term()) == Term("events")) return follow(rid, request);
    send(rid, control_request(node, request, writes).dump());
  }

  void follow(const std::string& rid, const Term& request) {
    Follower follower;
    auto scope = request.find("scope");
    if (scope != request.end() && scope->is_string()) follower.scope = scope->get<std::string>();
    if (request.value("follow", Term(false)) != Term(true)) {
      send(
          rid,
          Term{{"ok", false}, {"error", "events streams: ask with \"follow\": true"}, {"code", "bad_argument"}}.dump());
      return;
    }
    // Following counts as asking for events: from now on the node keeps its last ones too.
    tap.keep_recent();
    if (followers.empty()) set_following(true);
    followers[rid] = follower;
    send(rid, Term{{"ok", true}, {"following", true}}.dump());
  }

  /// Sends the queued events to their followers, and heartbeats when idle.
  void forward_events() {
    if (followers.empty()) return;
    auto lines = tap.feed().take();
    auto now = std::chrono::steady_clock::now();
    bool beat = lines.empty() && now - last_heartbeat >= kFollowerHeartbeat;
    if (beat) last_heartbeat = now;
    std::string heartbeat = Term{{"heartbeat", true}}.dump();
    for (auto it = followers.begin(); it != followers.end();) {
      bool alive = true;
      for (const auto& line : lines) {
        auto scope = line.find("scope");
        if (it->second.scope && scope != line.end() && *scope != Term(*it->second.scope)) continue;
        if (!(alive = send(it->first, line.dump()))) break;
      }
      if (alive && beat) alive = send(it->first, heartbeat);
      it = alive ? std::next(it) : followers.erase(it);
    }
    if (followers.empty()) set_following(false);
  }
};

ControlServer::ControlServer(Node& node, const NodeOptions& options) : state_(std::make_unique<State>(node, options)) {
  auto& s = *state_;
  const auto& endpoint = options.control;
  auto keys = transport::configured_keys(options.cluster_key, options.cluster_key_file, options.cluster_keys_accepted);
  if (!is_ipc(endpoint) && !is_tcp(endpoint)) {
    throw Error(Errc::bad_argument, "NodeOptions.control '" + endpoint + "' must be ipc://PATH or tcp://HOST:PORT");
  }
  if (is_tcp(endpoint)) {
    if (keys.empty() && !transport::is_loopback_endpoint(endpoint)) {
      throw Error(Errc::bad_argument, "NodeOptions.control '" + endpoint +
                                          "' is reachable beyond this host but no cluster key is set: use an ipc:// "
                                          "endpoint, a loopback address, or set cluster_key (docs/operations.md)");
    }
    if (!keys.empty()) {
      s.gate = std::make_unique<transport::Gate>(s.context, options.name + "-control", keys,
                                                 std::max(options.peer_timeout, std::chrono::milliseconds(1000)),
                                                 s.refused, s.refusals);
      s.gate->guard_router(s.router);
    }
  }
  s.router.set(zmq::sockopt::linger, 0);
  s.router.set(zmq::sockopt::router_mandatory, 1);
  s.router.set(zmq::sockopt::sndhwm, kSendHighWater);
  s.router.set(zmq::sockopt::maxmsgsize, kMaxRequestBytes);
  s.router.set(zmq::sockopt::ipv6, transport::is_ipv6_endpoint(endpoint) ? 1 : 0);  // SPEC 7: tcp://[::1]:port
  transport::refuse_ipc_in_use(endpoint, "NodeOptions.control");
  try {
    s.router.bind(transport::bindable_endpoint(endpoint));
  } catch (const zmq::error_t& e) {
    throw Error(Errc::bad_argument, "NodeOptions.control '" + endpoint + "' cannot be bound: " + e.what());
  }
  if (is_ipc(endpoint)) {
    // Only this user may talk to the node (SPEC 9).
    auto path = endpoint.substr(6);
    if (::chmod(path.c_str(), S_IRUSR | S_IWUSR) != 0) {
      throw Error(Errc::bad_argument, "NodeOptions.control '" + endpoint + "': cannot make the socket file 0600");
    }
  }
  SYN_LOG(info, options.name, "control endpoint at ", endpoint, s.writes ? " (writes allowed)" : " (read-only)");
  thread_ = std::thread([this] { run(); });
}

ControlServer::~ControlServer() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  state_->set_following(false);
  if (is_ipc(state_->endpoint)) ::unlink(state_->endpoint.substr(6).c_str());
}

void ControlServer::run() {
  auto& s = *state_;
  std::vector<zmq::pollitem_t> items;
  while (!stopping_.load(std::memory_order_acquire)) {
    items.clear();
    items.push_back({s.router.handle(), 0, ZMQ_POLLIN, 0});
    if (s.gate) s.gate->fill_poll_items(items);
    try {
      zmq::poll(items, kPollInterval);
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      SYN_LOG(error, s.node.name(), "control endpoint: poll failed: ", e.what());
      return;
    }
    if (items[0].revents & ZMQ_POLLIN) {
      for (int i = 0; i < 64; ++i) {
        zmq::message_t rid;
        if (!s.router.recv(rid, zmq::recv_flags::dontwait)) break;
        zmq::message_t payload;
        if (!rid.more() || !s.router.recv(payload, zmq::recv_flags::dontwait)) continue;
        bool extra = false;
        while (payload.more()) {  // a request is one frame: more is garbage
          zmq::message_t rest;
          if (!s.router.recv(rest, zmq::recv_flags::dontwait)) break;
          extra = true;
          if (!rest.more()) break;
        }
        std::string client(rid.data<char>(), rid.size());
        if (extra) {
          s.send(client, Term{{"ok", false}, {"error", "a request is one frame"}, {"code", "bad_request"}}.dump());
          continue;
        }
        s.handle(client, payload);
      }
    }
    if (s.gate) s.gate->handle_poll(items, 1);
    s.forward_events();
  }
}

}  // namespace syn::detail
