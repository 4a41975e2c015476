// syn::to_prometheus against the text exposition format (0.0.4): checked by a parser of the
// format's rules here, and by `promtool check metrics` when the prometheus package is there.
#include <syn/metrics.hpp>

#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <unistd.h>
#include <vector>

using namespace syn;

namespace {

struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

/// Reads label values back, undoing the format's escapes; fails the test on a malformed one.
std::map<std::string, std::string> parse_labels(const std::string& text) {
  std::map<std::string, std::string> labels;
  std::size_t i = 0;
  while (i < text.size()) {
    auto eq = text.find('=', i);
    REQUIRE(eq != std::string::npos);
    std::string key = text.substr(i, eq - i);
    REQUIRE(std::regex_match(key, std::regex("[a-zA-Z_][a-zA-Z0-9_]*")));
    REQUIRE(text.at(eq + 1) == '"');
    std::string value;
    std::size_t j = eq + 2;
    for (; j < text.size() && text[j] != '"'; ++j) {
      if (text[j] == '\\') {
        char next = text.at(++j);
        REQUIRE((next == '\\' || next == '"' || next == 'n'));
        value += next == 'n' ? '\n' : next;
      } else {
        REQUIRE(text[j] != '\n');
        value += text[j];
      }
    }
    REQUIRE(j < text.size());
    labels[key] = value;
    i = j + 1;
    if (i < text.size()) {
      REQUIRE(text[i] == ',');
      ++i;
    }
  }
  return labels;
}

/// Parses the exposition text by the format's rules: HELP and TYPE once per family, before
/// its samples; sample names of the family (histograms: _bucket, _sum, _count); valid names,
/// labels and values.
std::vector<Sample> parse(const std::string& text, std::map<std::string, std::string>& types) {
  std::vector<Sample> samples;
  std::set<std::string> helped;
  std::istringstream in(text);
  std::string line;
  const std::regex name_re("[a-zA-Z_:][a-zA-Z0-9_:]*");
  while (std::getline(in, line)) {
    REQUIRE_FALSE(line.empty());
    if (line.rfind("# HELP ", 0) == 0) {
      auto name = line.substr(7, line.find(' ', 7) - 7);
      REQUIRE(helped.insert(name).second);
      continue;
    }
    if (line.rfind("# TYPE ", 0) == 0) {
      std::istringstream fields(line.substr(7));
      std::string name, type;
      fields >> name >> type;
      REQUIRE(std::regex_match(name, name_re));
      REQUIRE((type == "counter" || type == "gauge" || type == "histogram"));
      REQUIRE(types.emplace(name, type).second);
      continue;
    }
    REQUIRE(line[0] != '#');
    Sample s;
    auto brace = line.find('{');
    auto space = line.rfind(' ');
    REQUIRE(space != std::string::npos);
    if (brace != std::string::npos && brace < space) {
      auto close = line.rfind('}');
      REQUIRE(close != std::string::npos);
      s.name = line.substr(0, brace);
      s.labels = parse_labels(line.substr(brace + 1, close - brace - 1));
    } else {
      s.name = line.substr(0, space);
    }
    REQUIRE(std::regex_match(s.name, name_re));
    std::string value = line.substr(space + 1);
    char* end = nullptr;
    s.value = std::strtod(value.c_str(), &end);
    REQUIRE(*end == '\0');
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      auto n = std::string(suffix).size();
      if (!types.count(family) && family.size() > n && family.compare(family.size() - n, n, suffix) == 0) {
        family = family.substr(0, family.size() - n);
      }
    }
    REQUIRE(types.count(family) == 1);  // its TYPE came first
    if (types[family] == "counter") REQUIRE(s.name.size() > 6);
    if (types[family] == "counter") CHECK(s.name.compare(s.name.size() - 6, 6, "_total") == 0);
    samples.push_back(std::move(s));
  }
  return samples;
}

Metrics example() {
  Metrics m;
  m.node = "node \"one\"\\ with\nnewline";
  m.creation = 42;
  m.ready = true;
  m.processes = 3;
  m.stats.frames_received = 10;
  ScopeMetrics s;
  s.scope = "devices";
  s.registry_entries = 7;
  s.groups_members = 5;
  s.writes = {{"register", 7}, {"join", 5}};
  s.conflicts = {{"kept_local", 1}};
  s.snapshot_seconds_in = 0.125;
  s.snapshot_seconds_out = 0.5;
  s.snapshot_bytes_in = 321;
  s.snapshot_bytes_out = 123;
  m.scopes.push_back(s);
  PeerMetrics p;
  p.node = "b";
  p.up = true;
  p.downs = {{"timeout", 2}};
  m.peers.push_back(p);
  m.queues.push_back({"engine", 1, 9});
  m.call_duration_seconds.bounds = {0.00025, 0.001, 1};
  m.call_duration_seconds.buckets = {1, 3, 4};
  m.call_duration_seconds.count = 5;
  m.call_duration_seconds.sum = 2.5;
  return m;
}

double value_of(const std::vector<Sample>& samples, const std::string& name,
                const std::map<std::string, std::string>& labels = {}) {
  for (const auto& s : samples) {
    if (s.name == name && s.labels == labels) return s.value;
  }
  FAIL("no sample " << name);
  return -1;
}

}  // namespace

TEST_CASE("prometheus: the text follows the exposition format and carries every metric", "[prometheus]") {
  auto text = to_prometheus(example());
  std::map<std::string, std::string> types;
  auto samples = parse(text, types);

  CHECK(types["syn_registry_entries"] == "gauge");
  CHECK(types["syn_groups_members"] == "gauge");
  CHECK(types["syn_call_duration_seconds"] == "histogram");
  CHECK(value_of(samples, "syn_registry_entries", {{"scope", "devices"}}) == 7);
  CHECK(value_of(samples, "syn_groups_members", {{"scope", "devices"}}) == 5);
  CHECK(value_of(samples, "syn_writes_total", {{"scope", "devices"}, {"call", "join"}}) == 5);
  CHECK(value_of(samples, "syn_registry_conflicts_total", {{"scope", "devices"}, {"outcome", "kept_local"}}) == 1);
  CHECK(value_of(samples, "syn_snapshot_receive_seconds_total", {{"scope", "devices"}}) == 0.125);
  CHECK(value_of(samples, "syn_snapshot_send_seconds_total", {{"scope", "devices"}}) == 0.5);
  CHECK(value_of(samples, "syn_snapshot_received_bytes_total", {{"scope", "devices"}}) == 321);
  CHECK(value_of(samples, "syn_snapshot_sent_bytes_total", {{"scope", "devices"}}) == 123);
  CHECK(value_of(samples, "syn_peer_downs_total", {{"peer", "b"}, {"reason", "timeout"}}) == 2);
  CHECK(value_of(samples, "syn_queue_high_water", {{"queue", "engine"}}) == 9);
  CHECK(value_of(samples, "syn_ready") == 1);
  CHECK(value_of(samples, "syn_frames_received_total") == 10);
  // A label value with quotes, a backslash and a newline reads back as it was.
  bool found = false;
  for (const auto& s : samples) {
    if (s.name == "syn_node_info") found = s.labels.at("node") == "node \"one\"\\ with\nnewline";
  }
  CHECK(found);
  // The histogram: cumulative buckets with short bounds, +Inf equal to the count.
  CHECK(value_of(samples, "syn_call_duration_seconds_bucket", {{"le", "0.00025"}}) == 1);
  CHECK(value_of(samples, "syn_call_duration_seconds_bucket", {{"le", "1"}}) == 4);
  CHECK(value_of(samples, "syn_call_duration_seconds_bucket", {{"le", "+Inf"}}) == 5);
  CHECK(value_of(samples, "syn_call_duration_seconds_count") == 5);
  CHECK(value_of(samples, "syn_call_duration_seconds_sum") == 2.5);

  // Prometheus' own checker too, where the prometheus package is installed (scripts/install-deps
  // does not install it: it would start a Prometheus server on the machine).
  const char* promtool = "/usr/bin/promtool";
  if (::access(promtool, X_OK) == 0) {
    auto path = "/tmp/syn-prometheus-" + std::to_string(::getpid()) + ".txt";
    std::ofstream(path) << text;
    auto command = std::string(promtool) + " check metrics < " + path + " 2>&1";
    std::FILE* pipe = ::popen(command.c_str(), "r");
    REQUIRE(pipe);
    std::string out;
    char buffer[512];
    while (std::fgets(buffer, sizeof buffer, pipe)) out += buffer;
    int status = ::pclose(pipe);
    std::remove(path.c_str());
    INFO(out);
    CHECK(status == 0);
  }
}
