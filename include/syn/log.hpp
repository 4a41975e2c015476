#pragma once
/// \file
/// Logging: quiet by default (warnings and errors to stderr).

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

namespace syn {

/// Severity of a log line.
enum class LogLevel { trace, debug, info, warn, error, off };

/// The lowest level written (default warn, or the SYN_LOG_LEVEL environment variable:
/// trace, debug, info, warn, error, off). Process-wide.
void set_log_level(LogLevel level);
LogLevel log_level();

/// Receives every log line at or above the level instead of stderr; nullptr restores stderr.
/// Called from syn's threads, possibly concurrently: make it thread-safe. Lines name the node.
using LogSink = std::function<void(LogLevel level, std::string_view line)>;
void set_log_sink(LogSink sink);

/// One log line as fields (SPEC 9). The views last as long as the call to the sink.
struct LogRecord {
  LogLevel level = LogLevel::info;
  std::int64_t time_ns = 0;      ///< wall clock, nanoseconds since the Unix epoch
  std::string_view node{};       ///< the node that logged it
  std::string_view component{};  ///< the part of syn: "transport", "registry", "multicast", ...
  std::string_view peer{};       ///< the other node it concerns, or empty
  std::string_view scope{};      ///< the scope it concerns, or empty
  std::string_view text{};
  /// A warning or error repeated with the same text within a minute is logged once; the next
  /// time it is logged, this says how many were left out meanwhile.
  std::uint64_t suppressed = 0;
};

/// Receives every log record at or above the level, instead of stderr and instead of a
/// LogSink; nullptr restores them. Same threading rules as LogSink.
using LogRecordSink = std::function<void(const LogRecord& record)>;
void set_log_record_sink(LogRecordSink sink);

/// A record as one JSON object on one line (no newline): {"time":"2026-12-05T04:12:31.123Z",
/// "level":"warn","node":...,"component":...,"peer"?,"scope"?,"text":...,"suppressed"?}.
std::string to_json_line(const LogRecord& record);

/// A sink writing each record as a JSON line to `stream` (stderr by default), whole lines
/// even from several threads: set_log_record_sink(syn::json_lines_sink()).
LogRecordSink json_lines_sink(std::FILE* stream = stderr);

/// "trace", "debug", ...; and back (nullopt-like: returns false on an unknown name).
std::string_view to_string(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& level);

}  // namespace syn
