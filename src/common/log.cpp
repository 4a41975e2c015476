#include "common/log.hpp"

#include "common/thread_safety.hpp"

#include <atomic>
#include <cstdlib>
#include <iostream>

namespace syn {
namespace {

LogLevel initial_level() {
  LogLevel level = LogLevel::warn;
  if (const char* env = std::getenv("SYN_LOG_LEVEL")) parse_log_level(env, level);
  return level;
}

std::atomic<LogLevel>& current_level() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

struct SinkHolder {
  detail::Mutex mutex;
  LogSink sink SYN_GUARDED_BY(mutex);
};
SinkHolder& sink_holder() {
  static SinkHolder* holder = new SinkHolder;  // never destroyed: threads may log at exit
  return *holder;
}

}  // namespace

void set_log_level(LogLevel level) { current_level().store(level); }
LogLevel log_level() { return current_level().load(); }

void set_log_sink(LogSink sink) {
  auto& holder = sink_holder();
  detail::MutexLock lock(holder.mutex);
  holder.sink = std::move(sink);
}

std::string_view to_string(LogLevel level) {
  switch (level) {
    case LogLevel::trace: return "trace";
    case LogLevel::debug: return "debug";
    case LogLevel::info: return "info";
    case LogLevel::warn: return "warn";
    case LogLevel::error: return "error";
    case LogLevel::off: return "off";
  }
  return "?";
}

bool parse_log_level(std::string_view text, LogLevel& level) {
  for (LogLevel l :
       {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
    if (text == to_string(l)) {
      level = l;
      return true;
    }
  }
  return false;
}

namespace detail {

bool log_enabled(LogLevel level) {
  return level != LogLevel::off && level >= current_level().load(std::memory_order_relaxed);
}

void log_line(LogLevel level, std::string_view node, const std::string& text) {
  std::string line;
  line.reserve(text.size() + node.size() + 16);
  line.append("syn[").append(node).append("] ").append(to_string(level)).append(": ").append(text);
  auto& holder = sink_holder();
  detail::MutexLock lock(holder.mutex);
  if (holder.sink) {
    try {
      holder.sink(level, line);
    } catch (...) {
      // A failing sink must not take the node down; the line is lost.
    }
  } else {
    std::cerr << line << '\n';
  }
}

}  // namespace detail
}  // namespace syn
