#include "scope/scope_directory.hpp"

#include "common/log.hpp"
#include "node/call_table.hpp"
#include "node/node_core.hpp"
#include "groups/groups_scope.hpp"
#include "registry/registry_scope.hpp"
#include "scope/scope_engine.hpp"

#include <syn/errors.hpp>

#include <mutex>

namespace syn::detail {

ScopeDirectory::~ScopeDirectory() = default;

void ScopeDirectory::add(const std::vector<std::string>& scopes) {
  std::vector<ScopeEngine*> started;
  {
    std::unique_lock lock(mutex_);
    for (const auto& name : scopes) {
      if (name.empty()) throw Error(Errc::bad_argument, "a scope name must not be empty");
      if (scopes_.count(name)) continue;
      Scope scope;
      scope.registry = std::make_shared<RegistryScope>(node_.shared_from_this(), name);
      scope.groups = std::make_shared<GroupsScope>(node_.shared_from_this(), name);
      started.push_back(&scope.registry->engine());
      started.push_back(&scope.groups->engine());
      scopes_.emplace(name, std::move(scope));
    }
  }
  if (started.empty()) return;
  node_.engine().post([started] {
    for (auto* engine : started) engine->start();
  });
}

std::vector<std::string> ScopeDirectory::names() const {
  std::shared_lock lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, scope] : scopes_) out.push_back(name);
  return out;
}

std::shared_ptr<RegistryScope> ScopeDirectory::registry(std::string_view scope) const {
  std::shared_lock lock(mutex_);
  auto it = scopes_.find(scope);
  return it == scopes_.end() ? nullptr : it->second.registry;
}

std::shared_ptr<GroupsScope> ScopeDirectory::groups(std::string_view scope) const {
  std::shared_lock lock(mutex_);
  auto it = scopes_.find(scope);
  return it == scopes_.end() ? nullptr : it->second.groups;
}

std::vector<ScopeEngine*> ScopeDirectory::all_engines() const {
  std::vector<ScopeEngine*> engines;
  std::shared_lock lock(mutex_);
  for (auto& [name, scope] : scopes_) {
    engines.push_back(&scope.registry->engine());
    engines.push_back(&scope.groups->engine());
  }
  return engines;
}

ScopeEngine* ScopeDirectory::engine(std::uint32_t kind, std::string_view scope) const {
  std::shared_lock lock(mutex_);
  auto it = scopes_.find(scope);
  if (it == scopes_.end()) return nullptr;
  if (kind == static_cast<std::uint32_t>(Kind::registry)) return &it->second.registry->engine();
  if (kind == static_cast<std::uint32_t>(Kind::groups)) return &it->second.groups->engine();
  return nullptr;
}

std::vector<std::string> ScopeDirectory::subcluster(Kind kind, std::string_view scope) const {
  auto* e = engine(static_cast<std::uint32_t>(kind), scope);
  if (!e) throw Error(Errc::invalid_scope, "this node has not added the scope '" + std::string(scope) + "'");
  return e->member_names();
}

void ScopeDirectory::on_peer_up(std::uint32_t atom) {
  for (auto* e : all_engines()) e->on_peer_up(atom);
}

void ScopeDirectory::on_peer_down(std::uint32_t atom) {
  for (auto* e : all_engines()) e->on_peer_down(atom);
}

void ScopeDirectory::on_message(std::uint32_t from, wire::MsgType type, const msgpack::object& message) {
  switch (type) {
    case wire::MsgType::discover: {
      auto address = wire::decode_discover(message);
      if (auto* e = engine(address.kind, address.scope)) e->on_discover(from);
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
      node_.send_to_peer(from, [&](wire::OutBuffer& out) {
        wire::begin_reply(out, m.request_id, status_of(Errc::invalid_remote_scope));
        out.put(static_cast<char>(0xc0));
      });
      return;
    }
    default: throw wire::DecodeError("not a scope message");
  }
}

void ScopeDirectory::clear() {
  std::map<std::string, Scope, std::less<>> scopes;
  {
    std::unique_lock lock(mutex_);
    scopes.swap(scopes_);
  }
  for (auto& [name, scope] : scopes) {
    scope.registry->clear();
    scope.groups->clear();
  }
}

}  // namespace syn::detail
