#include "node/node_core.hpp"

#include "common/log.hpp"
#include "common/random.hpp"
#include "groups/multi_calls.hpp"
#include "node/call_table.hpp"
#include "scope/scope_directory.hpp"
#include "transport/cluster_key.hpp"
#include "wire/messages.hpp"
#include "wire/term_codec.hpp"

#include <syn/errors.hpp>

#include <algorithm>

namespace syn::detail {

namespace {

std::uint32_t new_creation() {
  // Random: a restarted node must not reuse the creation of its previous run.
  return static_cast<std::uint32_t>(random_u64() % 0xfffffffeULL) + 1;
}

void validate(const NodeOptions& o) {
  if (o.name.empty()) throw Error(Errc::bad_argument, "NodeOptions.name must not be empty");
  if (o.name.find_first_of("<>") != std::string::npos) {
    throw Error(Errc::bad_argument, "NodeOptions.name must not contain '<' or '>'");
  }
  if (o.heartbeat_interval.count() <= 0) throw Error(Errc::bad_argument, "NodeOptions.heartbeat_interval must be positive");
  if (o.peer_timeout <= o.heartbeat_interval) {
    throw Error(Errc::bad_argument, "NodeOptions.peer_timeout must be longer than heartbeat_interval");
  }
  if (o.call_timeout.count() <= 0) throw Error(Errc::bad_argument, "NodeOptions.call_timeout must be positive");
  if (o.max_term_bytes == 0) throw Error(Errc::bad_argument, "NodeOptions.max_term_bytes must be positive");
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
  return NodeStats{c.frames_received, c.frames_sent,      c.malformed,
                   c.refused,         c.link_resets, c.connections_lost, c.oversized};
}

}  // namespace

NodeCore::NodeCore(NodeOptions options)
    : options_(std::move(options)),
      atom_((validate(options_), intern_node_name(options_.name))),
      creation_(new_creation()),
      context_(1),
      engine_(options_.name),
      dispatcher_(options_.name),
      monitors_(*this),
      scopes_(std::make_unique<ScopeDirectory>(*this)),
      calls_(std::make_unique<CallTable>(*this)),
      multi_calls_(std::make_unique<MultiCalls>(*this)),
      event_handler_(options_.event_handler) {
  transport::TransportConfig config{options_.name, creation_, options_.heartbeat_interval,
                                    options_.peer_timeout, options_.auto_connect};
  config.keys = security_of(options_);
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
  engine_.start(*transport_);
  scopes_->add(options_.scopes);
  for (const auto& seed : options_.seeds) connect(seed);
  SYN_LOG(info, name(), "started at ", endpoint_, " (creation ", creation_, ")");
}

void NodeCore::stop() {
  std::lock_guard lock(stop_mutex_);
  if (stopped_.exchange(true)) return;
  engine_.stop([this] {
    calls_->fail_all();
    transport_->leave();
  });
  {
    std::lock_guard stats_lock(stats_mutex_);
    const auto& c = transport_->counters();
    final_stats_ = stats_of(c);
  }
  // The engine thread is gone: nobody else touches the sockets now.
  transport_.reset();
  // Tables first: their entries point at the local processes about to be released.
  scopes_->clear();
  kill_all_local("shutdown");
  dispatcher_.stop();
  {
    std::unique_lock peers_lock(peers_mutex_);
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

bool NodeCore::fits_term(const Term& term) const { return wire::fits_within(term, options_.max_term_bytes); }

namespace {
[[noreturn]] void too_big(const char* what, std::size_t limit) {
  throw Error(Errc::bad_argument,
              std::string(what) + " is larger than NodeOptions.max_term_bytes (" + std::to_string(limit) + " bytes encoded)");
}
}  // namespace

void NodeCore::require_fits(const Term& term, const char* what) const {
  if (!fits_term(term)) too_big(what, options_.max_term_bytes);
}

void NodeCore::require_fits_bytes(std::string_view canonical, const char* what) const {
  if (!fits(canonical)) too_big(what, options_.max_term_bytes);
}

bool NodeCore::accepts_term(std::uint32_t from, const Term& term) {
  if (fits_term(term)) return true;
  count_oversized(from);
  return false;
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
  engine_.post_bytes(pid.node_atom(), out.release());
}

void NodeCore::send_canonical(const Pid& pid, const Term& message, std::string_view canonical_bytes) {
  if (is_local(pid)) {
    if (auto process = processes_.find(pid.id())) process->deliver(Message{message, nullptr});
    return;
  }
  if (pid.node_atom() == atom_ || pid.is_null() || stopped()) return;
  wire::OutBuffer out;
  wire::encode_send(out, {pid.creation(), pid.id()}, canonical_bytes);
  engine_.post_bytes(pid.node_atom(), out.release());
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
  engine_.post_bytes(pid.node_atom(), out.release());
}

void NodeCore::on_local_exit(const Pid& pid, const Term& reason, std::vector<Attachment> attachments) {
  // Group the keys by observer, keeping their order, then tell each observer once.
  while (!attachments.empty()) {
    ExitObserver* observer = attachments.front().observer;
    std::vector<std::string> keys;
    auto split = std::stable_partition(attachments.begin(), attachments.end(),
                                       [&](const Attachment& a) { return a.observer != observer; });
    for (auto it = split; it != attachments.end(); ++it) keys.push_back(std::move(it->key));
    attachments.erase(split, attachments.end());
    observer->on_process_exit(pid, reason, std::move(keys));
  }
  monitors_.on_local_exit(pid, reason);
  processes_.erase(pid.id());
}

void NodeCore::deliver_local(const wire::LocalPid& to, Message message) {
  if (to.creation != creation_) return;  // for an old incarnation of this node
  if (auto process = processes_.find(to.id)) process->deliver(std::move(message));
}

// ---- cluster ---------------------------------------------------------------------------

void NodeCore::connect(const std::string& endpoint) {
  transport::check_endpoint(endpoint);  // throws Error{bad_argument} before anything is queued
  engine_.post([this, endpoint] {
    try {
      engine_.transport().connect(endpoint);
    } catch (const Error& e) {
      SYN_LOG(error, name(), e.what());
    }
  });
}

void NodeCore::disconnect(const std::string& node) {
  std::uint32_t atom = intern_node_name(node);
  engine_.call([this, atom] { engine_.transport().disconnect(atom); });
}

std::vector<std::string> NodeCore::nodes() const {
  std::vector<std::string> out;
  {
    std::shared_lock lock(peers_mutex_);
    for (auto& [atom, creation] : up_peers_) out.push_back(node_name_of(atom));
  }
  std::sort(out.begin(), out.end());
  return out;
}

bool NodeCore::is_connected(const Pid& pid) const {
  std::shared_lock lock(peers_mutex_);
  auto it = up_peers_.find(pid.node_atom());
  return it != up_peers_.end() && it->second == pid.creation();
}

bool NodeCore::is_up(std::uint32_t atom) const {
  std::shared_lock lock(peers_mutex_);
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
  std::lock_guard lock(stats_mutex_);
  return final_stats_;
}

// ---- peer events (engine thread) ---------------------------------------------------------

void NodeCore::on_peer_up(std::uint32_t atom, std::uint32_t creation) {
  {
    std::unique_lock lock(peers_mutex_);
    up_peers_[atom] = creation;
  }
  scopes_->on_peer_up(atom);
}

void NodeCore::on_peer_down(std::uint32_t atom, std::uint32_t /*creation*/, transport::DownReason /*reason*/) {
  calls_->on_peer_down(atom);
  multi_calls_->on_peer_down(atom);
  scopes_->on_peer_down(atom);
  monitors_.on_peer_down(atom);
  // Last: once nodes() no longer lists it, its entries are gone from every table too.
  std::unique_lock lock(peers_mutex_);
  up_peers_.erase(atom);
}

void NodeCore::on_peer_message(std::uint32_t atom, const msgpack::object& message) {
  using wire::MsgType;
  switch (static_cast<MsgType>(wire::message_type(message))) {
    case MsgType::send: {
      auto m = wire::decode_send(message);
      if (!accepts_term(atom, m.body)) break;
      deliver_local(m.to, Message{std::move(m.body), nullptr});
      break;
    }
    case MsgType::exit: {
      auto m = wire::decode_exit(message);
      if (m.to.creation != creation_ || !accepts_term(atom, m.reason)) break;
      if (auto process = processes_.find(m.to.id)) process->kill(m.reason);
      break;
    }
    case MsgType::monitor: {
      auto m = wire::decode_monitor(message);
      monitors_.on_remote_monitor(atom, m.ref, Pid(name(), m.target.creation, m.target.id));
      break;
    }
    case MsgType::demonitor: monitors_.on_remote_demonitor(atom, wire::decode_demonitor(message).ref); break;
    case MsgType::down: {
      auto m = wire::decode_down(message);
      // Too big to be a reason this node accepts: the process still went down.
      if (!accepts_term(atom, m.reason)) m.reason = "oversized_reason";
      monitors_.on_remote_down(atom, m.ref, m.reason);
      break;
    }
    case MsgType::discover:
    case MsgType::ack_sync:
    case MsgType::scope:
    case MsgType::call:
      scopes_->on_message(atom, static_cast<MsgType>(wire::message_type(message)), message);
      break;
    case MsgType::reply: calls_->on_reply(atom, wire::decode_reply(message)); break;
    case MsgType::mcall: {
      auto m = wire::decode_mcall(message);
      if (accepts_term(atom, m.body) && accepts_term(atom, m.member_meta)) multi_calls_->on_request(atom, m);
      break;
    }
    case MsgType::mcall_reply: {
      auto m = wire::decode_mcall_reply(message);
      if (accepts_term(atom, m.answer)) multi_calls_->on_reply(atom, m);
      break;
    }
    case MsgType::publish: {
      auto m = wire::decode_publish(message);
      if (m.creation != creation_ || !accepts_term(atom, m.body)) break;
      for (auto id : m.ids) {
        if (auto process = processes_.find(id)) process->deliver(Message{m.body, nullptr});
      }
      break;
    }
    default:
      throw wire::DecodeError("unknown message type " + std::to_string(wire::message_type(message)));
  }
}

}  // namespace syn::detail
