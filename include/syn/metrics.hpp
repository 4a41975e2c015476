#pragma once
/// \file
/// Metrics (SPEC 9): a snapshot of a node's counters and gauges (Node::metrics()) and its
/// Prometheus text form (to_prometheus). Names follow Prometheus conventions: the prefix
/// `syn_`, `_total` for counters, base units (seconds, bytes).
#include <syn/node.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace syn {

/// A latency histogram: counts per upper bound (cumulative, as Prometheus wants them).
struct Histogram {
  std::vector<double> bounds{};          ///< upper bounds in seconds, ascending (+Inf implied)
  std::vector<std::uint64_t> buckets{};  ///< observations <= bounds[i], cumulative
  std::uint64_t count = 0;               ///< every observation (the +Inf bucket)
  double sum = 0;                        ///< their sum, in seconds
};

/// One scope of the node (every kind).
struct ScopeMetrics {
  std::string scope{};
  std::uint64_t registry_entries = 0;                ///< names in this node's replica
  std::uint64_t registry_local_entries = 0;          ///< of which held by this node's processes
  std::uint64_t groups = 0;                          ///< groups with a member
  std::uint64_t groups_members = 0;                  ///< memberships, all groups
  std::uint64_t groups_local_members = 0;            ///< of which by this node's processes
  std::uint64_t multicast_groups = 0;                ///< multicast groups with a member here
  std::map<std::string, std::uint64_t> writes{};     ///< calls made here, by call ("register", "join", ...)
  std::map<std::string, std::uint64_t> conflicts{};  ///< registry conflicts resolved here, by outcome
  std::uint64_t kills = 0;                           ///< processes the default conflict resolver killed here
  std::uint64_t purges = 0;                          ///< nodes whose entries were purged (down or gone)
  std::uint64_t snapshots_in = 0;                    ///< peers' snapshots applied (all kinds)
  std::uint64_t snapshots_out = 0;                   ///< snapshots sent to peers (all kinds)
  std::uint64_t snapshot_bytes_out = 0;              ///< bytes of the chunks sent
  std::uint64_t snapshot_bytes_in = 0;               ///< bytes of the peers' chunks applied
  /// Times a snapshot stream paused for a peer with much unread (NodeOptions::max_link_backlog).
  std::uint64_t snapshot_waits = 0;
  double snapshot_seconds_in = 0;   ///< time from a snapshot's first chunk to its last, summed
  double snapshot_seconds_out = 0;  ///< time from sending a snapshot's first chunk to its last, summed
};

/// One peer the node knows.
struct PeerMetrics {
  std::string node{};
  bool up = false;
  std::map<std::string, std::uint64_t> downs{};  ///< links ended, by reason ("timeout", "left", ...)
  std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0;
  std::uint32_t protocol = 0;  ///< the protocol version the link runs (0 when down)
  /// Bytes sent to it that it has not said it read yet (NodeOptions::max_link_backlog bounds
  /// it; 0 when down, or when the peer's build does not say: protocol before 5).
  std::uint64_t unread_bytes = 0;
};

/// A queue of the node: how deep now, how deep at most.
struct QueueMetrics {
  std::string queue{};  ///< "engine", "dispatcher", "mailboxes"
  std::uint64_t depth = 0;
  std::uint64_t high_water = 0;
};

/// Node::metrics(): everything at one instant (each part read on its own, without stopping
/// the node).
struct Metrics {
  std::string node{};
  std::uint32_t creation = 0;
  bool ready = false;
  std::uint64_t processes = 0;  ///< local processes alive
  NodeStats stats{};
  std::vector<ScopeMetrics> scopes{};
  std::vector<PeerMetrics> peers{};
  std::vector<QueueMetrics> queues{};
  Histogram call_duration_seconds{};  ///< calls to other nodes' handlers, answer or timeout
};

/// The metrics in the Prometheus text exposition format (version 0.0.4).
std::string to_prometheus(const Metrics& metrics);

}  // namespace syn
