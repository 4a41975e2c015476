#include "sim/sim_cluster.hpp"

#include "api/handler_kinds.hpp"
#include "wire/frame.hpp"

#include <algorithm>
#include <utility>
#include <stdexcept>

namespace syn::sim {

std::uint64_t Random::next() {
  std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// ---- SimNode ---------------------------------------------------------------------------------

SimNode::SimNode(World& world, NodeOptions options, std::uint32_t creation, std::int64_t clock_skew_ns)
    : ScopeHost(std::move(options), creation), world_(world), clock_skew_ns_(clock_skew_ns) {}

void SimNode::start(const std::vector<std::string>& scopes, std::vector<detail::HandlerKind> kinds) {
  directory_ = std::make_shared<detail::ScopeDirectory>(shared_from_this(), std::move(kinds));
  directory_->add(scopes);
}

void SimNode::crash() {
  if (crashed_) return;
  world_.trace(name() + " crashes");
  engine_step([&] {
    for (auto* observer : observers_) observer->on_engine_stopping();
  });
  crashed_ = true;
  peers_.clear();
  held_downs_.clear();
  ended_.clear();
  outbound_.clear();
  callbacks_.clear();
  directory_->on_stopped();
  for (auto& [id, process] : processes_) process->kill_silently("killed");
  processes_.clear();
}

void SimNode::release() {
  routes_ = {};
  observers_.clear();
  directory_.reset();
}

Pid SimNode::spawn() {
  Pid pid = Pid::from_atom(atom_, creation_, ++next_process_);
  processes_.emplace(pid.id(), std::make_shared<detail::ProcessControl>(pid, weak_from_this()));
  return pid;
}

std::vector<Pid> SimNode::live_processes() const {
  std::vector<Pid> out;
  for (const auto& [id, process] : processes_) {
    if (process->alive()) out.push_back(process->pid());
  }
  return out;
}

bool SimNode::is_alive_local(const Pid& pid) const {
  auto process = find_local(pid);
  return process && process->alive() && !crashed_;
}

void SimNode::engine_step(const std::function<void()>& fn) {
  if (crashed_) return;
  bool outer = !in_engine_;
  in_engine_ = true;
  try {
    fn();
  } catch (const wire::DecodeError& e) {
    ++malformed_;
    world_.trace(name() + ": malformed message: " + e.what());
  }
  in_engine_ = !outer;
  if (outer) flush();
}

void SimNode::flush() {
  auto outbound = std::move(outbound_);
  outbound_.clear();
  for (auto& [atom, buffer] : outbound) {
    if (buffer.empty()) continue;
    wire::FrameWriter writer;
    writer.append_messages(buffer.view());
    world_.send_frame(*this, atom, writer.take());
  }
}

void SimNode::peer_up(std::uint32_t atom, std::uint32_t creation) {
  // Its down, if still held, goes first (as in Transport::check_up).
  if (std::find(held_downs_.begin(), held_downs_.end(), atom) != held_downs_.end()) tell_held_downs();
  engine_step([&] {
    peers_[atom] = creation;
    world_.trace(name() + " sees " + detail::node_name_of(atom) + " up");
    for (auto* observer : observers_) observer->on_peer_up(atom);
  });
}

void SimNode::peer_down(std::uint32_t atom) {
  // The link is gone at once: nothing more goes to it (peer_out) or comes from it (the World
  // ends the session on this side). The node hears of it as the transport tells it, at the
  // end of its pass over the sockets, together with the other links found down in that pass
  // (TransportListener::on_peers_down): a pass here ends up to kPass later, so that peers
  // lost at nearly the same time are told together. Until then it still counts the peer up,
  // as NodeCore does.
  if (!peers_.count(atom) || !ended_.insert(atom).second) return;
  outbound_.erase(atom);
  world_.trace(name() + " sees " + detail::node_name_of(atom) + " down");
  held_downs_.push_back(atom);
  if (held_downs_.size() > 1) return;  // the pass that holds them is scheduled
  constexpr Micros kPass = 2'000;
  std::weak_ptr<SimNode> self = weak_from_this();
  world_.schedule(world_.random().between(0, kPass), [self] {
    if (auto node = self.lock()) node->tell_held_downs();
  });
}

void SimNode::tell_held_downs() {
  if (held_downs_.empty() || crashed_) return;
  auto atoms = std::exchange(held_downs_, {});
  if (atoms.size() > 1) world_.trace(name() + " is told of " + std::to_string(atoms.size()) + " downs at once");
  engine_step([&] {
    for (auto* observer : observers_) observer->on_peers_down(atoms);
    // Last, as NodeCore does: once the node no longer counts it up, its entries are gone.
    for (auto atom : atoms) {
      peers_.erase(atom);
      ended_.erase(atom);
    }
  });
}

bool SimNode::receive_frame(std::uint32_t from, const std::string& frame) {
  std::uint64_t before = malformed_;
  engine_step([&] {
    wire::FrameReader reader(frame.data(), frame.size());
    reader.read_version();
    reader.check_rest();
    while (auto message = reader.next()) {
      auto type = wire::message_type(*message);
      if (type >= routes_.size() || !routes_[type])
        throw wire::DecodeError("no route for type " + std::to_string(type));
      routing_bytes_ = reader.last_bytes().size();
      routes_[type](from, *message);
    }
  });
  return malformed_ == before;
}

void SimNode::run_callbacks(std::uint64_t seq) {
  if (running_callbacks_) return;  // a callback waiting for itself (or a later one) returns
  running_callbacks_ = true;
  while (!callbacks_.empty() && (seq == 0 || callbacks_.front().first <= seq)) {
    auto fn = std::move(callbacks_.front().second);
    callbacks_.pop_front();
    fn();
  }
  running_callbacks_ = false;
}

std::uint64_t SimNode::post_callback(detail::UniqueFunction fn) {
  if (crashed_) return 0;
  std::uint64_t seq = ++callbacks_posted_;
  callbacks_.emplace_back(seq, std::move(fn));
  std::weak_ptr<SimNode> self = weak_from_this();
  world_.schedule(callback_delay_, [self, seq] {
    if (auto node = self.lock(); node && !node->crashed_) node->run_callbacks(seq);
  });
  return seq;
}

void SimNode::on_local_exit(const Pid& pid, const Term& reason, std::vector<detail::Attachment> attachments) {
  detail::notify_exit_observers(pid, reason, std::move(attachments));
  processes_.erase(pid.id());
}

std::shared_ptr<detail::ProcessControl> SimNode::find_local(const Pid& pid) const {
  if (!is_local(pid)) return nullptr;
  auto it = processes_.find(pid.id());
  return it == processes_.end() ? nullptr : it->second;
}

MultiCallResult SimNode::multi_call(std::vector<Member>, const Term&, std::chrono::milliseconds) {
  throw std::logic_error("multi_call blocks its caller: the simulator does not run it");
}

bool SimNode::is_connected(const Pid& pid) const {
  auto it = peers_.find(pid.node_atom());
  return it != peers_.end() && it->second == pid.creation();
}

std::int64_t SimNode::unique_time_ns() {
  std::int64_t now = world_.now() * 1000 + clock_skew_ns_;
  last_time_ns_ = std::max(now, last_time_ns_ + 1);
  return last_time_ns_;
}

std::int64_t SimNode::monotonic_micros() const { return world_.now(); }

void SimNode::post(detail::UniqueFunction fn) {
  auto task = std::make_shared<detail::UniqueFunction>(std::move(fn));
  std::weak_ptr<SimNode> self = weak_from_this();
  world_.schedule(0, [self, task] {
    if (auto node = self.lock()) node->engine_step([&] { (*task)(); });
  });
}

void SimNode::post_bytes(std::uint32_t atom, std::string bytes) {
  post([this, atom, bytes = std::move(bytes)] {
    if (auto* out = peer_out(atom)) out->append(bytes);
  });
}

void SimNode::add_timer(std::chrono::milliseconds delay, detail::UniqueFunction fn) {
  if (!in_engine_) throw std::logic_error("add_timer off the engine thread");
  auto task = std::make_shared<detail::UniqueFunction>(std::move(fn));
  std::weak_ptr<SimNode> self = weak_from_this();
  world_.schedule(delay.count() * 1000, [self, task] {
    if (auto node = self.lock()) node->engine_step([&] { (*task)(); });
  });
}

wire::OutBuffer* SimNode::peer_out(std::uint32_t atom) {
  if (!in_engine_) throw std::logic_error("peer_out off the engine thread");
  if (!peers_.count(atom) || ended_.count(atom)) return nullptr;
  return &outbound_[atom];
}

std::vector<std::uint32_t> SimNode::up_peers() {
  if (!in_engine_) throw std::logic_error("up_peers off the engine thread");
  std::vector<std::uint32_t> out;
  for (const auto& [atom, creation] : peers_) out.push_back(atom);
  return out;
}

std::uint32_t SimNode::up_creation(std::uint32_t atom) {
  auto it = peers_.find(atom);
  return it == peers_.end() ? 0 : it->second;
}

void SimNode::route(wire::MsgType type, detail::PeerMessageHandler handler) {
  auto slot = static_cast<std::size_t>(type);
  if (slot >= routes_.size() || routes_[slot]) throw std::logic_error("SimNode::route: type taken or out of range");
  routes_[slot] = std::move(handler);
}

// ---- World -----------------------------------------------------------------------------------

World::World(std::uint64_t seed, NetConfig net) : seed_(seed), random_(seed), net_(net) {}

World::~World() {
  // The directory holds its node (the host) and the node holds its directory: crash every
  // incarnation, then break that cycle, or each seed leaks its whole cluster.
  for (auto& node : all_incarnations_) {
    if (!node->crashed()) node->crash();
    node->release();
  }
}

SimNode* World::by_atom(std::uint32_t atom) {
  auto it = slots_.find(detail::node_name_of(atom));
  return it == slots_.end() ? nullptr : it->second.node.get();
}

SimNode* World::node(const std::string& name) {
  auto it = slots_.find(name);
  return it == slots_.end() ? nullptr : it->second.node.get();
}

std::vector<SimNode*> World::nodes() {
  std::vector<SimNode*> out;
  for (auto& [name, slot] : slots_) out.push_back(slot.node.get());
  return out;
}

SimNode& World::add_node(const std::string& name, NodeOptions options, const std::vector<std::string>& scopes) {
  return add_node(name, std::move(options), scopes, detail::handler_kinds());
}

SimNode& World::add_node(const std::string& name, NodeOptions options, const std::vector<std::string>& scopes,
                         std::vector<detail::HandlerKind> kinds) {
  options.name = name;
  auto creation = static_cast<std::uint32_t>(random_.below(0xfffffffeULL)) + 1;
  auto skew = random_.between(-net_.max_clock_skew_ns, net_.max_clock_skew_ns);
  auto node = std::make_shared<SimNode>(*this, options, creation, skew);
  node->start(scopes, kinds);
  slots_[name] = Slot{options, scopes, kinds, node};
  all_incarnations_.push_back(node);
  for (auto& [other_name, slot] : slots_) {
    if (other_name != name && !slot.node->crashed()) start_session(node->atom(), slot.node->atom());
  }
  return *node;
}

void World::crash(const std::string& name) { crash_together({name}); }

void World::crash_together(const std::vector<std::string>& names) {
  // Each survivor sees the connections of all of them reset at the same moment, soon: the
  // kernel closes a killed process's sockets at once.
  std::map<std::uint32_t, Micros> seen_after;  // survivor -> when
  for (const auto& name : names) {
    SimNode* victim = node(name);
    if (!victim || victim->crashed()) continue;
    victim->crash();
    // Its side of every session ends with it.
    for (auto& [key, session] : sessions_) {
      if (session.id == 0 || (key.first != victim->atom() && key.second != victim->atom())) continue;
      std::uint32_t other = key.first == victim->atom() ? key.second : key.first;
      (key.first == victim->atom() ? session.a_down : session.b_down) = true;
      auto id = session.id;
      auto [when, fresh] = seen_after.try_emplace(other, 0);
      if (fresh) when->second = random_.between(1'000, 50'000);
      schedule(when->second, [this, other, victim_atom = victim->atom(), id] {
        if (sessions_[pair_of(other, victim_atom)].id == id) end_session_on(other, victim_atom);
      });
    }
  }
}

void World::restart(const std::string& name, std::optional<NodeOptions> options) {
  auto it = slots_.find(name);
  if (it == slots_.end() || !it->second.node->crashed()) return;
  trace(name + " restarts");
  Slot slot = it->second;
  slots_.erase(it);
  add_node(name, options ? *options : slot.options, slot.scopes, slot.kinds);
}

bool World::is_cut(std::uint32_t from, std::uint32_t to) const {
  auto it = pipes_.find({from, to});
  return it != pipes_.end() && it->second.cut;
}

void World::cut(const std::string& a, const std::string& b, bool both) {
  SimNode* na = node(a);
  SimNode* nb = node(b);
  if (!na || !nb || na == nb) return;
  std::uint32_t x = na->atom(), y = nb->atom();
  if (is_cut(x, y) && (!both || is_cut(y, x))) return;
  trace("cut " + a + (both ? " <-> " : " -> ") + b);
  pipe(x, y).cut = true;
  if (both) pipe(y, x).cut = true;
  // Whoever stops hearing the other notices first (the heartbeat timeout); the other side
  // hears of it soon after (its link is reset).
  std::uint32_t first = both && random_.chance(0.5) ? x : y;
  std::uint32_t second = first == x ? y : x;
  auto id = sessions_[pair_of(x, y)].id;
  schedule(random_.between(net_.min_detect, net_.max_detect), [this, first, second, id] {
    if (sessions_[pair_of(first, second)].id != id || id == 0) return;
    if (!is_cut(first, second) && !is_cut(second, first)) return;  // healed in time
    end_session_on(first, second);
    schedule(random_.between(1'000, 100'000), [this, first, second, id] {
      if (sessions_[pair_of(first, second)].id == id) end_session_on(second, first);
    });
  });
}

void World::heal(const std::string& a, const std::string& b) {
  SimNode* na = node(a);
  SimNode* nb = node(b);
  if (!na || !nb) return;
  std::uint32_t x = na->atom(), y = nb->atom();
  if (!is_cut(x, y) && !is_cut(y, x)) return;
  trace("heal " + a + " <-> " + b);
  for (auto [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
    Pipe& p = pipe(from, to);
    p.cut = false;
    auto held = std::move(p.held);
    p.held.clear();
    for (auto& [seq, item] : held) {
      Micros at = std::max(now_ + random_.between(net_.min_delay, net_.max_delay), p.last);
      p.last = at;
      schedule(at - now_,
               [this, from = from, to = to, item = std::move(item)]() mutable { deliver(from, to, std::move(item)); });
    }
  }
  if (sessions_[pair_of(x, y)].id == 0) start_session(x, y);
}

void World::reset(const std::string& a, const std::string& b) {
  SimNode* na = node(a);
  SimNode* nb = node(b);
  if (!na || !nb || na == nb) return;
  std::uint32_t x = na->atom(), y = nb->atom();
  auto id = sessions_[pair_of(x, y)].id;
  if (id == 0) return;
  trace("reset " + a + " <-> " + b);
  for (auto [side, other] : {std::pair{x, y}, std::pair{y, x}}) {
    schedule(random_.between(1'000, 50'000), [this, side = side, other = other, id] {
      if (sessions_[pair_of(side, other)].id == id) end_session_on(side, other);
    });
  }
}

void World::heal_all() {
  std::vector<std::pair<std::string, std::string>> cut_pairs;
  for (auto& [key, p] : pipes_) {
    if (p.cut) cut_pairs.emplace_back(detail::node_name_of(key.first), detail::node_name_of(key.second));
  }
  for (auto& [a, b] : cut_pairs) heal(a, b);
}

void World::start_session(std::uint32_t a, std::uint32_t b) {
  schedule(random_.between(net_.min_reconnect, net_.max_reconnect), [this, a, b] {
    SimNode* na = by_atom(a);
    SimNode* nb = by_atom(b);
    if (!na || !nb || na->crashed() || nb->crashed()) return;
    if (is_cut(a, b) || is_cut(b, a)) return;  // the heal starts it
    Session& s = sessions_[pair_of(a, b)];
    if (s.id != 0) return;  // up already, or still ending: its end starts the next one
    s = Session{++next_session_, false, false};
    trace("session " + std::to_string(s.id) + ": " + na->name() + " <-> " + nb->name());
    put_on_pipe(a, b, Item{s.id, true, {}, na->creation(), 0});
    put_on_pipe(b, a, Item{s.id, true, {}, nb->creation(), 0});
  });
}

void World::end_session_on(std::uint32_t side, std::uint32_t other) {
  auto key = pair_of(side, other);
  Session& s = sessions_[key];
  if (s.id == 0) return;
  bool& down = key.first == side ? s.a_down : s.b_down;
  if (!down) {
    down = true;
    if (SimNode* n = by_atom(side); n && !n->crashed()) n->peer_down(other);
  }
  if (s.a_down && s.b_down) {
    s = Session{};
    start_session(side, other);
  }
}

void World::put_on_pipe(std::uint32_t from, std::uint32_t to, Item item) {
  Pipe& p = pipe(from, to);
  item.seq = p.next_seq++;
  if (p.cut) {
    p.held.emplace(item.seq, std::move(item));
    return;
  }
  Micros at = std::max(now_ + random_.between(net_.min_delay, net_.max_delay), p.last);
  p.last = at;
  schedule(at - now_, [this, from, to, item = std::move(item)]() mutable { deliver(from, to, std::move(item)); });
}

void World::deliver(std::uint32_t from, std::uint32_t to, Item item) {
  Pipe& p = pipe(from, to);
  if (p.cut) {  // in flight when the cable was pulled: it waits for the heal
    p.held.emplace(item.seq, std::move(item));
    return;
  }
  auto key = pair_of(from, to);
  Session& s = sessions_[key];
  if (s.id != item.session) return;                   // an old session's: the connection is gone
  if (key.first == to ? s.a_down : s.b_down) return;  // the receiver has ended it
  SimNode* receiver = by_atom(to);
  if (!receiver || receiver->crashed()) return;
  if (item.hello) {
    receiver->peer_up(from, item.creation);
    return;
  }
  ++frames_delivered_;
  if (!receiver->receive_frame(from, item.frame)) trace("malformed frame from " + detail::node_name_of(from));
}

void World::send_frame(SimNode& from, std::uint32_t to, std::string frame) {
  auto id = sessions_[pair_of(from.atom(), to)].id;
  if (id == 0) return;
  if (lose_next_frame_) {
    lose_next_frame_ = false;
    trace("sabotage: a frame from " + from.name() + " to " + detail::node_name_of(to) + " is lost");
    return;
  }
  put_on_pipe(from.atom(), to, Item{id, false, std::move(frame), from.creation(), 0});
}

void World::schedule(Micros delay, std::function<void()> fn) {
  events_.push(Event{now_ + std::max<Micros>(delay, 0), next_event_++, std::move(fn)});
}

std::size_t World::run_until(Micros deadline) {
  std::size_t ran = 0;
  while (!events_.empty() && events_.top().at <= deadline) {
    Event event = events_.top();
    events_.pop();
    now_ = event.at;
    event.fn();
    if (after_each_event_) after_each_event_();
    ++ran;
  }
  if (now_ < deadline) now_ = deadline;
  return ran;
}

bool World::settle(Micros horizon) {
  run_until(now_ + horizon);
  return events_.empty();
}

void World::trace(const std::string& line) {
  if (tracing_) trace_.push_back(std::to_string(now_) + "us " + line);
}

}  // namespace syn::sim
