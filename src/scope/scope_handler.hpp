#pragma once
// The interface between the generic scope engine and a handler kind (registry, groups).
// Every method runs on the engine thread.
#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string_view>

namespace syn::detail {

class ScopeHandler {
 public:
  virtual ~ScopeHandler() = default;

  /// How many parts a snapshot of this node's local data has (a fixed number, e.g. shards).
  virtual std::size_t snapshot_parts() const = 0;
  /// Writes one part of this node's local data as snapshot chunks; each chunk is one msgpack
  /// value, bounded in bytes (a receiver applies one per message). The engine streams the
  /// parts over several loop turns, so changes made meanwhile reach the peer between chunks
  /// (see ScopeEngine::send_snapshot).
  virtual void write_snapshot_part(std::size_t part, const std::function<void(std::string_view chunk)>& emit_chunk) = 0;
  /// A snapshot from `from` begins (its first chunk arrived).
  virtual void begin_remote_snapshot(std::uint32_t from) = 0;
  /// One chunk of the snapshot of `from`. Throws wire::DecodeError when malformed.
  virtual void apply_snapshot_chunk(std::uint32_t from, const msgpack::object& chunk) = 0;
  /// The snapshot of `from` is complete: what it did not contain is stale.
  virtual void end_remote_snapshot(std::uint32_t from) = 0;
  /// `node` went down or left the subcluster: remove everything of it.
  virtual void purge_node(std::uint32_t node) = 0;
  /// A replicated change from subcluster member `from`. Throws wire::DecodeError when malformed.
  virtual void on_replicated(std::uint32_t from, const msgpack::object& payload) = 0;
  /// A call routed here (this node runs the pid); answer with ScopeEngine::reply.
  virtual void on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) = 0;
};

}  // namespace syn::detail
