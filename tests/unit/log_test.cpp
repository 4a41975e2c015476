// Logging: the sink, the level filter, level names. Restores the defaults after each test.
#include "common/log.hpp"
#include "transport/refusal_log.hpp"
#include "support/eventually.hpp"

#include <syn/syn.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <mutex>
#include <string>
#include <vector>

using namespace syn;
using namespace std::chrono_literals;

namespace {

/// Captures log lines while alive; restores stderr and the previous level afterwards.
struct CapturedLog {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<std::pair<LogLevel, std::string>>> lines =
      std::make_shared<std::vector<std::pair<LogLevel, std::string>>>();
  LogLevel saved_level = log_level();

  explicit CapturedLog(LogLevel level) {
    set_log_level(level);
    set_log_sink([mutex = mutex, lines = lines](LogLevel l, std::string_view line) {
      std::lock_guard lock(*mutex);
      lines->emplace_back(l, std::string(line));
    });
  }
  ~CapturedLog() {
    set_log_sink(nullptr);
    set_log_level(saved_level);
  }
  std::vector<std::pair<LogLevel, std::string>> snapshot() {
    std::lock_guard lock(*mutex);
    return *lines;
  }
  bool any_containing(const std::string& text) {
    for (auto& [level, line] : snapshot()) {
      if (line.find(text) != std::string::npos) return true;
    }
    return false;
  }
};

NodeOptions options(const std::string& name) {
  NodeOptions o;
  o.name = name;
  o.heartbeat_interval = 100ms;
  o.peer_timeout = 1000ms;
  return o;
}

}  // namespace

TEST_CASE("level names round-trip", "[unit][log]") {
  for (LogLevel level :
       {LogLevel::trace, LogLevel::debug, LogLevel::info, LogLevel::warn, LogLevel::error, LogLevel::off}) {
    LogLevel parsed = LogLevel::off;
    if (level == LogLevel::off) parsed = LogLevel::trace;
    REQUIRE(parse_log_level(to_string(level), parsed));
    CHECK(parsed == level);
  }
  CHECK(to_string(LogLevel::warn) == "warn");
  LogLevel untouched = LogLevel::error;
  CHECK_FALSE(parse_log_level("loud", untouched));
  CHECK_FALSE(parse_log_level("", untouched));
  CHECK_FALSE(parse_log_level("WARN", untouched));
  CHECK(untouched == LogLevel::error);
}

TEST_CASE("set_log_level changes log_level", "[unit][log]") {
  const LogLevel saved = log_level();
  set_log_level(LogLevel::debug);
  CHECK(log_level() == LogLevel::debug);
  set_log_level(LogLevel::off);
  CHECK(log_level() == LogLevel::off);
  set_log_level(saved);
  CHECK(log_level() == saved);
}

TEST_CASE("the sink receives lines that name the node", "[unit][log]") {
  CapturedLog captured(LogLevel::info);
  {
    Node node(options("log-alpha"));
    CHECK(captured.any_containing("log-alpha"));
  }
  auto lines = captured.snapshot();
  REQUIRE_FALSE(lines.empty());
  for (auto& [level, line] : lines) {
    INFO(line);
    CHECK(level >= LogLevel::info);
    CHECK(level != LogLevel::off);
    CHECK(line.find("log-alpha") != std::string::npos);
  }
}

TEST_CASE("the sink sees the lines of a peer link, from every node", "[unit][log]") {
  CapturedLog captured(LogLevel::info);
  Node a(options("log-left"));
  auto o = options("log-right");
  o.seeds = {a.endpoint()};
  Node b(o);
  // Both nodes log the link coming up, each under its own name.
  auto logged_up = [&](const std::string& node, const std::string& peer) {
    for (auto& [level, line] : captured.snapshot()) {
      if (line.find(node) != std::string::npos && line.find("peer " + peer) != std::string::npos) return true;
    }
    return false;
  };
  CHECK(syn::test::eventually([&] { return logged_up("log-left", "log-right"); }));
  CHECK(syn::test::eventually([&] { return logged_up("log-right", "log-left"); }));
}

TEST_CASE("lines below the level are not written", "[unit][log]") {
  SECTION("warn filters info") {
    CapturedLog captured(LogLevel::warn);
    { Node node(options("log-quiet")); }
    for (auto& [level, line] : captured.snapshot()) {
      INFO(line);
      CHECK(level >= LogLevel::warn);
    }
    CHECK_FALSE(captured.any_containing("started at"));
  }
  SECTION("off filters everything, errors included") {
    CapturedLog captured(LogLevel::off);
    {
      Node node(options("log-off"));
      NodeOptions dup = options("log-off-2");
      dup.listen = node.endpoint();  // a failure, but it is not logged at level off
      CHECK_THROWS_AS(Node(dup), Error);
    }
    CHECK(captured.snapshot().empty());
  }
  SECTION("trace lets everything through") {
    CapturedLog captured(LogLevel::trace);
    { Node node(options("log-loud")); }
    CHECK(captured.any_containing("log-loud"));
  }
}

TEST_CASE("a sink that throws does not disturb the node", "[unit][log]") {
  const LogLevel saved = log_level();
  struct Restore {
    LogLevel level;
    ~Restore() {
      set_log_sink(nullptr);
      set_log_level(level);
    }
  } restore{saved};
  set_log_level(LogLevel::trace);
  set_log_sink([](LogLevel, std::string_view) { throw std::runtime_error("sink failure"); });
  {
    Node a(options("log-throw-a"));
    auto o = options("log-throw-b");
    o.seeds = {a.endpoint()};
    Node b(o);
    REQUIRE(syn::test::eventually([&] { return a.nodes() == std::vector<std::string>{"log-throw-b"}; }));
    auto p = b.spawn();
    a.send(p.pid(), "through");
    auto m = p.receive(10s);
    CHECK(m.has_value());
  }
}

namespace {

/// One record as owned strings.
struct Captured {
  LogLevel level;
  std::string node, component, peer, scope, text;
  std::uint64_t suppressed;
};

/// Captures records while alive; restores the default output and the level afterwards.
struct CapturedRecords {
  std::shared_ptr<std::mutex> mutex = std::make_shared<std::mutex>();
  std::shared_ptr<std::vector<Captured>> records = std::make_shared<std::vector<Captured>>();
  LogLevel saved_level = log_level();

  explicit CapturedRecords(LogLevel level) {
    set_log_level(level);
    set_log_record_sink([mutex = mutex, records = records](const LogRecord& r) {
      std::lock_guard lock(*mutex);
      records->push_back({r.level, std::string(r.node), std::string(r.component), std::string(r.peer),
                          std::string(r.scope), std::string(r.text), r.suppressed});
    });
  }
  ~CapturedRecords() {
    set_log_record_sink(nullptr);
    set_log_level(saved_level);
  }
  std::vector<Captured> snapshot() {
    std::lock_guard lock(*mutex);
    return *records;
  }
};

}  // namespace

TEST_CASE("log records carry the node, the component and the peer a line concerns", "[unit][log]") {
  CapturedRecords captured(LogLevel::info);
  Node a(options("record-left"));
  auto o = options("record-right");
  o.seeds = {a.endpoint()};
  Node b(o);
  auto peer_up = [&](const std::string& node, const std::string& peer) {
    for (const auto& r : captured.snapshot()) {
      if (r.node == node && r.component == "transport" && r.peer == peer && r.level == LogLevel::info &&
          r.text.find(" up ") != std::string::npos) {
        return true;
      }
    }
    return false;
  };
  CHECK(syn::test::eventually([&] { return peer_up("record-left", "record-right"); }));
  CHECK(syn::test::eventually([&] { return peer_up("record-right", "record-left"); }));
}

TEST_CASE("a record as a JSON line, and the JSON-lines sink writes whole lines", "[unit][log]") {
  LogRecord r;
  r.level = LogLevel::warn;
  r.time_ns = 1764900000123000000;  // 2025-12-05T02:00:00.123Z
  r.node = "n\"1";
  r.component = "transport";
  r.peer = "n2";
  r.text = "redialled\nagain";
  r.suppressed = 4;
  auto line = to_json_line(r);
  CHECK(line.find('\n') == std::string::npos);
  auto json = Term::parse(line);
  CHECK(json["time"] == "2025-12-05T02:00:00.123Z");
  CHECK(json["level"] == "warn");
  CHECK(json["node"] == "n\"1");
  CHECK(json["component"] == "transport");
  CHECK(json["peer"] == "n2");
  CHECK_FALSE(json.contains("scope"));
  CHECK(json["text"] == "redialled\nagain");
  CHECK(json["suppressed"] == 4);

  std::FILE* file = std::tmpfile();
  REQUIRE(file);
  auto sink = json_lines_sink(file);
  sink(r);
  r.text = "second";
  r.suppressed = 0;
  sink(r);
  std::rewind(file);
  char buffer[1024];
  std::vector<std::string> lines;
  while (std::fgets(buffer, sizeof buffer, file)) lines.emplace_back(buffer);
  std::fclose(file);
  REQUIRE(lines.size() == 2);
  CHECK(Term::parse(lines[0])["text"] == "redialled\nagain");
  CHECK(Term::parse(lines[1])["text"] == "second");
  CHECK_FALSE(Term::parse(lines[1]).contains("suppressed"));
}

TEST_CASE("a warning repeated within a minute is logged once, other lines are not held back", "[unit][log]") {
  CapturedRecords captured(LogLevel::info);
  const std::string node = "repeat-" + std::to_string(reinterpret_cast<std::uintptr_t>(&captured));
  for (int i = 0; i < 5; ++i) {
    SYN_LOG(warn, node, "the same warning");
    SYN_LOG(info, node, "an info line");  // below warn: never held back
  }
  SYN_LOG(warn, node, "another warning");
  std::size_t same = 0, info = 0, other = 0;
  for (const auto& r : captured.snapshot()) {
    if (r.node != node) continue;
    same += r.text == "the same warning";
    info += r.text == "an info line";
    other += r.text == "another warning";
    CHECK(r.component == "unit");  // the folder of this file
  }
  CHECK(same == 1);
  CHECK(info == 5);
  CHECK(other == 1);
}

TEST_CASE("a rate-limited refusal line says in its record how many like it were left out", "[unit][log]") {
  CapturedRecords captured(LogLevel::info);
  transport::RefusalLog refusals("refusing-node");
  const auto start = detail::SteadyClock::now();
  CHECK(refusals.refused("auth/127.0.0.1", "refused 127.0.0.1: another key", start));
  for (int i = 1; i <= 3; ++i) {
    CHECK_FALSE(refusals.refused("auth/127.0.0.1", "refused 127.0.0.1: another key", start + std::chrono::seconds(i)));
  }
  CHECK(refusals.refused("auth/127.0.0.1", "refused 127.0.0.1: another key", start + std::chrono::seconds(61),
                         LogLevel::warn, "127.0.0.1"));
  auto records = captured.snapshot();
  REQUIRE(records.size() == 2);
  CHECK(records[0].suppressed == 0);
  CHECK(records[1].suppressed == 3);  // before, only the text said so: the JSON line had no "suppressed"
  CHECK(records[1].text == "refused 127.0.0.1: another key");
  CHECK(records[1].level == LogLevel::warn);
  CHECK(records[1].peer == "127.0.0.1");
}
