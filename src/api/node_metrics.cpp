// Node::metrics(): a snapshot of the node's counters and gauges (SPEC 9), read part by part
// from where they live (tables, scope engines, the transport, the queues, the call table).
#include <syn/metrics.hpp>

#include "node/node_core.hpp"
#include "scope/call_table.hpp"
#include "scope/scope_directory.hpp"
#include "scope/scope_engine.hpp"

namespace syn {

namespace {

void add_counters(ScopeMetrics& out, const detail::ScopeCounters& c) {
  for (std::size_t i = 0; i < c.writes.size(); ++i) {
    out.writes[detail::kWriteCallNames[i]] += c.writes[i].load(std::memory_order_relaxed);
  }
  for (std::size_t i = 0; i < c.conflicts.size(); ++i) {
    out.conflicts[detail::kConflictOutcomeNames[i]] += c.conflicts[i].load(std::memory_order_relaxed);
  }
  out.kills += c.kills.load(std::memory_order_relaxed);
  out.purges += c.purges.load(std::memory_order_relaxed);
  out.snapshots_in += c.snapshots_in.load(std::memory_order_relaxed);
  out.snapshots_out += c.snapshots_out.load(std::memory_order_relaxed);
  out.snapshot_bytes_out += c.snapshot_bytes_out.load(std::memory_order_relaxed);
  out.snapshot_bytes_in += c.snapshot_bytes_in.load(std::memory_order_relaxed);
  out.snapshot_waits += c.snapshot_waits.load(std::memory_order_relaxed);
  out.snapshot_seconds_in += static_cast<double>(c.snapshot_nanos_in.load(std::memory_order_relaxed)) * 1e-9;
  out.snapshot_seconds_out += static_cast<double>(c.snapshot_nanos_out.load(std::memory_order_relaxed)) * 1e-9;
}

ScopeMetrics scope_metrics(Node& node, const std::string& scope) {
  ScopeMetrics out;
  out.scope = scope;
  auto registry = node.registry(scope);
  out.registry_entries = registry.count();
  out.registry_local_entries = registry.local_count();
  auto groups = node.groups(scope);
  for (const auto& group : groups.group_names()) {
    ++out.groups;
    out.groups_members += groups.member_count(group);
    out.groups_local_members += groups.local_member_count(group);
  }
  out.multicast_groups = node.multicast(scope).group_names().size();
  for (auto kind : {Kind::registry, Kind::groups, Kind::multicast}) {
    if (const auto* engine = node.scope_directory()->find_engine(kind, scope)) add_counters(out, engine->counters());
  }
  return out;
}

}  // namespace

Metrics Node::metrics() const {
  // The scope handles are reached through non-const accessors; everything here only reads.
  auto& self = const_cast<Node&>(*this);
  Metrics m;
  m.node = name();
  m.creation = creation();
  m.ready = ready();
  m.processes = core_->process_count();
  m.stats = stats();
  for (const auto& scope : node_scopes()) {
    try {
      m.scopes.push_back(scope_metrics(self, scope));
    } catch (const Error&) {
      // Added and not yet running: it shows at the next scrape.
    }
  }
  for (const auto& link : core_->links()) {
    PeerMetrics p;
    p.node = link.name;
    p.up = link.up;
    p.downs = link.downs_by_reason;
    p.frames_in = link.frames_in;
    p.frames_out = link.frames_out;
    p.bytes_in = link.bytes_in;
    p.bytes_out = link.bytes_out;
    p.protocol = link.protocol;
    p.unread_bytes = link.unread_bytes;
    m.peers.push_back(std::move(p));
  }
  auto engine = core_->engine().depth();
  auto dispatcher = core_->dispatcher().depth();
  m.queues.push_back({"engine", engine.depth, engine.high_water});
  m.queues.push_back({"dispatcher", dispatcher.depth, dispatcher.high_water});
  auto [waiting, deepest] = core_->mailbox_depths();
  m.queues.push_back({"mailboxes", waiting, deepest});
  const auto& latency = scopes_->calls().latency();
  auto counts = latency.counts();
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < detail::LatencyHistogram::kBounds.size(); ++i) {
    cumulative += counts[i];
    m.call_duration_seconds.bounds.push_back(detail::LatencyHistogram::kBounds[i]);
    m.call_duration_seconds.buckets.push_back(cumulative);
  }
  m.call_duration_seconds.count = cumulative + counts.back();
  m.call_duration_seconds.sum = latency.sum_seconds();
  return m;
}

}  // namespace syn
