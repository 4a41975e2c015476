#pragma once
// Internal logging: SYN_LOG(warn, node_name, "text ", value, ...) builds the line only when
// the level is enabled. The component is the folder of the file that logs (transport,
// registry, ...); SYN_LOG_PEER and SYN_LOG_SCOPE also name the peer or the scope concerned.
#include <syn/log.hpp>

#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>

namespace syn::detail {

bool log_enabled(LogLevel level);

/// Where a line comes from and what it concerns (all but the node optional).
struct LogSource {
  std::string_view node;
  const char* file = "";  ///< __FILE__: the folder it is in is the component
  std::string_view peer;
  std::string_view scope;
  /// The caller limits how often this line is logged (RefusalLog): the repeat limit of
  /// log_line leaves it alone, and `suppressed` (lines like it the caller left out since it
  /// last logged one) goes to LogRecord::suppressed.
  bool counted_by_caller = false;
  std::uint64_t suppressed = 0;
};

void log_line(LogLevel level, const LogSource& source, const std::string& text);

template <class... Args>
void log(LogLevel level, const LogSource& source, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, source, out.str());
}

/// The component of a source file, the folder it is in: "transport" for
/// ".../src/transport/gate.cpp".
std::string_view component_of(std::string_view file);

}  // namespace syn::detail

#define SYN_LOG(level, node, ...) \
  ::syn::detail::log(::syn::LogLevel::level, ::syn::detail::LogSource{node, __FILE__, {}, {}}, __VA_ARGS__)
#define SYN_LOG_PEER(level, node, peer, ...) \
  ::syn::detail::log(::syn::LogLevel::level, ::syn::detail::LogSource{node, __FILE__, peer, {}}, __VA_ARGS__)
#define SYN_LOG_SCOPE(level, node, scope, ...) \
  ::syn::detail::log(::syn::LogLevel::level, ::syn::detail::LogSource{node, __FILE__, {}, scope}, __VA_ARGS__)
/// A line whose caller rate-limits it: `suppressed` lines like it were left out before it.
#define SYN_LOG_COUNTED(level, node, peer, suppressed, ...) \
  ::syn::detail::log(level, ::syn::detail::LogSource{node, __FILE__, peer, {}, true, suppressed}, __VA_ARGS__)
