// The transport's links: dialling peers (our DEALERs), connecting and disconnecting, and the
// state of each link (up, the peer lists it gossips, teardown).
#include "transport/transport_state.hpp"

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
  d->version = config_.max_protocol;  // the newest first; an older node's refusal lowers it
  if (gate_) gate_->guard_dealer(d->socket, key_index);
  d->socket.set(zmq::sockopt::linger, 0);
  d->socket.set(zmq::sockopt::sndhwm, kDealerSendHighWater);
  d->socket.set(zmq::sockopt::reconnect_ivl, 100);
  d->socket.set(zmq::sockopt::reconnect_ivl_max, 1000);
  d->socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(kMaxFrameBytes));
  // A TCP connect into a cut waits for the kernel's SYN backoff (tens of seconds after a long
  // cut) unless bounded: give up and let ZeroMQ redial, so links return soon after a heal.
  d->notify_fd = d->socket.get(zmq::sockopt::fd);
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
  d->monitor_fd = d->monitor.get(zmq::sockopt::fd);
  // Arms that file descriptor: ZeroMQ signals it for news that comes after a read found
  // nothing. Nothing can have come yet: the DEALER dials below.
  zmq::message_t none;
  [[maybe_unused]] auto nothing = d->monitor.recv(none, zmq::recv_flags::dontwait);
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

// ---- link state ---------------------------------------------------------------------------

void Transport::check_up(Peer& p) {
  if (p.up || !p.inbound || !p.dealer || !p.dealer->welcomed) return;
  // Its down, if this pass found one, goes first, before the link is up again: the listener
  // hears of a peer in order, and nothing it sends while purging the old incarnation reaches
  // the new one.
  for (const auto& d : held_downs_) {
    if (d.atom != p.atom) continue;
    tell_held_downs();
    if (p.up || !p.inbound || !p.dealer || !p.dealer->welcomed) return;
    break;
  }
  p.up = true;
  // Each side wrote its hello in a version the other accepted: the lower of the two is one
  // both speak (and both ends compute the same).
  p.version = std::min(p.in_version, p.dealer->version);
  p.out.set_version(p.version);
  p.sent_since_up = 0;
  p.peer_read.reset();
  p.peer_read_unjudged = false;
  if (p.version >= wire::read_acks_since) p.peer_read = 0;  // it will say what it read of our frames
  p.reached_at.insert(p.dealer->endpoint);
  p.last_recv = p.last_send = SteadyClock::now();
  SYN_LOG_PEER(info, config_.node_name, p.name, "peer ", p.name, " up (", p.endpoint, ")");
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
  if (was_up) {
    ++p.downs;
    p.last_down = reason;
    ++p.downs_by_reason[code_of(reason)];
  }
  std::uint32_t creation = p.creation;
  if (p.inbound) {
    if (tell_peer) {
      wire::OutBuffer reset;
      wire::encode_reset(reset);
      router_reply(p.rid, reset, p.in_version);
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
    SYN_LOG_PEER(info, config_.node_name, p.name, "peer ", p.name, " down: ", to_string(reason));
    held_downs_.push_back(PeerDown{p.atom, creation, reason});
    if (!holding_downs_) {
      DownBatch alone(*this);  // outside a pass: told now
      alone.finish();
    }
  }
  bool redial = reason != DownReason::left && reason != DownReason::disconnected && !p.blocked;
  if (redial) ensure_dealer(p);
}

}  // namespace syn::transport
