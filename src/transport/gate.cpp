#include "transport/gate.hpp"

#include "common/log.hpp"
#include "transport/zap.hpp"

#include <syn/errors.hpp>

#include <algorithm>
#include <array>
#include <cassert>
#include <atomic>

namespace syn::transport {

namespace {

constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";  // fixed by ZeroMQ (RFC 27)
constexpr const char* kZapDomain = "syn";

std::string monitor_endpoint(const std::string& node_name) {
  static std::atomic<std::uint64_t> counter{0};
  return "inproc://syn-gate-" + node_name + "-" + std::to_string(++counter);
}

}  // namespace

Gate::Gate(zmq::context_t& context, std::string node_name, std::vector<CurveKeys> keys,
           std::chrono::milliseconds handshake_timeout, std::uint64_t& refused_counter, RefusalLog& log)
    : context_(context),
      node_name_(std::move(node_name)),
      keys_(std::move(keys)),
      handshake_timeout_(handshake_timeout),
      refused_(refused_counter),
      zap_(context_, zmq::socket_type::rep),
      log_(log) {
  assert(!keys_.empty() && "a gate needs the cluster's key");
  for (const auto& key : keys_) {
    std::array<std::uint8_t, 32> raw{};
    if (zmq_z85_decode(raw.data(), key.public_key.c_str()) == nullptr) {
      throw Error(Errc::bad_argument, "a cluster public key does not decode");
    }
    accepted_public_raw_.emplace_back(reinterpret_cast<const char*>(raw.data()), raw.size());
  }
  zap_.set(zmq::sockopt::linger, 0);
  try {
    zap_.bind(kZapEndpoint);
  } catch (const zmq::error_t& e) {
    throw Error(Errc::bad_argument, std::string("cannot start the ZAP handler: ") + e.what());
  }
}

Gate::~Gate() = default;

void Gate::guard_router(zmq::socket_t& router) {
  router.set(zmq::sockopt::curve_server, 1);
  router.set(zmq::sockopt::curve_secretkey, keys_.front().secret);
  router.set(zmq::sockopt::zap_domain, kZapDomain);
  // A connection that opens and never completes its handshake is dropped after this, and
  // counted: a half-open intruder holds nothing for long.
  router.set(zmq::sockopt::handshake_ivl, static_cast<int>(handshake_timeout_.count()));
  std::string endpoint = monitor_endpoint(node_name_);
  if (zmq_socket_monitor(router.handle(), endpoint.c_str(), kHandshakeFailures) != 0) {
    throw Error(Errc::bad_argument, "cannot monitor the listening socket: " + std::string(zmq_strerror(zmq_errno())));
  }
  router_monitor_ = zmq::socket_t(context_, zmq::socket_type::pair);
  router_monitor_.set(zmq::sockopt::linger, 0);
  router_monitor_.connect(endpoint);
}

void Gate::guard_dealer(zmq::socket_t& dealer, std::size_t index) const {
  const CurveKeys& key = keys_.at(index % keys_.size());
  dealer.set(zmq::sockopt::curve_serverkey, key.public_key);
  dealer.set(zmq::sockopt::curve_publickey, key.public_key);
  dealer.set(zmq::sockopt::curve_secretkey, key.secret);
}

void Gate::fill_poll_items(std::vector<zmq::pollitem_t>& items) {
  assert(router_monitor_ && "guard_router runs before the first poll");
  items.push_back({zap_.handle(), 0, ZMQ_POLLIN, 0});
  items.push_back({router_monitor_.handle(), 0, ZMQ_POLLIN, 0});
}

void Gate::handle_poll(const std::vector<zmq::pollitem_t>& items, std::size_t first) {
  if (items[first].revents & ZMQ_POLLIN) answer_zap_requests();
  if (items[first + 1].revents & ZMQ_POLLIN) {
    for (int i = 0; i < 64; ++i) {
      auto event = read_monitor_event(router_monitor_);
      if (!event) break;
      on_router_event(*event);
    }
  }
}

void Gate::answer_zap_requests() {
  constexpr std::size_t kMaxFrames = 16;  // a request has 7; the rest of a longer one is read and dropped
  for (int i = 0; i < 64; ++i) {
    std::vector<std::string> frames;
    bool more = true;
    while (more) {
      zmq::message_t frame;
      if (!zap_.recv(frame, zmq::recv_flags::dontwait)) break;  // parts of one message come together
      more = frame.more();
      if (frames.size() < kMaxFrames) frames.push_back(frame.to_string());
    }
    if (frames.empty()) return;
    ZapVerdict verdict = decide_zap(frames, accepted_public_raw_);
    // The monitor reports the refusal too (HANDSHAKE_FAILED_AUTH) and counts it there; this
    // is where the peer's address is known, so this is where it is logged.
    if (!verdict.admitted) {
      const std::string& address = verdict.address;
      log_.refused("zap/" + address,
                   "refused the peer at " + (address.empty() ? std::string("an unknown address") : address) +
                       ": it does not hold the cluster key (its CURVE client key is not the cluster's)",
                   detail::SteadyClock::now(), LogLevel::warn, address);
    }
    (void)zap_.send(zmq::buffer(std::string("1.0")), zmq::send_flags::sndmore);
    (void)zap_.send(zmq::buffer(verdict.request_id), zmq::send_flags::sndmore);
    (void)zap_.send(zmq::buffer(std::string(verdict.admitted ? "200" : "400")), zmq::send_flags::sndmore);
    (void)zap_.send(zmq::buffer(std::string(verdict.admitted ? "OK" : "not the cluster key")),
                    zmq::send_flags::sndmore);
    (void)zap_.send(zmq::buffer(std::string()), zmq::send_flags::sndmore);  // user id
    (void)zap_.send(zmq::buffer(std::string()), zmq::send_flags::none);     // metadata
  }
}

void Gate::on_router_event(const MonitorEvent& event) {
  if (!is_handshake_failure(event)) return;
  ++refused_;
  auto now = detail::SteadyClock::now();
  const std::string where = "a connection to " + event.address;
  switch (event.id) {
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH: return;  // logged by the ZAP handler, with the address
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
      // Keyed like a mechanism mismatch: which side of a mismatch notices it first is a race,
      // the other side sees only this. One line, not two, says why two nodes never link.
      log_.refused(kHandshakeRefusal,
                   where + " ended before its handshake completed (closed, or silent past " +
                       std::to_string(handshake_timeout_.count()) +
                       " ms): a peer without the cluster key, or one that stopped",
                   now);
      return;
    default: break;
  }
  switch (event.value) {
    case ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH:
      log_.refused(kHandshakeRefusal, "refused " + where + ": the peer has no cluster key (plaintext)", now);
      return;
    case ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC:
      log_.refused(event.address + "/crypto", "refused " + where + ": the peer holds another cluster key", now);
      return;
    default:
      log_.refused(event.address + "/protocol",
                   "refused " + where + ": its handshake is not this protocol's (ZeroMQ protocol error " +
                       protocol_error_code(event.value) + ")",
                   now);
  }
}

}  // namespace syn::transport
