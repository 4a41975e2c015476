#pragma once
// The scopes a node has joined: one registry handler and one groups handler per scope, each
// with its scope engine, and the routing of scope messages from peers to them.
#include "wire/messages.hpp"

#include <syn/node.hpp>

#include <map>
#include <memory>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::detail {

class NodeCore;
class RegistryScope;
class GroupsScope;
class ScopeEngine;

class ScopeDirectory {
 public:
  explicit ScopeDirectory(NodeCore& node) : node_(node) {}
  ~ScopeDirectory();

  /// Any thread: adds scopes (idempotent) and starts their discovery on the engine thread.
  void add(const std::vector<std::string>& scopes);
  std::vector<std::string> names() const;
  std::shared_ptr<RegistryScope> registry(std::string_view scope) const;
  std::shared_ptr<GroupsScope> groups(std::string_view scope) const;
  /// Members of the subcluster; throws Error{invalid_scope}.
  std::vector<std::string> subcluster(Kind kind, std::string_view scope) const;

  // ---- engine thread ----
  void on_peer_up(std::uint32_t atom);
  void on_peer_down(std::uint32_t atom);
  /// Routes discover / ack_sync / scope / call messages.
  void on_message(std::uint32_t from, wire::MsgType type, const msgpack::object& message);
  /// Node shutdown: every handler drops its data; the directory lets go of them.
  void clear();

 private:
  struct Scope {
    std::shared_ptr<RegistryScope> registry;
    std::shared_ptr<GroupsScope> groups;
  };
  ScopeEngine* engine(std::uint32_t kind, std::string_view scope) const;
  std::vector<ScopeEngine*> all_engines() const;

  NodeCore& node_;
  mutable std::shared_mutex mutex_;
  std::map<std::string, Scope, std::less<>> scopes_;
};

}  // namespace syn::detail
