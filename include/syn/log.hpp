#pragma once
/// \file
/// Logging: quiet by default (warnings and errors to stderr).

#include <functional>
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

/// "trace", "debug", ...; and back (nullopt-like: returns false on an unknown name).
std::string_view to_string(LogLevel level);
bool parse_log_level(std::string_view text, LogLevel& level);

}  // namespace syn
