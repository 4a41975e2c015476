// Registry callbacks: queued on the node's dispatcher in the order the changes were applied.
// Terms are decoded there, off the caller's and the engine's threads.
#include "node/scope_host.hpp"
#include "registry/registry_scope.hpp"
#include "wire/meta_codec.hpp"

namespace syn::detail {

std::uint64_t RegistryScope::post_registered(std::string_view key, const Pid& pid, std::string_view meta,
                                             const Reason& reason) {
  auto handler = node_->event_handler(scope());
  if (!handler) return 0;
  return node_->post_callback(
      [handler, scope = scope(), key = std::string(key), pid, meta = std::string(meta), reason] {
        handler->on_process_registered(scope, wire::decode_canonical(key), pid, meta_term(meta), reason);
      });
}

std::uint64_t RegistryScope::post_updated(std::string_view key, const Pid& pid, std::string_view previous,
                                          std::string_view meta, const Reason& reason) {
  auto handler = node_->event_handler(scope());
  if (!handler) return 0;
  return node_->post_callback([handler, scope = scope(), key = std::string(key), pid, previous = std::string(previous),
                               meta = std::string(meta), reason] {
    handler->on_registry_process_updated(scope, wire::decode_canonical(key), pid, meta_term(previous), meta_term(meta),
                                         reason);
  });
}

std::uint64_t RegistryScope::post_unregistered(std::string_view key, const Pid& pid, std::string_view meta,
                                               const Reason& reason) {
  auto handler = node_->event_handler(scope());
  if (!handler) return 0;
  return node_->post_callback(
      [handler, scope = scope(), key = std::string(key), pid, meta = std::string(meta), reason] {
        handler->on_process_unregistered(scope, wire::decode_canonical(key), pid, meta_term(meta), reason);
      });
}

}  // namespace syn::detail
