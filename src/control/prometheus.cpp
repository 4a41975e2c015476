// syn::to_prometheus: the Prometheus text exposition format (0.0.4) of Node::metrics(). One
// family per metric, each with its HELP and TYPE lines; label values escaped as the format
// says; counters end in _total, durations are in seconds and sizes in bytes.
#include <syn/metrics.hpp>
#include <syn/version.hpp>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

namespace syn {

namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

/// The shortest text that reads back as `value` (so bounds print as 0.00025, not
/// 0.00025000000000000001).
std::string number(double value) {
  char text[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(text, sizeof text, "%.*g", precision, value);
    if (std::strtod(text, nullptr) == value) break;
  }
  return text;
}
std::string number(std::uint64_t value) { return std::to_string(value); }

using Labels = std::vector<std::pair<std::string, std::string>>;

/// One metric family being written: its header once, then its samples.
class Family {
 public:
  Family(std::string& out, const char* name, const char* type, const char* help) : out_(out), name_(name) {
    out_ += "# HELP " + name_ + " " + help + "\n# TYPE " + name_ + " " + type + "\n";
  }
  template <class V>
  void sample(const Labels& labels, V value, const char* suffix = "") {
    out_ += name_ + suffix;
    if (!labels.empty()) {
      out_ += '{';
      for (std::size_t i = 0; i < labels.size(); ++i) {
        if (i) out_ += ',';
        out_ += labels[i].first + "=\"" + escape_label(labels[i].second) + "\"";
      }
      out_ += '}';
    }
    out_ += ' ' + number(value) + '\n';
  }

 private:
  std::string& out_;
  std::string name_;
};

template <class Get>
void per_scope(std::string& out, const Metrics& m, const char* name, const char* type, const char* help, Get get) {
  Family f(out, name, type, help);
  for (const auto& s : m.scopes) f.sample({{"scope", s.scope}}, get(s));
}

template <class Get>
void per_peer(std::string& out, const Metrics& m, const char* name, const char* help, Get get,
              const char* type = "counter") {
  Family f(out, name, type, help);
  for (const auto& p : m.peers) f.sample({{"peer", p.node}}, get(p));
}

}  // namespace

std::string to_prometheus(const Metrics& m) {
  std::string out;
  Family(out, "syn_node_info", "gauge", "This node: its name, incarnation and library version (always 1).")
      .sample({{"node", m.node}, {"creation", std::to_string(m.creation)}, {"version", syn::version}},
              std::uint64_t{1});
  Family(out, "syn_ready", "gauge", "1 when the node is ready (SPEC 9): a seed reached, every scope synced.")
      .sample({}, std::uint64_t{m.ready ? 1u : 0u});
  Family(out, "syn_processes", "gauge", "Local processes alive.").sample({}, m.processes);

  const std::pair<const char*, std::uint64_t> counters[] = {
      {"syn_frames_received_total", m.stats.frames_received},
      {"syn_frames_sent_total", m.stats.frames_sent},
      {"syn_malformed_frames_total", m.stats.malformed_frames},
      {"syn_refused_peers_total", m.stats.refused_peers},
      {"syn_link_resets_total", m.stats.link_resets},
      {"syn_connections_lost_total", m.stats.connections_lost},
      {"syn_oversized_terms_total", m.stats.oversized_terms},
  };
  for (const auto& [name, value] : counters) {
    Family(out, name, "counter", "Node counter (NodeStats).").sample({}, value);
  }

  per_scope(out, m, "syn_registry_entries", "gauge", "Names in this node's replica of the scope.",
            [](const ScopeMetrics& s) { return s.registry_entries; });
  per_scope(out, m, "syn_registry_local_entries", "gauge", "Names held by this node's processes.",
            [](const ScopeMetrics& s) { return s.registry_local_entries; });
  per_scope(out, m, "syn_groups", "gauge", "Groups with at least one member.",
            [](const ScopeMetrics& s) { return s.groups; });
  per_scope(out, m, "syn_groups_members", "gauge", "Group memberships in this node's replica of the scope.",
            [](const ScopeMetrics& s) { return s.groups_members; });
  per_scope(out, m, "syn_groups_local_members", "gauge", "Group memberships of this node's processes.",
            [](const ScopeMetrics& s) { return s.groups_local_members; });
  per_scope(out, m, "syn_multicast_groups", "gauge", "Multicast groups with a member on this node.",
            [](const ScopeMetrics& s) { return s.multicast_groups; });
  {
    Family f(out, "syn_writes_total", "counter", "Write calls made on this node, by call.");
    for (const auto& s : m.scopes) {
      for (const auto& [call, n] : s.writes) f.sample({{"scope", s.scope}, {"call", call}}, n);
    }
  }
  {
    Family f(out, "syn_registry_conflicts_total", "counter", "Registry conflicts this node resolved, by outcome.");
    for (const auto& s : m.scopes) {
      for (const auto& [outcome, n] : s.conflicts) f.sample({{"scope", s.scope}, {"outcome", outcome}}, n);
    }
  }
  per_scope(out, m, "syn_registry_conflict_kills_total", "counter",
            "Processes the default conflict resolver killed on this node.",
            [](const ScopeMetrics& s) { return s.kills; });
  per_scope(out, m, "syn_purges_total", "counter", "Nodes whose entries were purged (down or gone), all kinds.",
            [](const ScopeMetrics& s) { return s.purges; });
  per_scope(out, m, "syn_snapshots_received_total", "counter", "Peers' snapshots applied, all kinds.",
            [](const ScopeMetrics& s) { return s.snapshots_in; });
  per_scope(out, m, "syn_snapshots_sent_total", "counter", "Snapshots sent to peers, all kinds.",
            [](const ScopeMetrics& s) { return s.snapshots_out; });
  per_scope(out, m, "syn_snapshot_sent_bytes_total", "counter", "Bytes of snapshots sent to peers.",
            [](const ScopeMetrics& s) { return s.snapshot_bytes_out; });
  per_scope(out, m, "syn_snapshot_received_bytes_total", "counter", "Bytes of peers' snapshots applied.",
            [](const ScopeMetrics& s) { return s.snapshot_bytes_in; });
  per_scope(out, m, "syn_snapshot_waits_total", "counter",
            "Times a snapshot stream paused for a peer with much of what it was sent unread.",
            [](const ScopeMetrics& s) { return s.snapshot_waits; });
  per_scope(out, m, "syn_snapshot_receive_seconds_total", "counter",
            "Time from the first chunk of a peer's snapshot to its last, summed.",
            [](const ScopeMetrics& s) { return s.snapshot_seconds_in; });
  per_scope(out, m, "syn_snapshot_send_seconds_total", "counter",
            "Time from sending the first chunk of a snapshot to its last, summed.",
            [](const ScopeMetrics& s) { return s.snapshot_seconds_out; });

  {
    Family f(out, "syn_peer_up", "gauge", "1 while the link to the peer is up.");
    for (const auto& p : m.peers) f.sample({{"peer", p.node}}, std::uint64_t{p.up ? 1u : 0u});
  }
  {
    Family f(out, "syn_peer_downs_total", "counter", "Links to the peer that ended, by reason.");
    for (const auto& p : m.peers) {
      for (const auto& [reason, n] : p.downs) f.sample({{"peer", p.node}, {"reason", reason}}, n);
    }
  }
  per_peer(
      out, m, "syn_peer_protocol_version", "The wire protocol version the link runs (0 while down).",
      [](const PeerMetrics& p) { return std::uint64_t{p.protocol}; }, "gauge");
  per_peer(out, m, "syn_peer_frames_received_total", "Frames received from the peer.",
           [](const PeerMetrics& p) { return p.frames_in; });
  per_peer(out, m, "syn_peer_frames_sent_total", "Frames sent to the peer.",
           [](const PeerMetrics& p) { return p.frames_out; });
  per_peer(out, m, "syn_peer_received_bytes_total", "Bytes received from the peer.",
           [](const PeerMetrics& p) { return p.bytes_in; });
  per_peer(out, m, "syn_peer_sent_bytes_total", "Bytes sent to the peer.",
           [](const PeerMetrics& p) { return p.bytes_out; });
  per_peer(
      out, m, "syn_peer_unread_bytes",
      "Bytes sent to the peer that it has not said it read (max_link_backlog bounds it).",
      [](const PeerMetrics& p) { return p.unread_bytes; }, "gauge");

  {
    Family f(out, "syn_queue_depth", "gauge", "Items waiting in a queue of the node.");
    for (const auto& q : m.queues) f.sample({{"queue", q.queue}}, q.depth);
  }
  {
    Family f(out, "syn_queue_high_water", "gauge", "The most items a queue of the node ever held.");
    for (const auto& q : m.queues) f.sample({{"queue", q.queue}}, q.high_water);
  }
  {
    const auto& h = m.call_duration_seconds;
    Family f(out, "syn_call_duration_seconds", "histogram",
             "Calls to other nodes' handlers (writes routed to their authority), until the answer or the timeout.");
    for (std::size_t i = 0; i < h.bounds.size() && i < h.buckets.size(); ++i) {
      f.sample({{"le", number(h.bounds[i])}}, h.buckets[i], "_bucket");
    }
    f.sample({{"le", "+Inf"}}, h.count, "_bucket");
    f.sample({}, h.sum, "_sum");
    f.sample({}, h.count, "_count");
  }
  return out;
}

}  // namespace syn
