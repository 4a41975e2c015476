// The public Node: a thin facade over NodeCore and the scope directory plugged into it.
// Node::registry and Node::groups live beside their handlers (registry/registry.cpp,
// groups/groups.cpp).
#include <syn/node.hpp>

#include "api/handler_kinds.hpp"
#include "control/control_server.hpp"
#include "control/event_tap.hpp"
#include "node/node_core.hpp"
#include "scope/scope_directory.hpp"

namespace syn {

Node::Node(NodeOptions options)
    : core_(std::make_shared<detail::NodeCore>(std::move(options))),
      scopes_(std::make_shared<detail::ScopeDirectory>(core_, detail::handler_kinds())) {
  try {
    core_->start();
    scopes_->add(core_->options().scopes);
    core_->connect_seeds();
    events_ = std::make_unique<detail::EventTap>(*this);
    if (!core_->options().control.empty()) control_ = std::make_unique<detail::ControlServer>(*this, core_->options());
  } catch (...) {
    core_->stop();  // the directory must not outlive its plug-in into a running core
    throw;
  }
}

Node::~Node() {
  control_.reset();  // its thread reads the node
  events_.reset();
  core_->stop();
}

const std::string& Node::name() const { return core_->name(); }
std::uint32_t Node::creation() const { return core_->creation(); }
std::string Node::endpoint() const { return core_->endpoint(); }
void Node::connect(const std::string& endpoint) { core_->connect(endpoint); }
void Node::disconnect(const std::string& node) { core_->disconnect(node); }
std::vector<std::string> Node::nodes() const { return core_->nodes(); }
void Node::set_event_handler(std::shared_ptr<EventHandler> handler) { core_->set_event_handler(std::move(handler)); }
void Node::set_event_handler(std::string_view scope, std::shared_ptr<EventHandler> handler) {
  core_->set_event_handler(scope, std::move(handler));
}
bool Node::ready() const { return !core_->stopped() && core_->seed_reached() && scopes_->all_synced(); }

Process Node::spawn() { return core_->spawn(); }
bool Node::is_alive(const Pid& pid) const { return core_->is_alive(pid); }
void Node::send(const Pid& pid, Term message) { core_->send(pid, std::move(message)); }
void Node::exit(const Pid& pid, Term reason) { core_->exit(pid, std::move(reason)); }

MonitorRef Node::monitor(const Pid& pid, std::function<void(const Pid&, const Term&)> on_down) {
  return core_->monitors().monitor(pid, std::move(on_down));
}
void Node::demonitor(MonitorRef ref) { core_->monitors().demonitor(ref); }

void Node::add_node_to_scopes(const std::vector<std::string>& scopes) { scopes_->add(scopes); }
void Node::remove_node_from_scopes(const std::vector<std::string>& scopes) { scopes_->remove(scopes); }
std::vector<std::string> Node::node_scopes() const { return scopes_->names(); }
std::vector<std::string> Node::subcluster_nodes(Kind kind, std::string_view scope) const {
  return scopes_->subcluster(kind, scope);
}

NodeStats Node::stats() const { return core_->stats(); }

void to_json(Term& term, const NodeStats& s) {
  term = Term{{"frames_received", s.frames_received},   {"frames_sent", s.frames_sent},
              {"malformed_frames", s.malformed_frames}, {"refused_peers", s.refused_peers},
              {"link_resets", s.link_resets},           {"connections_lost", s.connections_lost},
              {"oversized_terms", s.oversized_terms}};
}

}  // namespace syn
