#pragma once
/// \file
/// A timed phase: work commands on some nodes all begin at one instant (start_at), watch
/// commands on every node report when each first saw the expected state; the phase lasts from
/// start_at to the last of those moments.

#include "driver/cluster.hpp"

#include <syn/term.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace syn::bench {

/// A command for node `node` of the cluster.
struct Step {
  std::size_t node;
  std::string cmd;
  Term args;
};

/// What a phase measured.
struct PhaseResult {
  std::int64_t start_at = 0;                  ///< the common start (monotonic ns)
  std::int64_t last_seen = 0;                 ///< the last watch's moment
  double seconds = 0;                         ///< last_seen - start_at
  std::vector<Term> work;                     ///< answers of the work steps, in order
  std::vector<Term> watches;                  ///< answers of the watch steps, in order
  std::vector<double> cpu_seconds;            ///< CPU time each node used during the phase (all threads)
  std::vector<std::int64_t> frames_sent;      ///< ZeroMQ messages each node sent during the phase
  std::vector<std::int64_t> frames_received;  ///< and received
  std::int64_t link_resets = 0;               ///< links reset (a peer could not keep up)
  /// CPU seconds of every node together.
  double cpu_total() const;
  /// Seconds from start_at to the last work step's "t_end" (the callers' own view).
  double work_seconds() const;
  /// Compact JSON for the record: seconds, per-node seen offsets, call tallies.
  Term to_json() const;
};

/// Watch on node `node` until `what` (reg_count, reg_count_node, member_count, connected)
/// equals `target`; `extra` adds group / node.
Step watch_step(std::size_t node, const std::string& what, std::int64_t target, Term extra = Term::object());

/// Runs a phase: sends the watches (with timeout_ms), then the work steps with a common
/// start_at `lead` from now, and awaits everything within `timeout`. Throws
/// std::runtime_error naming the node when a step fails; warns on stderr when a work step
/// began late. Checks that no work call failed unless `allow_call_errors`.
PhaseResult run_phase(Cluster& cluster, std::vector<Step> work, std::vector<Step> watches,
                      std::chrono::milliseconds timeout, bool allow_call_errors = false,
                      std::chrono::milliseconds lead = std::chrono::milliseconds(150));

/// Sends every step at once and awaits every answer (untimed setup).
std::vector<Term> run_all(Cluster& cluster, const std::vector<Step>& steps,
                          std::chrono::milliseconds timeout = std::chrono::seconds(120));

}  // namespace syn::bench
