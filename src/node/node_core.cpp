#include "node/node_core.hpp"

#include "common/clock.hpp"
#include "common/log.hpp"
#include "common/random.hpp"
#include "node/multi_calls.hpp"
#include "transport/cluster_key.hpp"
#include "wire/messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/errors.hpp>

#include <algorithm>
#include <cassert>
#include <limits>
#include <stdexcept>

namespace syn::detail {

namespace {

// Four snapshot turns (256 kB each) below it: a stream waits at a quarter of the bound.
constexpr std::size_t kMinLinkBacklog = std::size_t{1} << 20;
constexpr std::size_t kLargestTermsInBacklog = 4;  // of max_term_bytes, that max_link_backlog holds at least

std::uint32_t new_creation() {
  // Random: a restarted node must not reuse the creation of its previous run.
  return static_cast<std::uint32_t>(random_u64() % 0xfffffffeULL) + 1;
}

NodeOptions validated(NodeOptions o) {
  if (o.name.empty()) throw Error(Errc::bad_argument, "NodeOptions.name must not be empty");
  if (o.name.find_first_of("<>") != std::string::npos) {
    throw Error(Errc::bad_argument, "NodeOptions.name must not contain '<' or '>'");
  }
  if (o.heartbeat_interval.count() <= 0)
    throw Error(Errc::bad_argument, "NodeOptions.heartbeat_interval must be positive");
  if (o.peer_timeout <= o.heartbeat_interval) {
    throw Error(Errc::bad_argument, "NodeOptions.peer_timeout must be longer than heartbeat_interval");
  }
  if (o.call_timeout.count() <= 0) throw Error(Errc::bad_argument, "NodeOptions.call_timeout must be positive");
  if (o.max_term_bytes == 0) throw Error(Errc::bad_argument, "NodeOptions.max_term_bytes must be positive");
  if (o.multicast_max_in_flight == 0) {
    throw Error(Errc::bad_argument, "NodeOptions.multicast_max_in_flight must be positive");
  }
  if (o.multicast_max_lag.count() <= 0) {
    throw Error(Errc::bad_argument, "NodeOptions.multicast_max_lag must be positive");
  }
  if (o.max_link_backlog != 0 && o.max_link_backlog < kMinLinkBacklog) {
    throw Error(Errc::bad_argument, "NodeOptions.max_link_backlog must be 0 (no bound) or at least 1 MiB (" +
                                        std::to_string(kMinLinkBacklog) + " bytes)");
  }
  if (o.view_change_timeout.count() <= 0) {
    throw Error(Errc::bad_argument, "NodeOptions.view_change_timeout must be positive");
  }
  if (o.max_protocol_version != 0 &&
      (o.max_protocol_version < oldest_protocol_version || o.max_protocol_version > protocol_version)) {
    throw Error(Errc::bad_argument, "NodeOptions.max_protocol_version must be 0 or between " +
                                        std::to_string(oldest_protocol_version) + " and " +
                                        std::to_string(protocol_version) + " (this build's protocol versions)");
  }
  return o;
}

/// The cluster's key pair, or none; refuses a listen beyond loopback without a key (SPEC 7).
std::vector<transport::CurveKeys> security_of(const NodeOptions& o) {
  auto keys = transport::configured_keys(o.cluster_key, o.cluster_key_file, o.cluster_keys_accepted);
  if (keys.empty() && !o.allow_insecure && !transport::is_loopback_endpoint(o.listen)) {
    throw Error(Errc::bad_argument,
                "NodeOptions.listen '" + o.listen +
                    "' is reachable beyond this host but no cluster key is set: set cluster_key or "
                    "cluster_key_file (see docs/security.md), or allow_insecure to accept plaintext links");
  }
  return keys;
}

NodeStats stats_of(const transport::TransportCounters& c) {
  return NodeStats{c.frames_received, c.frames_sent,      c.malformed, c.refused,
                   c.link_resets,     c.connections_lost, c.oversized};
}

constexpr int kMaxZmqSockets = 16384;  // 5000 peers; the array it sizes costs 8 bytes a socket

}  // namespace

NodeCore::NodeCore(NodeOptions options)
    : ScopeHost(validated(std::move(options)), new_creation()),
      context_(1),
      engine_(options_.name),
      dispatcher_(options_.name),
      monitors_(*this),
      multi_calls_(std::make_unique<MultiCalls>(*this)),
      handlers_(options_.event_handler),
      seed_reached_(options_.seeds.empty()) {
  route_process_messages();
  // ZeroMQ's default of 1023 sockets per context caps a node at about 340 peers: each peer
  // takes our DEALER and two PAIR sockets of its monitor (docs/scale.md).
  context_.set(zmq::ctxopt::max_sockets, kMaxZmqSockets);
  transport::TransportConfig config{options_.name, creation_, options_.heartbeat_interval, options_.peer_timeout,
                                    options_.auto_connect};
  config.keys = security_of(options_);
  if (options_.max_protocol_version != 0) config.max_protocol = options_.max_protocol_version;
  // A few of the largest terms must fit, or one big message would reset a link; a bound set
  // below that is raised (not refused: max_term_bytes alone must not stop a node).
  config.max_link_backlog = options_.max_link_backlog;
  const std::uint64_t largest_terms =
      options_.max_term_bytes > std::numeric_limits<std::uint64_t>::max() / kLargestTermsInBacklog
          ? std::numeric_limits<std::uint64_t>::max()
          : kLargestTermsInBacklog * std::uint64_t{options_.max_term_bytes};
  if (config.max_link_backlog != 0 && config.max_link_backlog < largest_terms) {
    SYN_LOG(info, options_.name, "max_link_backlog ", config.max_link_backlog, " is below ", kLargestTermsInBacklog,
            " x max_term_bytes: the bound is ", largest_terms, " bytes");
    config.max_link_backlog = largest_terms;
  }
  if (config.keys.empty() && !transport::is_loopback_endpoint(options_.listen)) {
    SYN_LOG(warn, options_.name, "listening on ", options_.listen,
            " without a cluster key (allow_insecure): links are neither authenticated nor encrypted");
  }
  transport_ = std::make_unique<transport::Transport>(context_, std::move(config), *this);
}

NodeCore::~NodeCore() { stop(); }

void NodeCore::start() {
  endpoint_ = transport_->bind(options_.listen, options_.advertise);
  dispatcher_.start();
  started_ = true;
  engine_.start(*transport_);
  SYN_LOG(info, name(), "started at ", endpoint_, " (creation ", creation_, ")");
}

void NodeCore::connect_seeds() {
  for (const auto& seed : options_.seeds) connect(seed);
}

void NodeCore::stop() {
  MutexLock lock(stop_mutex_);
  if (stopped_.exchange(true)) return;
  engine_.stop([this] {
    for (auto* observer : observers_) observer->on_engine_stopping();
    transport_->leave();
  });
  {
    MutexLock stats_lock(stats_mutex_);
    const auto& c = transport_->counters();
    final_stats_ = stats_of(c);
  }
  // The engine thread is gone: nobody else touches the sockets now.
  transport_.reset();
  // Tables first: their entries point at the local processes about to be released.
  for (auto* observer : observers_) observer->on_stopped();
  observers_.clear();
  kill_all_local("shutdown");
  dispatcher_.stop();
  {
    WriterLock peers_lock(peers_mutex_);
    up_peers_.clear();
  }
  context_.close();
}

void NodeCore::kill_all_local(const Term& reason) {
  for (auto& process : processes_.take_all()) process->kill_silently(reason);
}

// ---- processes -------------------------------------------------------------------------

Process NodeCore::spawn() {
  Pid pid = Pid::from_atom(atom_, creation_, next_pid_id_.fetch_add(1, std::memory_order_relaxed) + 1);
  auto control = std::make_shared<ProcessControl>(pid, weak_from_this());
  if (stopped()) {
    control->kill_silently("shutdown");
    return Process(pid, std::move(control));
  }
  processes_.insert(control);
  return Process(pid, std::move(control));
}

std::shared_ptr<ProcessControl> NodeCore::find_local(const Pid& pid) const {
  if (!is_local(pid)) return nullptr;
  return processes_.find(pid.id());
}

bool NodeCore::is_alive(const Pid& pid) const {
  if (is_local(pid)) {
    auto process = processes_.find(pid.id());
    return process && process->alive();
  }
  return is_connected(pid);
}

namespace {
[[noreturn]] void too_big(const char* what, std::size_t limit) {
  throw Error(Errc::bad_argument, std::string(what) + " is larger than NodeOptions.max_term_bytes (" +
                                      std::to_string(limit) + " bytes encoded)");
}
}  // namespace

void ScopeHost::require_fits(const Term& term, const char* what) const {
  if (!fits_term(term)) too_big(what, options_.max_term_bytes);
}

void ScopeHost::require_fits_bytes(std::string_view canonical, const char* what) const {
  if (!fits(canonical)) too_big(what, options_.max_term_bytes);
}

void NodeCore::count_oversized(std::uint32_t from) {
  engine_.transport().count_oversized();
  SYN_LOG(info, name(), "dropped a term from ", node_name_of(from), " larger than max_term_bytes (",
          options_.max_term_bytes, " bytes)");
}

void NodeCore::send(const Pid& pid, Term message) {
  if (is_local(pid)) {
    require_fits(message, "the message");
    if (auto process = processes_.find(pid.id())) process->deliver(Message{std::move(message), nullptr});
    return;
  }
  if (pid.node_atom() == atom_ || pid.is_null() || stopped()) {  // an old incarnation of us
    require_fits(message, "the message");
    return;
  }
  // A remote send encodes the message anyway: its size is checked on the bytes, not by a walk.
  wire::OutBuffer out;
  std::string body = wire::canonical(message);
  require_fits_bytes(body, "the message");
  wire::encode_send(out, {pid.creation(), pid.id()}, body);
  engine_.send_bytes(pid.node_atom(), out.release());
}

void NodeCore::send_to_many(std::uint32_t node_atom, std::uint32_t creation, const std::vector<std::uint64_t>& ids,
                            std::string_view canonical_message) {
  if (node_atom == atom_ || stopped()) return;  // this node's processes are reached directly
  wire::OutBuffer out;
  wire::encode_publish(out, creation, ids, canonical_message);
  engine_.send_bytes(node_atom, out.release());
}

MultiCallResult NodeCore::multi_call(std::vector<Member> members, const Term& message,
                                     std::chrono::milliseconds timeout) {
  return multi_calls_->call(std::move(members), message, timeout);
}

void NodeCore::exit(const Pid& pid, Term reason) {
  require_fits(reason, "the exit reason");
  if (is_local(pid)) {
    if (auto process = processes_.find(pid.id())) process->kill(reason);
    return;
  }
  if (pid.node_atom() == atom_ || pid.is_null() || stopped()) return;
  wire::OutBuffer out;
  wire::encode_exit(out, {pid.creation(), pid.id()}, reason);
  engine_.send_bytes(pid.node_atom(), out.release());
}

void NodeCore::on_local_exit(const Pid& pid, const Term& reason, std::vector<Attachment> attachments) {
  notify_exit_observers(pid, reason, std::move(attachments));
  monitors_.on_local_exit(pid, reason);
  processes_.erase(pid.id());
}

std::int64_t NodeCore::unique_time_ns() { return unique_now_ns(); }

void NodeCore::deliver_local(const wire::LocalPid& to, Message message) {
  if (to.creation != creation_) return;  // for an old incarnation of this node
  if (auto process = processes_.find(to.id)) process->deliver(std::move(message), process);
}

// ---- cluster ---------------------------------------------------------------------------

void NodeCore::connect(const std::string& endpoint) {
  transport::check_endpoint(endpoint);  // throws Error{bad_argument} before anything is queued
  engine_.post([this, endpoint] {
    try {
      engine_.transport().connect(endpoint);
    } catch (const Error& e) { SYN_LOG(error, name(), e.what()); }
  });
}

void NodeCore::disconnect(const std::string& node) {
  std::uint32_t atom = intern_node_name(node);
  engine_.call([this, atom] { engine_.transport().disconnect(atom); });
}

std::vector<std::string> NodeCore::nodes() const {
  std::vector<std::string> out;
  {
    ReaderLock lock(peers_mutex_);
    for (auto& [atom, creation] : up_peers_) out.push_back(node_name_of(atom));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool NodeCore::is_connected(const Pid& pid) const {
  ReaderLock lock(peers_mutex_);
  auto it = up_peers_.find(pid.node_atom());
  return it != up_peers_.end() && it->second == pid.creation();
}

bool NodeCore::is_up(std::uint32_t atom) const {
  ReaderLock lock(peers_mutex_);
  return up_peers_.count(atom) != 0;
}

NodeStats NodeCore::stats() const {
  if (!stopped()) {
    auto* self = const_cast<NodeCore*>(this);
    bool ok = false;
    NodeStats live = self->engine_.call([self, &ok] {
      ok = true;
      const auto& c = self->engine_.transport().counters();
      return stats_of(c);
    });
    if (ok) return live;
  }
  MutexLock lock(stats_mutex_);
  return final_stats_;
}

// ---- the engine thread -------------------------------------------------------------------

void NodeCore::assert_engine_thread() const { assert(engine_.on_engine_thread() && "NodeCore: engine thread only"); }

void NodeCore::add_timer(std::chrono::milliseconds delay, UniqueFunction fn) {
  assert_engine_thread();
  engine_.add_timer(delay, std::move(fn));
}

wire::OutBuffer* NodeCore::peer_out(std::uint32_t atom) {
  assert_engine_thread();
  return engine_.transport().out(atom);
}

std::vector<std::uint32_t> NodeCore::up_peers() {
  assert_engine_thread();
  return engine_.transport().up_peers();
}

std::uint32_t NodeCore::up_creation(std::uint32_t atom) {
  assert_engine_thread();
  return engine_.transport().up_creation(atom);
}

void NodeCore::keep_links_alive() {
  assert_engine_thread();
  engine_.transport().keep_alive(SteadyClock::now());
}

bool NodeCore::peer_backlogged(std::uint32_t atom) {
  assert_engine_thread();
  return engine_.transport().backlogged(atom);
}

std::uint32_t NodeCore::peer_protocol(std::uint32_t atom) {
  assert_engine_thread();
  return engine_.transport().protocol(atom);
}

// ---- plugging in ---------------------------------------------------------------------------

void NodeCore::route(wire::MsgType type, PeerMessageHandler handler) {
  auto slot = static_cast<std::size_t>(type);
  if (started_) throw std::logic_error("NodeCore::route after start");
  if (slot >= kRoutes || routes_[slot]) throw std::logic_error("NodeCore::route: type taken or out of range");
  routes_[slot] = std::move(handler);
}

void NodeCore::add_peer_observer(PeerObserver& observer) {
  if (started_) throw std::logic_error("NodeCore::add_peer_observer after start");
  observers_.push_back(&observer);
}

// ---- peer events (engine thread) ---------------------------------------------------------

void NodeCore::on_peer_up(std::uint32_t atom, std::uint32_t creation) {
  {
    WriterLock lock(peers_mutex_);
    up_peers_[atom] = creation;
  }
  // The scopes first: each starts waiting for the peer's snapshot. Were the seed marked
  // reached before, ready() on another thread could see it reached with nothing awaited yet,
  // and answer true before the seed's entries were here (a test caught it: 0 of 20000 names).
  for (auto* observer : observers_) observer->on_peer_up(atom);
  if (!seed_reached_.load(std::memory_order_acquire) && up_peer_at_a_seed()) {
    seed_reached_.store(true, std::memory_order_release);
  }
  if (auto handler = handlers_.for_node()) {
    post_callback([handler, node = node_name_of(atom)] { handler->on_node_up(node); });
  }
}

bool NodeCore::up_peer_at_a_seed() {
  assert_engine_thread();
  for (auto atom : transport_->up_peers()) {
    for (const auto& seed : options_.seeds) {
      if (transport_->reached_at(atom, seed)) return true;
    }
  }
  return false;
}

bool NodeCore::seed_reached() {
  if (seed_reached_.load(std::memory_order_acquire)) return true;
  // A seed may be found after its link came up (our connection to it was the second one, and
  // was welcomed later as a duplicate): ask again.
  if (stopped() || !engine_.call([this] { return up_peer_at_a_seed(); })) return false;
  seed_reached_.store(true, std::memory_order_release);
  return true;
}

void NodeCore::scope_synced(Kind kind, const std::string& scope, std::uint32_t node) {
  if (auto handler = handlers_.for_scope(scope)) {
    post_callback([handler, kind, scope, node = node_name_of(node)] { handler->on_scope_synced(kind, scope, node); });
  }
}

std::vector<transport::LinkInfo> NodeCore::links() {
  if (stopped()) return {};
  return engine_.call([this] { return transport_->links(); });
}

void NodeCore::on_peer_down(std::uint32_t atom, std::uint32_t creation, transport::DownReason reason) {
  on_peers_down({transport::PeerDown{atom, creation, reason}});
}

void NodeCore::on_peers_down(const std::vector<transport::PeerDown>& downs) {
  std::vector<std::uint32_t> atoms;
  atoms.reserve(downs.size());
  for (const auto& d : downs) {
    atoms.push_back(d.atom);
    multi_calls_->on_peer_down(d.atom);
  }
  // All of them at once: each scope purges them in one scan of its table.
  for (auto* observer : observers_) observer->on_peers_down(atoms);
  for (const auto& d : downs) {
    monitors_.on_peer_down(d.atom);
    // After the purges' callbacks: a handler told "down" finds the node's entries gone.
    if (auto handler = handlers_.for_node()) {
      post_callback([handler, node = node_name_of(d.atom), why = std::string(transport::code_of(d.reason))] {
        handler->on_node_down(node, why);
      });
    }
  }
  // Last: once nodes() no longer lists it, its entries are gone from every table too.
  WriterLock lock(peers_mutex_);
  for (auto atom : atoms) up_peers_.erase(atom);
}

void NodeCore::on_peer_message(std::uint32_t atom, const msgpack::object& message, std::size_t bytes) {
  auto type = wire::message_type(message);
  routing_bytes_ = bytes;
  if (type >= kRoutes || !routes_[type]) throw wire::DecodeError("unknown message type " + std::to_string(type));
  routes_[type](atom, message);
}

void NodeCore::route_process_messages() {
  using wire::MsgType;
  route(MsgType::send, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_send(message);
    if (accepts_term(from, m.body)) deliver_local(m.to, Message{std::move(m.body), nullptr});
  });
  route(MsgType::exit, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_exit(message);
    if (m.to.creation != creation_ || !accepts_term(from, m.reason)) return;
    if (auto process = processes_.find(m.to.id)) process->kill(m.reason);
  });
  route(MsgType::monitor, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_monitor(message);
    monitors_.on_remote_monitor(from, m.ref, Pid(name(), m.target.creation, m.target.id));
  });
  route(MsgType::demonitor, [this](std::uint32_t from, const msgpack::object& message) {
    monitors_.on_remote_demonitor(from, wire::decode_demonitor(message).ref);
  });
  route(MsgType::down, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_down(message);
    // Too big to be a reason this node accepts: the process still went down.
    if (!accepts_term(from, m.reason)) m.reason = "oversized_reason";
    monitors_.on_remote_down(from, m.ref, m.reason);
  });
  route(MsgType::mcall, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_mcall(message);
    if (accepts_term(from, m.body) && accepts_term(from, m.member_meta)) multi_calls_->on_request(from, m);
  });
  route(MsgType::mcall_reply, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_mcall_reply(message);
    if (accepts_term(from, m.answer)) multi_calls_->on_reply(from, m);
  });
  // One message for several local processes (send_to_many; Groups::publish).
  route(MsgType::publish, [this](std::uint32_t from, const msgpack::object& message) {
    auto m = wire::decode_publish(message);
    if (m.creation != creation_ || !accepts_term(from, m.body)) return;
    for (auto id : m.ids) {
      if (auto process = processes_.find(id)) process->deliver(Message{m.body, nullptr}, process);
    }
  });
}

}  // namespace syn::detail
