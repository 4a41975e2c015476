#pragma once
// Internal logging: SYN_LOG(warn, node_name, "text ", value, ...) builds the line only when
// the level is enabled.
#include <syn/log.hpp>

#include <sstream>
#include <string>
#include <string_view>

namespace syn::detail {

bool log_enabled(LogLevel level);
void log_line(LogLevel level, std::string_view node, const std::string& text);

template <class... Args>
void log(LogLevel level, std::string_view node, const Args&... args) {
  if (!log_enabled(level)) return;
  std::ostringstream out;
  (out << ... << args);
  log_line(level, node, out.str());
}

}  // namespace syn::detail

#define SYN_LOG(level, node, ...) ::syn::detail::log(::syn::LogLevel::level, node, __VA_ARGS__)
