#include "common/log.hpp"

#include "common/thread_safety.hpp"

#include <nlohmann/json.hpp>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <unordered_map>
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

/// How long a repeated warning stays quiet after it was logged.
constexpr auto kRepeatWindow = std::chrono::minutes(1);
/// Repeated lines remembered at most (a burst of distinct ones forgets the oldest window).
constexpr std::size_t kMaxRemembered = 4096;

struct Repeat {
  std::chrono::steady_clock::time_point logged_at;
  std::uint64_t suppressed = 0;
};

struct SinkHolder {
  detail::Mutex mutex;
  LogSink sink SYN_GUARDED_BY(mutex);
  LogRecordSink record_sink SYN_GUARDED_BY(mutex);
  std::unordered_map<std::string, Repeat> repeats SYN_GUARDED_BY(mutex);  // warnings and errors
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

void set_log_record_sink(LogRecordSink sink) {
  auto& holder = sink_holder();
  detail::MutexLock lock(holder.mutex);
  holder.record_sink = std::move(sink);
}

std::string to_json_line(const LogRecord& r) {
  auto seconds = r.time_ns / 1000000000;
  auto millis = (r.time_ns / 1000000) % 1000;
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char time[96];  // room for any int the format may print
  std::snprintf(time, sizeof time, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(millis));
  nlohmann::json line = {
      {"time", time}, {"level", to_string(r.level)}, {"node", r.node}, {"component", r.component}, {"text", r.text}};
  if (!r.peer.empty()) line["peer"] = r.peer;
  if (!r.scope.empty()) line["scope"] = r.scope;
  if (r.suppressed) line["suppressed"] = r.suppressed;
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

LogRecordSink json_lines_sink(std::FILE* stream) {
  return [stream](const LogRecord& record) {
    auto line = to_json_line(record);
    line += '\n';
    std::fwrite(line.data(), 1, line.size(), stream);  // one write per line: whole lines
    std::fflush(stream);
  };
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

std::string_view component_of(std::string_view file) {
  // The folder the file is in: src/transport/gate.cpp -> "transport".
  auto last = file.rfind('/');
  if (last == std::string_view::npos || last == 0) return "syn";
  auto before = file.rfind('/', last - 1);
  auto start = before == std::string_view::npos ? 0 : before + 1;
  return file.substr(start, last - start);
}

void log_line(LogLevel level, const LogSource& source, const std::string& text) {
  LogRecord record;
  record.level = level;
  record.time_ns =
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  record.node = source.node;
  record.component = component_of(source.file);
  record.peer = source.peer;
  record.scope = source.scope;
  record.text = text;
  record.suppressed = source.suppressed;
  auto& holder = sink_holder();
  detail::MutexLock lock(holder.mutex);
  if (level >= LogLevel::warn && !source.counted_by_caller) {
    // The same warning again within the window: counted, not logged (a peer redialled in a
    // loop must not flood the log). The key is what the line says, from where.
    std::string key = std::string(source.node) + '\0' + std::string(record.component) + '\0' + text;
    auto now = std::chrono::steady_clock::now();
    auto found = holder.repeats.find(key);
    if (found != holder.repeats.end() && now - found->second.logged_at < kRepeatWindow) {
      ++found->second.suppressed;
      return;
    }
    if (found != holder.repeats.end()) {
      record.suppressed += found->second.suppressed;
      found->second = Repeat{now, 0};
    } else {
      if (holder.repeats.size() >= kMaxRemembered) holder.repeats.clear();
      holder.repeats.emplace(std::move(key), Repeat{now, 0});
    }
  }
  if (holder.record_sink) {
    try {
      holder.record_sink(record);
    } catch (...) {
      // A failing sink must not take the node down; the line is lost.
    }
    return;
  }
  std::string line;
  line.reserve(text.size() + source.node.size() + 16);
  line.append("syn[").append(source.node).append("] ").append(to_string(level)).append(": ").append(text);
  if (record.suppressed) {
    line.append(" (and ").append(std::to_string(record.suppressed)).append(" more like it in the last minute)");
  }
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
