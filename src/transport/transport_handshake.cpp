// The transport's reading side and handshake: frames on our ROUTER and DEALERs, hello /
// welcome / refuse, ZeroMQ monitor events, CURVE key rotation on redial.
#include "transport/transport_state.hpp"

#include "common/log.hpp"
#include "common/random.hpp"
#include "common/wake_batch.hpp"
#include "transport/gate.hpp"

#include <syn/errors.hpp>
#include <syn/version.hpp>

#include <algorithm>
#include <unistd.h>
#include <cstring>
#include <string_view>

namespace syn::transport {

namespace {

/// Messages that end in mailboxes, and take little to apply: their receivers' wakes wait for
/// the end of the frame (WakeBatch).
bool is_for_mailboxes(wire::MsgType type) {
  return type == wire::MsgType::send || type == wire::MsgType::publish || type == wire::MsgType::mcall;
}

/// The address a frame's connection comes from, as ZeroMQ saw it in the handshake (empty for
/// a client that skipped it: ZMTP 1.0 carries no metadata).
std::string peer_address(const zmq::message_t& frame) {
  const char* address = zmq_msg_gets(frame.handle(), "Peer-Address");
  return address ? std::string(address) : std::string();
}

}  // namespace

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
      log_bad_frame("multipart", rid_bytes, payload, "dropped a multipart frame from ");
      continue;
    }
    handle_router_frame(rid_bytes, payload);
  }
}

Transport::Sender Transport::sender_of(const std::string& rid, const zmq::message_t& frame) const {
  auto it = rid_to_peer_.find(rid);
  if (it != rid_to_peer_.end()) {
    auto name = detail::node_name_of(it->second);
    return {name, "peer " + name};
  }
  // The address the connection comes from (its routing id is the sender's choice: it says
  // nothing of who sent it).
  auto address = peer_address(frame);
  if (!address.empty()) return {address, "a connection from " + address};
  return {{}, "an unknown connection"};
}

std::string Transport::describe_sender(const std::string& rid, const zmq::message_t& frame) const {
  return sender_of(rid, frame).phrase;
}

void Transport::log_bad_frame(const char* kind, const std::string& rid, const zmq::message_t& frame,
                              const std::string& what, const std::string& why, LogLevel level) {
  // Once a minute per kind and sender: a client that reconnects in a loop to send garbage
  // opens a new connection each time, and must not get a line each time (SPEC 9).
  auto who = sender_of(rid, frame);
  refusals_.refused(std::string(kind) + "/" + who.phrase, what + who.phrase + why, SteadyClock::now(), level, who.peer);
}

void Transport::handle_router_frame(const std::string& rid, const zmq::message_t& payload) {
  // The receivers of the frame's messages are woken once it is applied, not at each message.
  detail::WakeBatch wakes;
  wire::FrameReader reader(payload.data<char>(), payload.size());
  auto it = rid_to_peer_.find(rid);
  Peer* from = it == rid_to_peer_.end() ? nullptr : find_peer(it->second);
  try {
    auto version = reader.read_version();
    if (!speaks(version)) {
      // A peer of another version opens with a hello, whatever its version; anything else is
      // garbage (any ASCII byte reads as a small version), dropped and counted as malformed.
      reader.check_rest();
      auto first = reader.next();
      if (!first || static_cast<wire::MsgType>(wire::message_type(*first)) != wire::MsgType::hello) {
        throw wire::DecodeError("a frame of protocol version " + std::to_string(version) + " that is not a hello");
      }
      // Answered in the newest version we speak: a newer dialler that also speaks it says
      // hello again in it (handle_refuse); an older one logs what it cannot speak.
      ++counters_.refused;
      const std::string ours = std::to_string(oldest_protocol_version) + " to " + std::to_string(config_.max_protocol);
      log_bad_frame("version", rid, payload, "refused ",
                    ": it speaks protocol version " + std::to_string(version) + ", this node speaks versions " + ours,
                    LogLevel::error);
      refuse(rid, wire::RefuseCode::version, "protocol versions " + ours + " spoken here", config_.max_protocol);
      return;
    }
    reader.check_rest();
    if (from) {
      from->last_recv = SteadyClock::now();
      ++from->frames_in;
      from->bytes_in += payload.size();
      from->read_from_rid += payload.size();
    }
    while (auto message = reader.next()) {
      auto type = static_cast<wire::MsgType>(wire::message_type(*message));
      // Only messages for mailboxes share a wake: before anything else (a snapshot chunk, a
      // bye and its teardown, a kill), the receivers of what came before are woken.
      if (!is_for_mailboxes(type)) wakes.flush();
      if (type == wire::MsgType::hello) {
        auto hello = wire::decode_hello(*message, version);
        if (hello.min_version > version || hello.max_version < version) {
          throw wire::DecodeError("hello offering versions " + std::to_string(hello.min_version) + " to " +
                                  std::to_string(hello.max_version) + " in a frame of version " +
                                  std::to_string(version));
        }
        handle_hello(rid, hello, static_cast<std::uint32_t>(version));
        // The hello may have changed who this connection belongs to.
        auto again = rid_to_peer_.find(rid);
        from = again == rid_to_peer_.end() ? nullptr : find_peer(again->second);
        continue;
      }
      if (!from) {
        // Not (or no longer) a session of ours: an old connection or a stranger.
        SYN_LOG(debug, config_.node_name, "ignored a frame from ", describe_sender(rid, payload));
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
          listener_.on_peer_message(from->atom, *message, reader.last_bytes().size());
      }
    }
    // Hearing starts again now: the time this frame took us to apply (a big one takes a Debug
    // build hundreds of milliseconds) was ours, not the peer's silence.
    if (from && from->up) from->last_recv = SteadyClock::now();
  } catch (const wire::StreamBroken& e) {
    ++counters_.malformed;
    // Found afresh: what the frame applied may have changed who this connection belongs to.
    auto again = rid_to_peer_.find(rid);
    Peer* peer = again == rid_to_peer_.end() ? nullptr : find_peer(again->second);
    log_bad_frame(
        "stream", rid, payload, "dropped a frame from ",
        std::string(" that breaks its stream (") + e.what() + ")" + (peer && peer->up ? ": resetting the link" : ""));
    if (peer && peer->up) teardown(*peer, DownReason::reset);
  } catch (const wire::DecodeError& e) {
    ++counters_.malformed;
    log_bad_frame("malformed", rid, payload, "dropped a malformed frame from ", std::string(": ") + e.what());
  }
}

void Transport::router_reply(const std::string& rid, const wire::OutBuffer& messages, std::uint32_t version) {
  wire::FrameWriter frame(version);
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

void Transport::refuse(const std::string& rid, wire::RefuseCode code, const std::string& text, std::uint32_t version) {
  wire::OutBuffer out;
  wire::encode(out, wire::Refuse{code, text});
  router_reply(rid, out, version);
}

void Transport::handle_hello(const std::string& rid, const wire::Hello& hello, std::uint32_t version) {
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
      refuse(rid, wire::RefuseCode::self, "this is yourself", version);
    } else {
      ++counters_.refused;
      SYN_LOG(error, config_.node_name, "refused a second node named ", hello.name, " at ", hello.endpoint);
      refuse(rid, wire::RefuseCode::name_taken, "the node name " + hello.name + " is taken", version);
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
      refuse(rid, wire::RefuseCode::name_taken, "the node name " + hello.name + " is taken", version);
      return;
    }
    teardown(p, DownReason::restarted, false);
  } else if (p.inbound) {
    if (rid == p.rid || hello.session == p.in_session) {
      wire::OutBuffer out;
      wire::encode(out, wire::Welcome{config_.node_name, config_.creation, false});
      router_reply(rid, out, version);
      return;
    }
    if (hello.epoch == 0 && (p.up || p.in_epoch != 0)) {
      // A probe (connect to an endpoint) reaching a node we are already linked with.
      wire::OutBuffer out;
      wire::encode(out, wire::Welcome{config_.node_name, config_.creation, true});
      router_reply(rid, out, version);
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
  p.read_from_rid = 0;  // a new connection: the peer counts what it sends there from its link's start
  p.in_session = hello.session;
  p.in_epoch = hello.epoch;
  p.creation = hello.creation;
  p.in_version = version;
  p.speaks_min = hello.min_version;
  p.speaks_max = hello.max_version;
  if (!hello.endpoint.empty()) p.endpoint = hello.endpoint;
  // A dealer still dialling an old address (the node restarted on another port): redial.
  if (p.dealer && !p.dealer->welcomed && p.dealer->endpoint != p.endpoint) close_dealer(std::move(p.dealer));
  p.last_recv = now;
  rid_to_peer_[rid] = atom;
  wire::OutBuffer out;
  wire::encode(out, wire::Welcome{config_.node_name, config_.creation, false});
  router_reply(rid, out, version);
  ensure_dealer(p);
  check_up(p);
}

void Transport::on_dealer_readable(Dealer& d) {
  // The peer's heartbeats say how much it has read. Judged on the oldest of several queued
  // while this thread was busy, everything sent since would look unread: the link is judged
  // once the queue is empty, on the newest. Between heartbeats it is not judged at all: what
  // was sent since the last one is not late yet.
  if (!read_dealer_frames(d) || !d.socket) return;
  Peer* p = d.expected ? find_peer(d.expected) : nullptr;
  if (!p || !p->up || p->dealer.get() != &d || !p->peer_read_unjudged) return;
  p->peer_read_unjudged = false;
  check_backlog(*p);
}

bool Transport::read_dealer_frames(Dealer& d) {
  for (int i = 0; i < 16 && d.socket; ++i) {
    zmq::message_t payload;
    if (!d.socket.recv(payload, zmq::recv_flags::dontwait)) return true;
    ++counters_.frames_received;
    try {
      wire::FrameReader reader(payload.data<char>(), payload.size());
      auto version = reader.read_version();
      if (!speaks(version)) {
        ++counters_.refused;
        SYN_LOG(error, config_.node_name, "the node at ", d.endpoint, " speaks protocol version ", version,
                ", this node speaks versions ", oldest_protocol_version, " to ", config_.max_protocol);
        continue;
      }
      while (auto message = reader.next()) {
        switch (static_cast<wire::MsgType>(wire::message_type(*message))) {
          case wire::MsgType::welcome: handle_welcome(d, wire::decode_welcome(*message)); break;
          case wire::MsgType::refuse:
            handle_refuse(d, wire::decode_refuse(*message), static_cast<std::uint32_t>(version));
            break;
          case wire::MsgType::heartbeat: {
            // A peer of protocol 4 or later sends its heartbeats here (Transport::send_heartbeat_back).
            Peer* p = d.expected ? find_peer(d.expected) : nullptr;
            auto bytes_read = wire::decode_heartbeat_bytes_read(*message);
            if (p && p->up && p->dealer.get() == &d) {
              p->last_recv = SteadyClock::now();
              if (bytes_read && p->peer_read) {
                p->peer_read = *bytes_read;
                p->peer_read_unjudged = true;
              }
            }
            break;
          }
          case wire::MsgType::reset: {
            // Our session with that peer ended on its side.
            for (auto& [atom, p] : peers_) {
              if (p->dealer.get() == &d) {
                SYN_LOG_PEER(info, config_.node_name, p->name, "peer ", p->name, " reset the link");
                teardown(*p, DownReason::reset, false);
                break;
              }
            }
            break;
          }
          default: throw wire::DecodeError("unexpected message on an outgoing connection");
        }
        if (!d.socket) return false;  // closed by the handler
      }
    } catch (const wire::DecodeError& e) {
      ++counters_.malformed;
      SYN_LOG(warn, config_.node_name, "dropped a malformed frame from ", d.endpoint, ": ", e.what());
    }
  }
  return false;  // more may wait: the next poll reads them
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
    p.reached_at.insert(d.endpoint);  // even if it goes: we reached it there (a seed, say)
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

void Transport::handle_refuse(Dealer& d, const wire::Refuse& refuse, std::uint32_t version) {
  if (refuse.code == wire::RefuseCode::version && version < d.version) {
    // An older node: it wrote its refusal in a version it speaks (and so do we, or the frame
    // would not have been read). Say hello again in that version, on this connection.
    SYN_LOG(info, config_.node_name, "the node at ", d.endpoint, " speaks protocol version ", version,
            " at most: linking with it in that version");
    d.version = version;
    send_hello(d);
    return;
  }
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
  // Read until empty: the monitor is polled by file descriptor, which tells of news once.
  // A connection yields a handful of events; the bound only guards against a runaway.
  for (int i = 0; i < 1024 && d.monitor; ++i) {
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

void Transport::check_backlog(Peer& p) {
  const std::uint64_t unread = unread_bytes(p);
  if (config_.max_link_backlog == 0 || unread <= config_.max_link_backlog) return;
  // It reads, but slower than we write, for longer than max_link_backlog lasts: queues would
  // grow for as long as the load does. A resync sends it the state, not the history.
  ++counters_.link_resets;
  SYN_LOG(warn, config_.node_name, "peer ", p.name, " has not read ", unread, " bytes sent to it (max_link_backlog ",
          config_.max_link_backlog, "): resetting the link");
  teardown(p, DownReason::overflow);
}

std::uint64_t Transport::unread_bytes(const Peer& p) {
  if (!p.peer_read || *p.peer_read >= p.sent_since_up) return 0;
  return p.sent_since_up - *p.peer_read;
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
  // Counted on this side too: which side of a key mismatch sees it, and which only sees the
  // connection end, is a race inside ZeroMQ, and a node that only ever dials (a seed list,
  // no one dialling back) would otherwise show no refusal at all while it never links.
  ++counters_.refused;
  // Said once a minute per endpoint and kind: ZeroMQ redials a refusing node every second.
  auto now = SteadyClock::now();
  const std::string who = "cannot link with the node at " + d.endpoint + ": ";
  if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_AUTH) {
    refusals_.refused(d.endpoint + "/auth", who + "it refused this node's cluster key", now, LogLevel::warn,
                      d.endpoint);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL &&
             event.value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH) {
    refusals_.refused(kHandshakeRefusal,
                      who + (gate_ ? "it has no cluster key (plaintext), this node has one"
                                   : "it requires a cluster key (CURVE), this node has none"),
                      now);
  } else if (event.id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL && event.value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC) {
    refusals_.refused(d.endpoint + "/crypto", who + "it holds another cluster key", now, LogLevel::warn, d.endpoint);
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
  wire::encode(hello,
               wire::Hello{config_.node_name, config_.creation, d.session, d.epoch, endpoint_, oldest_protocol_version,
                           config_.max_protocol},
               d.version);
  wire::FrameWriter frame(d.version);
  frame.append_messages(hello.view());
  auto bytes = frame.take();
  if (d.socket.send(zmq::buffer(bytes), zmq::send_flags::dontwait)) {
    ++counters_.frames_sent;
    d.hello_sent = true;
    d.hello_at = SteadyClock::now();
  }
}

}  // namespace syn::transport
