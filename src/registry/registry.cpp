// The public Registry handle: forwards to the scope's RegistryScope.
#include <syn/registry.hpp>

#include "node/scope_host.hpp"
#include "registry/registry_scope.hpp"
#include "scope/live_handle.hpp"
#include "scope/scope_directory.hpp"
#include "wire/meta_codec.hpp"

#include <syn/node.hpp>

namespace syn {

using detail::meta_term;

Registry Node::registry(std::string_view scope) {
  return Registry(scopes_->get<detail::RegistryScope>(Kind::registry, scope));
}

Result<void> Registry::register_name(const Term& name, const Pid& pid, Term meta) {
  return detail::current_handler(impl_).register_name(name, pid, std::move(meta), false);
}

Result<void> Registry::register_name(const Term& name, const Process& self, Term meta) {
  return detail::current_handler(impl_).register_name(name, self.pid(), std::move(meta), true);
}

Result<void> Registry::register_name(const Term& name, const Pid& pid, Term meta, Entry* holder) {
  auto& handler = detail::current_handler(impl_);
  if (!holder) return handler.register_name(name, pid, std::move(meta), false);
  auto seen = std::make_shared<std::optional<wire::entries::Holder>>();
  auto result = handler.register_name(name, pid, std::move(meta), false, seen);
  if (!result && result.error() == Errc::taken) {
    if (*seen) {
      *holder = Entry{(*seen)->pid, meta_term((*seen)->meta)};
    } else if (auto found = handler.lookup(name)) {
      *holder = std::move(*found);  // an authority of before holders travelled: our replica's
    }
  }
  return result;
}

std::vector<Term> Registry::names() const {
  std::vector<Term> out;
  live_handler(impl_).for_each(
      [&](std::string_view key, const Pid&, std::string_view) { out.push_back(wire::decode_canonical(key)); });
  return out;
}

void Registry::for_each(const std::function<void(const Term& name, const Entry& entry)>& fn) const {
  std::vector<std::pair<Term, Entry>> entries;
  live_handler(impl_).for_each([&](std::string_view key, const Pid& pid, std::string_view meta) {
    entries.emplace_back(wire::decode_canonical(key), Entry{pid, meta_term(meta)});
  });
  for (const auto& [name, entry] : entries) fn(name, entry);
}

std::future<Result<void>> Registry::register_name_async(const Term& name, const Pid& pid, Term meta) {
  return detail::current_handler(impl_).register_name_async(name, pid, std::move(meta));
}

Result<Entry> Registry::update(const Term& name, std::function<Term(const Pid&, const Term&)> fn) {
  return detail::current_handler(impl_).update(name, fn, nullptr);
}

Result<Entry> Registry::update(const Term& name, const Process& self, std::function<Term(const Pid&, const Term&)> fn) {
  return detail::current_handler(impl_).update(name, fn, &self.pid());
}

Result<void> Registry::unregister_name(const Term& name) {
  return detail::current_handler(impl_).unregister_name(name);
}

std::future<Result<void>> Registry::unregister_name_async(const Term& name) {
  return detail::current_handler(impl_).unregister_name_async(name);
}

std::optional<Entry> Registry::lookup(const Term& name) const { return live_handler(impl_).lookup(name); }
std::optional<Pid> Registry::whereis(const Term& name) const { return live_handler(impl_).whereis(name); }

bool Registry::send(const Term& name, Term message) {
  auto& handler = live_handler(impl_);
  auto pid = handler.whereis(name);
  if (!pid) {
    // An oversized name or message is refused whether or not the name is registered (SPEC 7),
    // as Node::send refuses the message when it is.
    handler.node().require_fits(name, "the name");
    handler.node().require_fits(message, "the message");
    return false;
  }
  handler.node().send(*pid, std::move(message));
  return true;
}

std::size_t Registry::count() const { return live_handler(impl_).count(); }
std::size_t Registry::count(std::string_view node) const {
  return live_handler(impl_).count(detail::intern_node_name(node));
}
std::size_t Registry::local_count() const { return live_handler(impl_).count(impl_->node().atom()); }
const std::string& Registry::scope() const { return impl_->scope(); }

}  // namespace syn
