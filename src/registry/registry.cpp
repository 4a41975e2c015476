// The public Registry handle: forwards to the scope's RegistryScope.
#include <syn/registry.hpp>

#include "node/scope_host.hpp"
#include "registry/registry_scope.hpp"
#include "scope/scope_directory.hpp"

#include <syn/node.hpp>

namespace syn {

Registry Node::registry(std::string_view scope) {
  return Registry(scopes_->get<detail::RegistryScope>(Kind::registry, scope));
}

Result<void> Registry::register_name(const Term& name, const Pid& pid, Term meta) {
  return impl_->register_name(name, pid, std::move(meta), false);
}

Result<void> Registry::register_name(const Term& name, const Process& self, Term meta) {
  return impl_->register_name(name, self.pid(), std::move(meta), true);
}

std::future<Result<void>> Registry::register_name_async(const Term& name, const Pid& pid, Term meta) {
  return impl_->register_name_async(name, pid, std::move(meta));
}

Result<Entry> Registry::update(const Term& name, std::function<Term(const Pid&, const Term&)> fn) {
  return impl_->update(name, fn, nullptr);
}

Result<Entry> Registry::update(const Term& name, const Process& self, std::function<Term(const Pid&, const Term&)> fn) {
  return impl_->update(name, fn, &self.pid());
}

Result<void> Registry::unregister_name(const Term& name) { return impl_->unregister_name(name); }

std::future<Result<void>> Registry::unregister_name_async(const Term& name) {
  return impl_->unregister_name_async(name);
}

std::optional<Entry> Registry::lookup(const Term& name) const { return impl_->lookup(name); }
std::optional<Pid> Registry::whereis(const Term& name) const { return impl_->whereis(name); }

bool Registry::send(const Term& name, Term message) {
  auto pid = impl_->whereis(name);
  if (!pid) return false;
  impl_->node().send(*pid, std::move(message));
  return true;
}

std::size_t Registry::count() const { return impl_->count(); }
std::size_t Registry::count(std::string_view node) const { return impl_->count(detail::intern_node_name(node)); }
std::size_t Registry::local_count() const { return impl_->count(impl_->node().atom()); }
const std::string& Registry::scope() const { return impl_->scope(); }

}  // namespace syn
