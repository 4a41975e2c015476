#include "scope/scope_directory.hpp"

#include "scope/call_table.hpp"
#include "scope/scope_engine.hpp"

#include <algorithm>
#include <cassert>
#include <future>
#include <mutex>

namespace syn::detail {

ScopeDirectory::ScopeDirectory(std::shared_ptr<ScopeHost> host, std::vector<HandlerKind> kinds)
    : host_(std::move(host)), kinds_(std::move(kinds)), calls_(std::make_shared<CallTable>(*host_)) {
  for (auto type : {wire::MsgType::discover, wire::MsgType::not_here, wire::MsgType::ack_sync, wire::MsgType::scope,
                    wire::MsgType::call}) {
    host_->route(type, [this, type](std::uint32_t from, const msgpack::object& message) {
      on_scope_message(from, type, message);
    });
  }
  host_->route(wire::MsgType::reply, [this](std::uint32_t from, const msgpack::object& message) {
    calls_->on_reply(from, wire::decode_reply(message));
  });
  host_->add_peer_observer(*this);
}

ScopeDirectory::~ScopeDirectory() = default;

void ScopeDirectory::add(const std::vector<std::string>& scopes) {
  // All names checked before any is added: a bad one after good ones used to leave those
  // added and never started (the node never ready).
  for (const auto& name : scopes) {
    if (name.empty()) throw Error(Errc::bad_argument, "a scope name must not be empty");
  }
  std::vector<ScopeEngine*> started;
  {
    WriterLock lock(mutex_);
    for (const auto& name : scopes) {
      if (scopes_.count(name)) continue;
      ScopeContext context{host_, name, calls_};
      std::vector<std::shared_ptr<ScopeHandler>> handlers;
      for (const auto& kind : kinds_) {
        handlers.push_back(kind.make(context));
        started.push_back(&handlers.back()->engine());
      }
      // Added again: the handles taken before act through these (SPEC 4: adding it again works).
      if (auto left = last_left_.find(name); left != last_left_.end()) {
        for (std::size_t i = 0; i < handlers.size(); ++i) left->second[i]->engine().set_successor(handlers[i]);
        last_left_.erase(left);
      }
      scopes_.emplace(name, std::move(handlers));
    }
  }
  if (started.empty()) return;
  host_->post([started] {
    for (auto* engine : started) engine->start();
  });
}

void ScopeDirectory::remove(const std::vector<std::string>& scopes) {
  for (const auto& name : scopes) {
    std::vector<std::shared_ptr<ScopeHandler>> handlers;
    {
      ReaderLock lock(mutex_);
      auto it = scopes_.find(name);
      if (it == scopes_.end()) continue;
      handlers = it->second;
    }
    for (auto& h : handlers) h->before_leaving_scope();
    {
      WriterLock lock(mutex_);
      auto it = scopes_.find(name);
      if (it == scopes_.end() || it->second != handlers) continue;  // removed meanwhile
      scopes_.erase(it);  // peers' messages for it are answered as for a scope never added
      retired_.insert(retired_.end(), handlers.begin(), handlers.end());
      last_left_[name] = handlers;
    }
    for (auto& h : handlers) h->engine().mark_removed();
    auto leave = [handlers] {
      std::uint64_t last = 0;
      for (const auto& h : handlers) {
        last = std::max(last, h->leave_scope());
        h->engine().leave_subcluster();
      }
      return last;
    };
    std::uint64_t last_callback = 0;
    if (host_->on_engine_thread()) {
      last_callback = leave();
    } else {
      auto done = std::make_shared<std::promise<std::uint64_t>>();
      auto future = done->get_future();
      host_->post([leave, done] { done->set_value(leave()); });
      try {
        last_callback = future.get();
      } catch (const std::future_error&) {
        return;  // the node stopped first: it left every scope anyway
      }
    }
    host_->wait_for_callback(last_callback);
  }
}

std::vector<std::string> ScopeDirectory::names() const {
  ReaderLock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, handlers] : scopes_) out.push_back(name);
  return out;
}

std::vector<std::string> ScopeDirectory::check_invariants() const {
  std::vector<std::pair<std::string, std::shared_ptr<ScopeHandler>>> handlers;
  {
    ReaderLock lock(mutex_);
    for (const auto& [scope, list] : scopes_) {
      for (const auto& h : list) handlers.emplace_back(scope, h);
    }
  }
  std::vector<std::string> broken;
  for (const auto& [scope, handler] : handlers) {
    for (auto& line : handler->check_invariants()) broken.push_back("scope " + scope + ": " + line);
  }
  return broken;
}

std::shared_ptr<ScopeHandler> ScopeDirectory::handler(Kind kind, std::string_view scope) const {
  ReaderLock lock(mutex_);
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) return nullptr;
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    if (kinds_[i].kind == kind) return it->second[i];
  }
  return nullptr;
}

std::vector<ScopeEngine*> ScopeDirectory::all_engines() const {
  std::vector<ScopeEngine*> engines;
  ReaderLock lock(mutex_);
  for (auto& [name, handlers] : scopes_) {
    for (auto& h : handlers) engines.push_back(&h->engine());
  }
  return engines;
}

bool ScopeDirectory::all_synced() const {
  for (auto* e : all_engines()) {
    if (!e->synced()) return false;
  }
  return true;
}

std::vector<std::pair<Kind, std::string>> ScopeDirectory::unsynced() const {
  std::vector<std::pair<Kind, std::string>> out;
  for (auto* e : all_engines()) {
    if (!e->synced()) out.emplace_back(static_cast<Kind>(e->address().kind), e->scope());
  }
  return out;
}

ScopeEngine* ScopeDirectory::engine(std::uint32_t kind, std::string_view scope) const {
  ReaderLock lock(mutex_);
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) return nullptr;
  for (std::size_t i = 0; i < kinds_.size(); ++i) {
    if (static_cast<std::uint32_t>(kinds_[i].kind) == kind) return &it->second[i]->engine();
  }
  return nullptr;
}

std::vector<std::string> ScopeDirectory::subcluster(Kind kind, std::string_view scope) const {
  auto* e = engine(static_cast<std::uint32_t>(kind), scope);
  if (!e) throw Error(Errc::invalid_scope, "this node has not added the scope '" + std::string(scope) + "'");
  return e->member_names();
}

void ScopeDirectory::on_peer_up(std::uint32_t atom) {
  assert(host_->on_engine_thread() && "ScopeDirectory: engine thread only");
  for (auto* e : all_engines()) e->on_peer_up(atom);
}

void ScopeDirectory::on_peer_down(std::uint32_t atom) { on_peers_down({atom}); }

void ScopeDirectory::on_peers_down(const std::vector<std::uint32_t>& atoms) {
  assert(host_->on_engine_thread() && "ScopeDirectory: engine thread only");
  for (auto atom : atoms) calls_->on_peer_down(atom);
  for (auto* e : all_engines()) e->on_peers_down(atoms);
}

void ScopeDirectory::on_engine_stopping() { calls_->fail_all(); }

void ScopeDirectory::on_scope_message(std::uint32_t from, wire::MsgType type, const msgpack::object& message) {
  assert(host_->on_engine_thread() && "ScopeDirectory: engine thread only");
  switch (type) {
    case wire::MsgType::discover: {
      auto address = wire::decode_discover(message);
      if (auto* e = engine(address.kind, address.scope)) {
        e->on_discover(from);
      } else if (host_->peer_protocol(from) >= wire::not_here_since) {
        host_->send_to_peer(from, [&](wire::OutBuffer& out) { wire::encode_not_here(out, address); });
      }
      return;
    }
    case wire::MsgType::not_here: {
      auto address = wire::decode_not_here(message);
      if (auto* e = engine(address.kind, address.scope)) e->on_not_here(from);
      return;
    }
    case wire::MsgType::ack_sync: {
      auto m = wire::decode_ack_sync(message);
      if (auto* e = engine(m.address.kind, m.address.scope)) e->on_ack_sync(from, m.last, *m.payload);
      return;
    }
    case wire::MsgType::scope: {
      auto m = wire::decode_scope_message(message);
      if (auto* e = engine(m.address.kind, m.address.scope)) e->on_scope_message(from, *m.payload);
      return;
    }
    case wire::MsgType::call: {
      auto m = wire::decode_call(message);
      if (auto* e = engine(m.address.kind, m.address.scope)) {
        e->on_call(from, m.request_id, *m.payload);
        return;
      }
      // This node is not in that scope (SPEC 3: invalid_remote_scope).
      host_->send_to_peer(from, [&](wire::OutBuffer& out) {
        wire::begin_reply(out, m.request_id, status_of(Errc::invalid_remote_scope));
        out.put(static_cast<char>(0xc0));
      });
      return;
    }
    default: throw wire::DecodeError("not a scope message");
  }
}

void ScopeDirectory::on_stopped() {
  std::map<std::string, std::vector<std::shared_ptr<ScopeHandler>>, std::less<>> scopes;
  std::vector<std::shared_ptr<ScopeHandler>> retired;
  {
    WriterLock lock(mutex_);
    scopes.swap(scopes_);
    retired.swap(retired_);
  }
  for (auto& h : retired) h->clear();
  for (auto& [name, handlers] : scopes) {
    for (auto& h : handlers) h->clear();
  }
}

}  // namespace syn::detail
