// The transport: its sockets, the loop and per-peer batching (see transport_state.hpp for the
// other parts).
#include "transport/transport_state.hpp"

#include "common/log.hpp"
#include "common/random.hpp"
#include "transport/bind_endpoint.hpp"
#include "transport/gate.hpp"

#include <syn/errors.hpp>
#include <syn/version.hpp>

#include <algorithm>
#include <unistd.h>
#include <cstring>
#include <string_view>
#include <utility>

namespace syn::transport {

const char* to_string(DownReason reason) {
  switch (reason) {
    case DownReason::connection_lost: return "connection lost";
    case DownReason::timeout: return "silent past peer_timeout";
    case DownReason::left: return "left the cluster";
    case DownReason::disconnected: return "disconnected";
    case DownReason::reset: return "link reset by peer";
    case DownReason::overflow: return "send queue overflow";
    case DownReason::restarted: return "restarted as a new incarnation";
  }
  return "?";
}

const char* code_of(DownReason reason) {
  switch (reason) {
    case DownReason::connection_lost: return "connection_lost";
    case DownReason::timeout: return "timeout";
    case DownReason::left: return "left";
    case DownReason::disconnected: return "disconnected";
    case DownReason::reset: return "reset";
    case DownReason::overflow: return "overflow";
    case DownReason::restarted: return "restarted";
  }
  return "?";
}

void check_endpoint(const std::string& endpoint) {
  auto bad = [&](const char* why) {
    throw Error(Errc::bad_argument, "not a ZeroMQ endpoint to dial (" + std::string(why) +
                                        "; tcp://host:port or ipc://path): '" + endpoint + "'");
  };
  if (endpoint.rfind("ipc://", 0) == 0) {
    if (endpoint.size() == 6) bad("no path");
    return;
  }
  if (endpoint.rfind("tcp://", 0) != 0) bad("unknown transport");
  std::string_view rest(endpoint);
  rest.remove_prefix(6);
  auto colon = rest.rfind(':');
  if (colon == std::string_view::npos) bad("no port");
  std::string_view host = rest.substr(0, colon);
  std::string_view port = rest.substr(colon + 1);
  if (host.empty()) bad("no host");
  if (host == "*") bad("'*' is for binding, not dialling");
  for (char c : host) {
    if (static_cast<unsigned char>(c) <= ' ') bad("a space or control character in the host");
  }
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string_view::npos) {
    bad("the port is not a number");
  }
  int number = std::stoi(std::string(port));
  if (number < 1 || number > 65535) bad("the port is out of range");
}

Transport::Transport(zmq::context_t& context, TransportConfig config, TransportListener& listener)
    : context_(context),
      config_(std::move(config)),
      listener_(listener),
      self_atom_(detail::intern_node_name(config_.node_name)),
      router_(context_, zmq::socket_type::router),
      refusals_(config_.node_name) {
  if (!config_.keys.empty()) {
    // Before the ROUTER binds: a CURVE server without a ZAP handler would admit anyone who
    // knows the cluster's public key.
    gate_ = std::make_unique<Gate>(context_, config_.node_name, config_.keys, handshake_timeout(config_),
                                   counters_.refused, refusals_);
    gate_->guard_router(router_);
  }
  router_.set(zmq::sockopt::linger, 0);
  router_.set(zmq::sockopt::router_mandatory, 1);
  router_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxFrameBytes));
  router_.set(zmq::sockopt::rcvhwm, 10000);  // beyond: TCP back-pressure on the sender
  router_.set(zmq::sockopt::sndhwm, kDealerSendHighWater);
}

Transport::~Transport() {
  for (auto& [atom, p] : peers_) {
    if (p->dealer) close_dealer(std::move(p->dealer));
  }
  for (auto& d : pending_) close_dealer(std::move(d));
  pending_.clear();
  graveyard_.clear();
}

std::string Transport::bind(const std::string& endpoint, const std::string& advertise) {
  // IPv6 only for an IPv6 address: with it on, ZeroMQ would report an IPv4 endpoint in its
  // mapped form (tcp://[::ffff:127.0.0.1]:port), the endpoint we advertise.
  router_.set(zmq::sockopt::ipv6, is_ipv6_endpoint(endpoint) ? 1 : 0);
  refuse_ipc_in_use(endpoint, "NodeOptions.listen");
  try {
    router_.bind(bindable_endpoint(endpoint));
  } catch (const zmq::error_t& e) { throw Error(Errc::bad_argument, "cannot bind '" + endpoint + "': " + e.what()); }
  std::string bound = router_.get(zmq::sockopt::last_endpoint);
  self_endpoints_.insert(bound);
  endpoint_ = advertised_endpoint(bound, advertise);
  self_endpoints_.insert(endpoint_);
  return endpoint_;
}

std::string advertised_endpoint(const std::string& bound, const std::string& advertise) {
  return advertised_endpoint(bound, advertise, this_host());
}

std::string advertised_endpoint(const std::string& bound, const std::string& advertise, const HostAddresses& host) {
  auto colon = bound.rfind(':');
  std::string port = colon == std::string::npos ? std::string() : bound.substr(colon + 1);
  if (!advertise.empty()) {
    // "tcp://host" takes the bound port; "tcp://host:port" is used as it is.
    std::string_view rest(advertise);
    if (rest.rfind("tcp://", 0) == 0) rest.remove_prefix(6);
    // The port's colon comes after the host; an IPv6 host ([fd00::1]) has colons of its own.
    auto host_end = rest.rfind(']');
    bool has_port = rest.find(':', host_end == std::string_view::npos ? 0 : host_end) != std::string_view::npos;
    std::string out = has_port ? advertise : advertise + ":" + port;
    check_endpoint(out);
    return out;
  }
  // Bound to every interface: peers elsewhere cannot dial "0.0.0.0". The host's one address
  // is what they can dial; its name may resolve to loopback (Debian's /etc/hosts maps it to
  // 127.0.1.1), and where several hosts share a name (network namespaces, containers) it
  // names them all. With several addresses, which one peers reach is not ours to guess: the
  // name, as before (`advertise` says it exactly).
  const bool v6 = bound.rfind("tcp://[::]:", 0) == 0;
  if (!v6 && bound.rfind("tcp://0.0.0.0:", 0) != 0 && bound.rfind("tcp://*:", 0) != 0) return bound;
  const auto& addresses = v6 ? host.ipv6 : host.ipv4;
  if (addresses.size() == 1) {
    return "tcp://" + (v6 ? "[" + addresses.front() + "]" : addresses.front()) + ":" + port;
  }
  if (host.name.empty()) return bound;
  return "tcp://" + host.name + ":" + port;
}

// ---- the loop ---------------------------------------------------------------------------

void Transport::tell_held_downs() {
  // Downs the listener's own sends find meanwhile are held (a pass is running) and told in
  // the next call, after this one, not inside it.
  while (!held_downs_.empty()) {
    auto downs = std::exchange(held_downs_, {});
    listener_.on_peers_down(downs);
  }
}

void Transport::fill_poll_items(std::vector<zmq::pollitem_t>& items) {
  polled_.clear();
  items.push_back({router_.handle(), 0, ZMQ_POLLIN, 0});
  auto add = [&](Dealer& d, bool up) {
    polled_.push_back(&d);
    // An up link's socket is polled through its file descriptor only (see Dealer::notify_fd);
    // what that misses, tick() reads.
    if (up) {
      items.push_back({nullptr, d.notify_fd, ZMQ_POLLIN, 0});
    } else {
      items.push_back({d.socket.handle(), 0, ZMQ_POLLIN, 0});
    }
    items.push_back({nullptr, d.monitor_fd, ZMQ_POLLIN, 0});
  };
  for (auto& [atom, p] : peers_) {
    if (p->dealer) add(*p->dealer, p->up);
  }
  for (auto& d : pending_) add(*d, false);
  if (gate_) gate_->fill_poll_items(items);
}

void Transport::handle_poll(const std::vector<zmq::pollitem_t>& items, std::size_t first) {
  DownBatch downs(*this);
  if (items[first].revents & ZMQ_POLLIN) on_router_readable();
  for (std::size_t i = 0; i < polled_.size(); ++i) {
    Dealer* d = polled_[i];
    // A dealer closed earlier in this pass sits in the graveyard with a closed socket.
    if (!d->socket) continue;
    if (items[first + 1 + 2 * i + 1].revents & ZMQ_POLLIN) on_monitor_readable(*d);
    if (!d->socket) continue;
    if (items[first + 1 + 2 * i].revents & ZMQ_POLLIN) on_dealer_readable(*d);
  }
  if (gate_) gate_->handle_poll(items, first + 1 + 2 * polled_.size());
  polled_.clear();
  graveyard_.clear();
  downs.finish();
}

std::chrono::milliseconds Transport::tick_interval() const {
  auto interval = std::min(config_.heartbeat_interval, config_.peer_timeout / 4);
  return std::max(interval, std::chrono::milliseconds(5));
}

void Transport::tick(TimePoint now) {
  DownBatch downs(*this);
  // Monitors, and up links' sockets, are polled by file descriptor, which tells of news once:
  // read what may have gone unannounced (a sending thread's visit to a socket, say).
  // (Closing a dealer leaves it in the graveyard until this pass ends: the pointers stay valid.)
  std::vector<Dealer*> dealers, up_dealers;
  for (auto& [atom, p] : peers_) {
    if (!p->dealer) continue;
    dealers.push_back(p->dealer.get());
    if (p->up) up_dealers.push_back(p->dealer.get());
  }
  for (auto& d : pending_) dealers.push_back(d.get());
  for (Dealer* d : dealers) {
    if (d->monitor) on_monitor_readable(*d);
  }
  for (Dealer* d : up_dealers) {
    if (d->socket) on_dealer_readable(*d);
  }
  // Frames still unread on our ROUTER may hold the heartbeat of a peer of protocol 3 or older
  // (a newer one sends its heartbeats on our DEALER, read just above): while we lag behind our
  // own input (a CPU starved by dozens of nodes on a few cores), that lag is ours, not the
  // peer's silence. It delays a verdict at most 4 peer_timeouts.
  const bool lagging = (router_.get(zmq::sockopt::events) & ZMQ_POLLIN) != 0;
  for (auto& [atom, p] : peers_) {
    if (p->up) {
      auto silent = now - p->last_recv;
      const bool heard_behind_our_lag = lagging && p->version < wire::heartbeat_back_since;
      if (silent > config_.peer_timeout && !(heard_behind_our_lag && silent < 4 * config_.peer_timeout)) {
        SYN_LOG_PEER(warn, config_.node_name, p->name, "peer ", p->name, " silent for more than ",
                     config_.peer_timeout.count(), " ms: down");
        teardown(*p, DownReason::timeout);
        continue;
      }
      if (p->version >= wire::heartbeat_back_since) {
        send_heartbeat_back(*p, now);
      } else if (now - p->last_send >= config_.heartbeat_interval && p->out.empty()) {
        // An older peer hears us on our own connection: a heartbeat when it is idle.
        wire::OutBuffer hb;
        wire::encode_heartbeat(hb);
        p->out.append_messages(hb.view());
      }
    } else if (p->dealer && p->dealer->hello_sent && !p->dealer->welcomed &&
               now - p->dealer->hello_at > config_.peer_timeout) {
      // Connected but never welcomed (a stopped peer, a lost hello): dial afresh.
      close_dealer(std::move(p->dealer));
      ensure_dealer(*p);
    }
  }
  if (!redials_.empty()) {
    auto due = std::partition(redials_.begin(), redials_.end(), [&](const Redial& r) { return r.at > now; });
    std::vector<Redial> ready(std::make_move_iterator(due), std::make_move_iterator(redials_.end()));
    redials_.erase(due, redials_.end());
    for (auto& r : ready) {
      if (r.expected_atom) {
        Peer& p = peer(r.expected_atom);
        if (!p.up && !p.dealer) {
          if (p.endpoint.empty()) p.endpoint = r.endpoint;
          ensure_dealer(p);
        }
      } else {
        connect(r.endpoint);
      }
    }
  }
  graveyard_.clear();
  downs.finish();
}

void Transport::keep_alive(TimePoint now) {
  if (lent_ || left_) return;
  for (auto& [atom, p] : peers_) {
    if (p->up && p->version >= wire::heartbeat_back_since) send_heartbeat_back(*p, now);
  }
}

void Transport::send_heartbeat_back(Peer& p, TimePoint now) {
  // On our own connection, a heartbeat waits behind everything we sent before it: a peer
  // given 3% of a core by 64 nodes on 2 cores, reading a million names, took more than 4
  // peer_timeouts to reach it and took us for dead (docs/scale.md). The connection it dialled
  // carries nothing else once the link is up; it reads that one at each of its turns. Sent
  // every heartbeat_interval, data or not: the data says nothing about when it is read.
  if (now - p.last_back < config_.heartbeat_interval) return;
  p.last_back = now;
  if (!p.inbound || p.rid.empty()) return;
  wire::OutBuffer hb;
  if (p.version >= wire::read_acks_since) {
    wire::encode_heartbeat(hb, p.read_from_rid);
  } else {
    wire::encode_heartbeat(hb);
  }
  router_reply(p.rid, hb, p.version);
}

void Transport::flush() {
  auto now = SteadyClock::now();
  for (auto& [atom, p] : peers_) {
    if (!p->up || p->out.empty()) continue;
    if (!send_frame(*p, p->out.take(), now)) send_blocked(*p);
  }
  graveyard_.clear();
}

bool Transport::flush_ready() {
  auto now = SteadyClock::now();
  bool all_sent = true;
  for (auto& [atom, p] : peers_) {
    if (!p->up || p->out.empty()) continue;
    if (send_frame(*p, p->out.buffer().view(), now)) {
      (void)p->out.take();
    } else {
      all_sent = false;
    }
  }
  return all_sent;
}

bool Transport::send_now(std::uint32_t atom, std::string_view messages) {
  Peer* p = find_peer(atom);
  if (!p || !p->up || !p->out.empty()) return false;
  // A link that carried a frame moments ago is in a stream (a flood, a fan-out): the engine
  // batches it. Sent from here, a stream could go out one message per frame whenever the
  // engine had caught up (publish_3 rose from 0.83x to 0.92x of the build before issue 14 with
  // this check; it is still short, for reasons not found: docs/benchmarks.md). A request that
  // waits for its answer is not affected: its link has been quiet for a round trip at least.
  auto now = SteadyClock::now();
  if (now - p->last_send < kStreamGap) return false;
  wire::FrameWriter frame(p->out.version());
  frame.append_messages(messages);
  return send_frame(*p, frame.take(), now);
}

bool Transport::send_frame(Peer& p, std::string_view frame, TimePoint now) {
  if (!p.dealer->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) return false;
  ++counters_.frames_sent;
  ++p.frames_out;
  p.bytes_out += frame.size();
  p.sent_since_up += frame.size();
  p.last_send = now;
  return true;
}

wire::OutBuffer* Transport::out(std::uint32_t atom) {
  Peer* p = find_peer(atom);
  if (!p || !p->up) return nullptr;
  if (p->out.size() >= kFlushAtBytes) {
    if (lent_) {
      // A thread standing in for the engine never tears a link down: when the send would
      // block, the frame grows, and the engine's flush decides.
      if (send_frame(*p, p->out.buffer().view(), SteadyClock::now())) (void)p->out.take();
    } else if (!send_frame(*p, p->out.take(), SteadyClock::now())) {
      send_blocked(*p);
      return nullptr;
    }
  }
  p->out.packer();  // the frame starts with the version
  return &p->out.buffer();
}

bool Transport::backlogged(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  if (it == peers_.end() || !it->second->up || config_.max_link_backlog == 0) return false;
  return unread_bytes(*it->second) > config_.max_link_backlog / kBacklogShareOfStreams;
}

bool Transport::is_up(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->up;
}

std::uint32_t Transport::protocol(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->up ? it->second->version : 0;
}

std::uint32_t Transport::up_creation(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->up ? it->second->creation : 0;
}

std::vector<int> Transport::up_link_monitor_fds() const {
  std::vector<int> fds;
  for (const auto& [atom, p] : peers_) {
    if (p->up && p->dealer && p->dealer->monitor) fds.push_back(p->dealer->monitor_fd);
  }
  return fds;
}

std::vector<LinkInfo> Transport::links() const {
  std::vector<LinkInfo> out;
  auto now = SteadyClock::now();
  for (const auto& [atom, p] : peers_) {
    LinkInfo link{p->name, p->endpoint, {p->reached_at.begin(), p->reached_at.end()}, p->creation, p->up, p->blocked};
    if (p->last_recv != TimePoint{}) {
      link.last_heard = std::chrono::duration_cast<std::chrono::milliseconds>(now - p->last_recv);
    }
    link.downs = p->downs;
    link.downs_by_reason = p->downs_by_reason;
    link.frames_in = p->frames_in;
    link.frames_out = p->frames_out;
    link.bytes_in = p->bytes_in;
    link.bytes_out = p->bytes_out;
    if (p->up) link.unread_bytes = unread_bytes(*p);
    if (p->up) link.protocol = p->version;
    link.speaks_min = p->speaks_min;
    link.speaks_max = p->speaks_max;
    if (p->last_down) link.last_down = to_string(*p->last_down);
    out.push_back(std::move(link));
  }
  std::sort(out.begin(), out.end(), [](const LinkInfo& a, const LinkInfo& b) { return a.name < b.name; });
  return out;
}

bool Transport::reached_at(std::uint32_t atom, const std::string& endpoint) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->reached_at.count(endpoint) != 0;
}

std::vector<std::uint32_t> Transport::up_peers() const {
  std::vector<std::uint32_t> out;
  for (auto& [atom, p] : peers_) {
    if (p->up) out.push_back(atom);
  }
  return out;
}

}  // namespace syn::transport
