#include "transport/transport.hpp"

#include "common/log.hpp"
#include "common/random.hpp"
#include "transport/gate.hpp"

#include <syn/errors.hpp>
#include <syn/version.hpp>

#include <algorithm>
#include <unistd.h>
#include <cstring>
#include <string_view>

namespace syn::transport {

using detail::SteadyClock;
using detail::TimePoint;

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

namespace {
constexpr int kDealerSendHighWater = 100000;    // frames queued to one peer before a reset
constexpr int kMaxFrameBytes = 256 << 20;       // larger inbound frames are refused by ZeroMQ
constexpr std::size_t kFlushAtBytes = 1 << 20;  // a frame this big goes out at once
constexpr auto kRefusedRedial = std::chrono::milliseconds(1000);

/// How long a connection may take to complete ZeroMQ's handshake (CURVE included).
/// tcp://[v6 address]:port: the socket needs ZMQ_IPV6.
bool is_ipv6_endpoint(const std::string& endpoint) { return endpoint.rfind("tcp://[", 0) == 0; }

std::chrono::milliseconds handshake_timeout(const TransportConfig& config) {
  return std::max(config.peer_timeout, std::chrono::milliseconds(1000));
}
}  // namespace

/// An outgoing connection (our DEALER) and its ZeroMQ monitor.
struct Transport::Dealer {
  zmq::socket_t socket;
  zmq::socket_t monitor;
  std::string endpoint;        // as dialled
  std::uint32_t expected = 0;  // the peer we meant to reach, 0 when unknown (a probe)
  std::uint64_t session = 0;   // of the last hello
  std::uint64_t epoch = 0;     // 0 for a probe
  bool hello_sent = false;
  bool welcomed = false;
  bool connected = false;     // between ZeroMQ's handshake and the connection's loss
  std::size_t key_index = 0;  // the cluster key it dials with (a key rotation tries each)
  TimePoint hello_at{};
};

/// What we know of one peer (by name).
struct Transport::Peer {
  std::uint32_t atom = 0;
  std::string name;
  std::uint32_t creation = 0;      // of the accepted inbound hello
  std::string endpoint;            // where it listens
  std::unique_ptr<Dealer> dealer;  // our attached outgoing connection
  bool inbound = false;            // its hello accepted on our ROUTER
  std::string rid;                 // routing id of its connection to our ROUTER
  std::uint64_t in_session = 0;
  std::uint64_t in_epoch = 0;
  std::uint64_t epoch = 0;  // our link epoch with it
  bool up = false;
  bool blocked = false;  // disconnect(): no redial until connect()
  TimePoint last_recv{};
  TimePoint last_send{};
  wire::FrameWriter out;
  std::optional<wire::Peers> early_peers;  // a peer list that came before the link was up here
};

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
  try {
    router_.bind(endpoint);
  } catch (const zmq::error_t& e) { throw Error(Errc::bad_argument, "cannot bind '" + endpoint + "': " + e.what()); }
  std::string bound = router_.get(zmq::sockopt::last_endpoint);
  self_endpoints_.insert(bound);
  endpoint_ = advertised_endpoint(bound, advertise);
  self_endpoints_.insert(endpoint_);
  return endpoint_;
}

std::string advertised_endpoint(const std::string& bound, const std::string& advertise) {
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
  // Bound to every interface: peers elsewhere cannot dial "0.0.0.0"; give them this host's name.
  for (const char* wildcard : {"tcp://0.0.0.0:", "tcp://[::]:", "tcp://*:"}) {
    if (bound.rfind(wildcard, 0) == 0) {
      char host[256] = {};
      if (::gethostname(host, sizeof host - 1) != 0 || host[0] == 0) return bound;
      return std::string("tcp://") + host + ":" + port;
    }
  }
  return bound;
}

// ---- dealers --------------------------------------------------------------------------

std::unique_ptr<Transport::Dealer> Transport::make_dealer(const std::string& endpoint, std::uint32_t expected_atom,
                                                          std::size_t key_index) {
  auto d = std::make_unique<Dealer>();
  d->socket = zmq::socket_t(context_, zmq::socket_type::dealer);
  d->endpoint = endpoint;
  d->expected = expected_atom;
  // Nothing is queued for a connection that is not complete, and nothing survives it: a
  // session's frames never leak into the next connection.
  d->socket.set(zmq::sockopt::immediate, 1);
  d->socket.set(zmq::sockopt::ipv6, is_ipv6_endpoint(endpoint) ? 1 : 0);
  d->key_index = key_index;
  if (gate_) gate_->guard_dealer(d->socket, key_index);
  d->socket.set(zmq::sockopt::linger, 0);
  d->socket.set(zmq::sockopt::sndhwm, kDealerSendHighWater);
  d->socket.set(zmq::sockopt::reconnect_ivl, 100);
  d->socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  d->socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxFrameBytes));
  // A TCP connect into a cut waits for the kernel's SYN backoff (tens of seconds after a long
  // cut) unless bounded: give up and let ZeroMQ redial, so links return soon after a heal.
  d->socket.set(zmq::sockopt::connect_timeout, static_cast<int>(handshake_timeout(config_).count()));
  d->socket.set(zmq::sockopt::handshake_ivl, static_cast<int>(handshake_timeout(config_).count()));
  std::string monitor_endpoint = "inproc://syn-monitor-" + config_.node_name + "-" + std::to_string(++monitor_counter_);
  if (zmq_socket_monitor(d->socket.handle(), monitor_endpoint.c_str(),
                         ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_DISCONNECTED | kHandshakeFailures) != 0) {
    throw Error(Errc::bad_argument, "cannot monitor a socket: " + std::string(zmq_strerror(zmq_errno())));
  }
  d->monitor = zmq::socket_t(context_, zmq::socket_type::pair);
  d->monitor.set(zmq::sockopt::linger, 0);
  d->monitor.connect(monitor_endpoint);
  try {
    d->socket.connect(endpoint);
  } catch (const zmq::error_t& e) {
    zmq_socket_monitor(d->socket.handle(), nullptr, 0);
    throw Error(Errc::bad_argument, "cannot connect to '" + endpoint + "': " + e.what());
  }
  return d;
}

void Transport::close_dealer(std::unique_ptr<Dealer> dealer, int linger_ms) {
  if (!dealer) return;
  zmq_socket_monitor(dealer->socket.handle(), nullptr, 0);
  dealer->socket.set(zmq::sockopt::linger, linger_ms);
  dealer->socket.close();
  dealer->monitor.close();
  // The poll pass may still hold a pointer to it: free after the pass.
  graveyard_.push_back(std::move(dealer));
}

Transport::Peer& Transport::peer(std::uint32_t atom) {
  auto& slot = peers_[atom];
  if (!slot) {
    slot = std::make_unique<Peer>();
    slot->atom = atom;
    slot->name = detail::node_name_of(atom);
  }
  return *slot;
}

Transport::Peer* Transport::find_peer(std::uint32_t atom) {
  auto it = peers_.find(atom);
  return it == peers_.end() ? nullptr : it->second.get();
}

void Transport::ensure_dealer(Peer& p) {
  if (p.dealer || p.blocked || left_ || p.endpoint.empty()) return;
  // A probe already dialling that endpoint reaches this peer: adopt it now rather than when
  // its welcome comes back, so that the peer's data and peer list, which may arrive first on
  // the other connection, prove the link instead of being taken for an unknown session.
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if ((*it)->endpoint != p.endpoint) continue;
    p.dealer = std::move(*it);
    pending_.erase(it);
    p.dealer->expected = p.atom;
    return;
  }
  // The endpoint is a peer's word (its hello, a peer list): one ZeroMQ cannot dial must not
  // throw out of the engine loop (tick() redials through here, outside any handler).
  try {
    p.dealer = make_dealer(p.endpoint, p.atom);
  } catch (const Error& e) {
    SYN_LOG(warn, config_.node_name, "cannot dial ", p.name, ": ", e.what());
    return;
  }
  p.dealer->epoch = ++p.epoch;
}

void Transport::redial_later(const std::string& endpoint, std::uint32_t expected_atom,
                             std::chrono::milliseconds delay) {
  redials_.push_back({SteadyClock::now() + delay, endpoint, expected_atom});
}

void Transport::connect(const std::string& endpoint) {
  if (left_) return;
  if (self_endpoints_.count(endpoint)) return;  // dialling ourselves
  // An explicit connect lifts a disconnect block on whoever listens there.
  for (auto& [atom, p] : peers_) {
    if (p->endpoint == endpoint) {
      p->blocked = false;
      if (p->up) return;
      if (p->dealer) return;
      ensure_dealer(*p);
      return;
    }
  }
  for (auto& d : pending_) {
    if (d->endpoint == endpoint) return;
  }
  pending_.push_back(make_dealer(endpoint, 0));
}

void Transport::disconnect(std::uint32_t atom) {
  Peer* p = find_peer(atom);
  if (!p) return;
  p->blocked = true;
  if (p->dealer && p->dealer->hello_sent) {
    // Say why before dropping, so the peer blocks too instead of redialling.
    wire::OutBuffer bye;
    wire::encode(bye, wire::Bye{wire::ByeReason::disconnect});
    p->out.append_messages(bye.view());
    auto frame = p->out.take();
    (void)p->dealer->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait);
    close_dealer(std::move(p->dealer), 1000);
  }
  teardown(*p, DownReason::disconnected, false);
}

void Transport::leave() {
  if (left_) return;
  left_ = true;
  wire::OutBuffer bye;
  wire::encode(bye, wire::Bye{wire::ByeReason::leaving});
  for (auto& [atom, p] : peers_) {
    if (p->dealer && p->dealer->welcomed) {
      p->out.append_messages(bye.view());
      auto frame = p->out.take();
      (void)p->dealer->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait);
      ++counters_.frames_sent;
      close_dealer(std::move(p->dealer), 1000);
    }
  }
}

// ---- the loop ---------------------------------------------------------------------------

void Transport::fill_poll_items(std::vector<zmq::pollitem_t>& items) {
  polled_.clear();
  items.push_back({router_.handle(), 0, ZMQ_POLLIN, 0});
  auto add = [&](Dealer& d) {
    polled_.push_back(&d);
    items.push_back({d.socket.handle(), 0, ZMQ_POLLIN, 0});
    items.push_back({d.monitor.handle(), 0, ZMQ_POLLIN, 0});
  };
  for (auto& [atom, p] : peers_) {
    if (p->dealer) add(*p->dealer);
  }
  for (auto& d : pending_) add(*d);
  if (gate_) gate_->fill_poll_items(items);
}

void Transport::handle_poll(const std::vector<zmq::pollitem_t>& items, std::size_t first) {
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
}

std::chrono::milliseconds Transport::tick_interval() const {
  auto interval = std::min(config_.heartbeat_interval, config_.peer_timeout / 4);
  return std::max(interval, std::chrono::milliseconds(5));
}

void Transport::tick(TimePoint now) {
  for (auto& [atom, p] : peers_) {
    if (p->up) {
      if (now - p->last_recv > config_.peer_timeout) {
        SYN_LOG(warn, config_.node_name, "peer ", p->name, " silent for more than ", config_.peer_timeout.count(),
                " ms: down");
        teardown(*p, DownReason::timeout);
        continue;
      }
      if (now - p->last_send >= config_.heartbeat_interval && p->out.empty()) {
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
}

void Transport::flush() {
  auto now = SteadyClock::now();
  for (auto& [atom, p] : peers_) {
    if (!p->up || p->out.empty()) continue;
    auto frame = p->out.take();
    auto sent = p->dealer->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait);
    if (!sent) {
      send_blocked(*p);
      continue;
    }
    ++counters_.frames_sent;
    p->last_send = now;
  }
  graveyard_.clear();
}

wire::OutBuffer* Transport::out(std::uint32_t atom) {
  Peer* p = find_peer(atom);
  if (!p || !p->up) return nullptr;
  if (p->out.size() >= kFlushAtBytes) {
    auto frame = p->out.take();
    if (!p->dealer->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
      send_blocked(*p);
      return nullptr;
    }
    ++counters_.frames_sent;
    p->last_send = SteadyClock::now();
  }
  p->out.packer();  // the frame starts with the version
  return &p->out.buffer();
}

// ---- reading ------------------------------------------------------------------------------

void Transport::on_router_readable() {
  // Bounded per pass (in frames and in time: a snapshot chunk takes milliseconds to apply)
  // so that heartbeats, timers and commands are not starved by a busy peer.
  auto pass_ends = SteadyClock::now() + std::chrono::milliseconds(20);
  for (int i = 0; i < 256 && SteadyClock::now() < pass_ends; ++i) {
    zmq::message_t rid;
    if (!router_.recv(rid, zmq::recv_flags::dontwait)) return;
    if (!rid.more()) {
      ++counters_.malformed;
      continue;
    }
    zmq::message_t payload;
    if (!router_.recv(payload, zmq::recv_flags::dontwait)) return;
    bool extra = false;
    while (payload.more()) {  // we never send multipart: extra parts are garbage
      zmq::message_t rest;
      if (!router_.recv(rest, zmq::recv_flags::dontwait)) break;
      extra = true;
      if (!rest.more()) break;
    }
    std::string rid_bytes(rid.data<char>(), rid.size());
    ++counters_.frames_received;
    if (extra) {
      ++counters_.malformed;
      SYN_LOG(warn, config_.node_name, "dropped a multipart frame from ", describe_rid(rid_bytes));
      continue;
    }
    handle_router_frame(rid_bytes, payload);
  }
}

std::string Transport::describe_rid(const std::string& rid) const {
  auto it = rid_to_peer_.find(rid);
  if (it != rid_to_peer_.end()) return "peer " + detail::node_name_of(it->second);
  static const char* hex = "0123456789abcdef";
  std::string out = "unknown connection 0x";
  for (unsigned char c : rid) {
    out.push_back(hex[c >> 4]);
    out.push_back(hex[c & 15]);
  }
  return out;
}

void Transport::handle_router_frame(const std::string& rid, const zmq::message_t& payload) {
  wire::FrameReader reader(payload.data<char>(), payload.size());
  auto it = rid_to_peer_.find(rid);
  Peer* from = it == rid_to_peer_.end() ? nullptr : find_peer(it->second);
  try {
    auto version = reader.read_version();
    if (version != protocol_version) {
      ++counters_.refused;
      SYN_LOG(error, config_.node_name, "refused ", describe_rid(rid), ": it speaks protocol version ", version,
              ", this node speaks ", protocol_version);
      refuse(rid, wire::RefuseCode::version, "protocol version " + std::to_string(protocol_version) + " required");
      return;
    }
    reader.check_rest();
    if (from) from->last_recv = SteadyClock::now();
    while (auto message = reader.next()) {
      auto type = static_cast<wire::MsgType>(wire::message_type(*message));
      if (type == wire::MsgType::hello) {
        handle_hello(rid, wire::decode_hello(*message));
        // The hello may have changed who this connection belongs to.
        auto again = rid_to_peer_.find(rid);
        from = again == rid_to_peer_.end() ? nullptr : find_peer(again->second);
        continue;
      }
      if (!from) {
        // Not (or no longer) a session of ours: an old connection or a stranger.
        SYN_LOG(debug, config_.node_name, "ignored a frame from ", describe_rid(rid));
        return;
      }
      switch (type) {
        case wire::MsgType::heartbeat: break;
        case wire::MsgType::bye: {
          auto bye = wire::decode_bye(*message);
          if (bye.reason == wire::ByeReason::disconnect) {
            from->blocked = true;
            teardown(*from, DownReason::disconnected, false);
          } else {
            teardown(*from, DownReason::left, false);
          }
          return;
        }
        case wire::MsgType::peers:
          // The peer sends its list as soon as its side of the link is up, which can be before
          // its welcome reached us: like data, the list proves that welcome is on its way.
          // Dropping it would leave the mesh incomplete (nobody sends it again).
          if (!from->up && from->dealer && from->dealer->hello_sent) {
            from->dealer->welcomed = true;
            check_up(*from);
          }
          if (from->up) {
            handle_peers(wire::decode_peers(*message));
          } else {
            // Our hello went out on a probe still waiting for its welcome (a seed): nothing
            // proves the link yet, so keep the list for check_up rather than lose it.
            from->early_peers = wire::decode_peers(*message);
          }
          break;
        default:
          if (!from->up) {
            // The peer is up, so it was welcomed by us and welcomed our hello: that welcome
            // is still on its way on the other connection. Its data proves it.
            if (from->dealer && from->dealer->hello_sent) {
              from->dealer->welcomed = true;
              check_up(*from);
            }
            if (!from->up) {
              SYN_LOG(warn, config_.node_name, "data from ", from->name, " before its link was up: resetting the link");
              teardown(*from, DownReason::reset);
              return;
            }
          }
          listener_.on_peer_message(from->atom, *message);
      }
    }
  } catch (const wire::DecodeError& e) {
    ++counters_.malformed;
    SYN_LOG(warn, config_.node_name, "dropped a malformed frame from ", describe_rid(rid), ": ", e.what());
  }
}

void Transport::router_reply(const std::string& rid, const wire::OutBuffer& messages) {
  wire::FrameWriter frame;
  frame.append_messages(messages.view());
  auto bytes = frame.take();
  try {
    if (router_.send(zmq::buffer(rid), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)router_.send(zmq::buffer(bytes), zmq::send_flags::dontwait);
      ++counters_.frames_sent;
    }
  } catch (const zmq::error_t&) {
    // The connection is gone (router_mandatory): nothing to tell.
  }
}

void Transport::refuse(const std::string& rid, wire::RefuseCode code, const std::string& text) {
  wire::OutBuffer out;
  wire::encode(out, wire::Refuse{code, text});
  router_reply(rid, out);
}

void Transport::handle_hello(const std::string& rid, const wire::Hello& hello) {
  if (left_) return;
  std::uint32_t atom = detail::intern_node_name(hello.name);
  if (hello.name.empty()) throw wire::DecodeError("hello without a node name");
  if (!hello.endpoint.empty()) {
    // Checked before anything changes: dialling it back would throw half-way through.
    try {
      check_endpoint(hello.endpoint);
    } catch (const Error& e) { throw wire::DecodeError(std::string("hello advertising a bad endpoint: ") + e.what()); }
  }
  if (atom == self_atom_) {
    if (hello.creation == config_.creation) {
      refuse(rid, wire::RefuseCode::self, "this is yourself");
    } else {
      ++counters_.refused;
      SYN_LOG(error, config_.node_name, "refused a second node named ", hello.name, " at ", hello.endpoint);
      refuse(rid, wire::RefuseCode::name_taken, "the node name " + hello.name + " is taken");
    }
    return;
  }
  Peer& p = peer(atom);
  auto now = SteadyClock::now();
  if (p.inbound && p.creation != hello.creation) {
    bool old_alive = p.up && now - p.last_recv < config_.peer_timeout;
    if (old_alive) {
      ++counters_.refused;
      SYN_LOG(error, config_.node_name, "refused a second node named ", hello.name, " at ", hello.endpoint,
              ": one is already connected from ", p.endpoint);
      refuse(rid, wire::RefuseCode::name_taken, "the node name " + hello.name + " is taken");
      return;
    }
    teardown(p, DownReason::restarted, false);
  } else if (p.inbound) {
    if (rid == p.rid || hello.session == p.in_session) {
      wire::OutBuffer out;
      wire::encode(out, wire::Welcome{config_.node_name, config_.creation, false});
      router_reply(rid, out);
      return;
    }
    if (hello.epoch == 0 && (p.up || p.in_epoch != 0)) {
      // A probe (connect to an endpoint) reaching a node we are already linked with.
      wire::OutBuffer out;
      wire::encode(out, wire::Welcome{config_.node_name, config_.creation, true});
      router_reply(rid, out);
      return;
    }
    // The same incarnation opened a new session: it tore its side down.
    if (p.up) teardown(p, DownReason::reset, false);
    if (p.inbound) {
      rid_to_peer_.erase(p.rid);
      p.inbound = false;
    }
  }
  p.blocked = false;  // someone connected again
  p.inbound = true;
  p.rid = rid;
  p.in_session = hello.session;
  p.in_epoch = hello.epoch;
  p.creation = hello.creation;
  if (!hello.endpoint.empty()) p.endpoint = hello.endpoint;
  // A dealer still dialling an old address (the node restarted on another port): redial.
  if (p.dealer && !p.dealer->welcomed && p.dealer->endpoint != p.endpoint) close_dealer(std::move(p.dealer));
  p.last_recv = now;
  rid_to_peer_[rid] = atom;
  wire::OutBuffer out;
  wire::encode(out, wire::Welcome{config_.node_name, config_.creation, false});
  router_reply(rid, out);
  ensure_dealer(p);
  check_up(p);
}

void Transport::on_dealer_readable(Dealer& d) {
  for (int i = 0; i < 16 && d.socket; ++i) {
    zmq::message_t payload;
    if (!d.socket.recv(payload, zmq::recv_flags::dontwait)) return;
    ++counters_.frames_received;
    try {
      wire::FrameReader reader(payload.data<char>(), payload.size());
      auto version = reader.read_version();
      if (version != protocol_version) {
        ++counters_.refused;
        SYN_LOG(error, config_.node_name, "the node at ", d.endpoint, " speaks protocol version ", version,
                ", this node speaks ", protocol_version);
        continue;
      }
      while (auto message = reader.next()) {
        switch (static_cast<wire::MsgType>(wire::message_type(*message))) {
          case wire::MsgType::welcome: handle_welcome(d, wire::decode_welcome(*message)); break;
          case wire::MsgType::refuse: handle_refuse(d, wire::decode_refuse(*message)); break;
          case wire::MsgType::reset: {
            // Our session with that peer ended on its side.
            for (auto& [atom, p] : peers_) {
              if (p->dealer.get() == &d) {
                SYN_LOG(info, config_.node_name, "peer ", p->name, " reset the link");
                teardown(*p, DownReason::reset, false);
                break;
              }
            }
            break;
          }
          default: throw wire::DecodeError("unexpected message on an outgoing connection");
        }
        if (!d.socket) return;  // closed by the handler
      }
    } catch (const wire::DecodeError& e) {
      ++counters_.malformed;
      SYN_LOG(warn, config_.node_name, "dropped a malformed frame from ", d.endpoint, ": ", e.what());
    }
  }
}

void Transport::handle_welcome(Dealer& d, const wire::Welcome& welcome) {
  std::uint32_t atom = detail::intern_node_name(welcome.name);
  if (d.expected == 0) {
    // A probe: find out who it reached.
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](auto& x) { return x.get() == &d; });
    if (it == pending_.end()) return;
    std::unique_ptr<Dealer> owned = std::move(*it);
    pending_.erase(it);
    Peer& p = peer(atom);
    if (welcome.duplicate || p.dealer) {
      close_dealer(std::move(owned));
      return;
    }
    owned->expected = atom;
    p.dealer = std::move(owned);
    if (p.endpoint.empty()) p.endpoint = d.endpoint;
  } else if (atom != d.expected) {
    SYN_LOG(warn, config_.node_name, "dialled ", detail::node_name_of(d.expected), " at ", d.endpoint, " but reached ",
            welcome.name);
    Peer& p = peer(d.expected);
    if (p.dealer.get() == &d) close_dealer(std::move(p.dealer));
    return;
  }
  Peer& p = peer(atom);
  if (p.dealer.get() != &d) return;
  if (welcome.duplicate) {
    // An adopted probe, but the peer holds a link with us through a connection we no longer
    // have: start over on both sides.
    teardown(p, DownReason::reset);
    return;
  }
  if (p.inbound && p.creation != welcome.creation) {
    // The two connections reached different incarnations: start over.
    teardown(p, DownReason::restarted);
    return;
  }
  d.welcomed = true;
  check_up(p);
}

void Transport::handle_refuse(Dealer& d, const wire::Refuse& refuse) {
  ++counters_.refused;
  std::uint32_t expected = d.expected;
  std::string endpoint = d.endpoint;
  switch (refuse.code) {
    case wire::RefuseCode::self: self_endpoints_.insert(endpoint); break;
    case wire::RefuseCode::version:
      SYN_LOG(error, config_.node_name, "refused by ", endpoint, ": ", refuse.text);
      break;
    default:
      SYN_LOG(error, config_.node_name, "refused by ", endpoint, ": ", refuse.text, " (retrying)");
      redial_later(endpoint, expected, kRefusedRedial);
  }
  if (expected) {
    Peer& p = peer(expected);
    if (p.dealer.get() == &d) close_dealer(std::move(p.dealer));
  } else {
    auto it = std::find_if(pending_.begin(), pending_.end(), [&](auto& x) { return x.get() == &d; });
    if (it != pending_.end()) {
      close_dealer(std::move(*it));
      pending_.erase(it);
    }
  }
}

void Transport::on_monitor_readable(Dealer& d) {
  for (int i = 0; i < 16 && d.monitor; ++i) {
    auto event = read_monitor_event(d.monitor);
    if (!event) return;
    if (event->id == ZMQ_EVENT_HANDSHAKE_SUCCEEDED) {
      d.connected = true;
      send_hello(d);
    } else if (is_handshake_failure(*event)) {
      dealer_handshake_failed(d, *event);
    } else if (event->id == ZMQ_EVENT_DISCONNECTED) {
      d.connected = false;
      if (!d.welcomed) {
        d.hello_sent = false;  // ZeroMQ redials; a new hello goes with the new connection
        continue;
      }
      for (auto& [atom, p] : peers_) {
        if (p->dealer.get() == &d) {
          SYN_LOG(info, config_.node_name, "connection to ", p->name, " lost");
          teardown(*p, DownReason::connection_lost);
          return;
        }
      }
    }
  }
}

void Transport::send_blocked(Peer& p) {
  // ZeroMQ says "would block" both when the queue is full and when the connection is gone
  // (an immediate socket queues nothing without one). The monitor tells them apart: its
  // disconnect event is written before the socket learns the connection ended.
  Dealer& d = *p.dealer;
  on_monitor_readable(d);
  if (!p.up) return;  // the monitor said the connection was lost, and the link is down
  if (!d.connected) {
    SYN_LOG(info, config_.node_name, "connection to ", p.name, " lost while sending");
    teardown(p, DownReason::connection_lost);
    return;
  }
  // The peer cannot keep up: never skip silently. Reset; both sides resync on return.
  ++counters_.link_resets;
  SYN_LOG(warn, config_.node_name, "send queue to ", p.name, " is full: resetting the link");
  teardown(p, DownReason::overflow);
}

void Transport::redial_with_next_key(Dealer& d) {
  auto replace = [&](std::unique_ptr<Dealer>& slot) {
    std::unique_ptr<Dealer> old = std::move(slot);
    try {
      slot = make_dealer(old->endpoint, old->expected, (old->key_index + 1) % gate_->key_count());
      slot->epoch = old->epoch;
    } catch (const Error& e) { SYN_LOG(warn, config_.node_name, "cannot redial ", old->endpoint, ": ", e.what()); }
    close_dealer(std::move(old));
  };
  for (auto& [atom, p] : peers_) {
    if (p->dealer.get() == &d) return replace(p->dealer);
  }
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->get() != &d) continue;
    replace(*it);
    if (!*it) pending_.erase(it);
    return;
  }
}

void Transport::retire_and_redial(Dealer& d) {
  redial_later(d.endpoint, d.expected, kRefusedRedial);
  for (auto& [atom, p] : peers_) {
    if (p->dealer.get() == &d) return close_dealer(std::move(p->dealer));
  }
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->get() != &d) continue;
    close_dealer(std::move(*it));
    pending_.erase(it);
    return;
  }
}

void Transport::dealer_handshake_failed(Dealer& d, const MonitorEvent& event) {
  // Said once a minute per endpoint and kind: ZeroMQ redials a refusing node every second.
  auto now = SteadyClock::now();
  const std::string who = "cannot link with the node at " + d.endpoint + ": ";
  if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    refusals_.refused(d.endpoint + "/auth", who + "it refused this node's cluster key", now);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
             event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    refusals_.refused(kHandshakeRefusal,
                      who + (gate_ ? "it has no cluster key (plaintext), this node has one"
                                   : "it requires a cluster key (CURVE), this node has none"),
                      now);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && event.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
    refusals_.refused(d.endpoint + "/crypto", who + "it holds another cluster key", now);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    // Which side notices a mismatch first is a race: the other only sees the connection end.
    refusals_.refused(kHandshakeRefusal,
                      who + "it closed the connection during the handshake (" +
                          (gate_ ? "it has no cluster key, or another one)" : "it may require a cluster key)"),
                      now);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL) {
    refusals_.refused(
        d.endpoint + "/protocol",
        who + "its handshake is not this protocol's (ZeroMQ protocol error " + protocol_error_code(event.value) + ")",
        now);
  }
  // ZeroMQ gives up on a connection whose mechanism does not match (it never redials): dial
  // again later, in case the peer restarts with (or without) the key.
  if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    retire_and_redial(d);
    return;
  }
  // During a key rotation the peer may hold another of our accepted keys: try it next.
  bool refused_key =
      event.id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH || event.id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL ||
      (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && event.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
  if (gate_ && gate_->key_count() > 1 && refused_key && !d.welcomed) redial_with_next_key(d);
}

void Transport::send_hello(Dealer& d) {
  if (left_) return;
  d.session = detail::random_u64();
  wire::OutBuffer hello;
  wire::encode(hello, wire::Hello{config_.node_name, config_.creation, d.session, d.epoch, endpoint_});
  wire::FrameWriter frame;
  frame.append_messages(hello.view());
  auto bytes = frame.take();
  if (d.socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
    ++counters_.frames_sent;
    d.hello_sent = true;
    d.hello_at = SteadyClock::now();
  }
}

// ---- link state ---------------------------------------------------------------------------

void Transport::check_up(Peer& p) {
  if (p.up || !p.inbound || !p.dealer || !p.dealer->welcomed) return;
  p.up = true;
  p.last_recv = p.last_send = SteadyClock::now();
  SYN_LOG(info, config_.node_name, "peer ", p.name, " up (", p.endpoint, ")");
  send_peer_list(p);
  listener_.on_peer_up(p.atom, p.creation);
  if (p.early_peers) {
    auto early = std::move(*p.early_peers);
    p.early_peers.reset();
    handle_peers(early);
  }
}

void Transport::send_peer_list(Peer& p) {
  wire::Peers list;
  for (auto& [atom, other] : peers_) {
    if (other->up && other.get() != &p) list.peers.emplace_back(other->name, other->endpoint);
  }
  if (list.peers.empty()) return;
  if (auto* buffer = out(p.atom)) wire::encode(*buffer, list);
}

void Transport::handle_peers(const wire::Peers& peers) {
  if (!config_.auto_connect || left_) return;
  for (const auto& [name, endpoint] : peers.peers) {
    if (name.empty() || endpoint.empty()) continue;
    try {
      check_endpoint(endpoint);
    } catch (const Error&) {
      continue;  // not dialable: never ours to try
    }
    std::uint32_t atom = detail::intern_node_name(name);
    if (atom == self_atom_) continue;
    Peer& p = peer(atom);
    if (p.up || p.blocked) continue;
    if (p.dealer && (p.dealer->welcomed || p.dealer->endpoint == endpoint)) continue;
    if (p.dealer) close_dealer(std::move(p.dealer));  // it dials an address that is gone
    p.endpoint = endpoint;
    ensure_dealer(p);
  }
}

void Transport::teardown(Peer& p, DownReason reason, bool tell_peer) {
  bool was_up = p.up;
  std::uint32_t creation = p.creation;
  if (p.inbound) {
    if (tell_peer) {
      wire::OutBuffer reset;
      wire::encode_reset(reset);
      router_reply(p.rid, reset);
    }
    rid_to_peer_.erase(p.rid);
    p.inbound = false;
    p.rid.clear();
  }
  if (p.dealer) close_dealer(std::move(p.dealer));
  p.up = false;
  p.out.take();
  p.early_peers.reset();
  if (was_up) {
    // A link that keeps dropping shows in the stats, not only in log lines.
    if (reason == DownReason::connection_lost || reason == DownReason::timeout) ++counters_.connections_lost;
    SYN_LOG(info, config_.node_name, "peer ", p.name, " down: ", to_string(reason));
    listener_.on_peer_down(p.atom, creation, reason);
  }
  bool redial = reason != DownReason::left && reason != DownReason::disconnected && !p.blocked;
  if (redial) ensure_dealer(p);
}

bool Transport::is_up(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->up;
}

std::uint32_t Transport::up_creation(std::uint32_t atom) const {
  auto it = peers_.find(atom);
  return it != peers_.end() && it->second->up ? it->second->creation : 0;
}

std::vector<std::uint32_t> Transport::up_peers() const {
  std::vector<std::uint32_t> out;
  for (auto& [atom, p] : peers_) {
    if (p->up) out.push_back(atom);
  }
  return out;
}

}  // namespace syn::transport
