#pragma once
// Rate-limited warnings about refused connections: an intruder that redials in a loop must
// not flood the log. A line per key (where and what kind of refusal) at most once a minute;
// the lines suppressed meanwhile are counted and reported with the next one.
#include "common/clock.hpp"

#include <syn/log.hpp>

#include <chrono>
#include <cstdint>
#include <string>
#include <unordered_map>

namespace syn::transport {

/// The key shared by the refusals a node without the cluster key, or a key where the other has
/// none, causes on either side (a mismatch, or a connection that ends during its handshake).
inline constexpr const char* kHandshakeRefusal = "handshake";

class RefusalLog {
 public:
  explicit RefusalLog(std::string node_name, std::chrono::milliseconds period = std::chrono::minutes(1))
      : node_name_(std::move(node_name)), period_(period) {}

  /// Logs `text` (a warning, or `level`; `peer` in the record's peer field when known) unless
  /// a line with the same `key` was logged less than a period ago (then only counts it; the
  /// next line logged says how many in LogRecord::suppressed). Returns whether it logged.
  bool refused(const std::string& key, const std::string& text, detail::TimePoint now, LogLevel level = LogLevel::warn,
               const std::string& peer = {});

 private:
  struct Slot {
    detail::TimePoint logged_at;
    std::uint64_t suppressed = 0;
  };
  std::string node_name_;
  std::chrono::milliseconds period_;
  std::unordered_map<std::string, Slot> slots_;  // bounded: see refused()
};

}  // namespace syn::transport
