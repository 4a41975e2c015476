#include "driver/options.hpp"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string_view>

namespace syn::bench {

const char* usage() {
  return "usage: syn-bench [--quick | --full] [--only NAME[,NAME...]] [--runs K] [--n N]\n"
         "                 [--workers W] [--json PATH] [--node-binary PATH] [--log-dir DIR]\n"
         "                 [--commit TEXT] [--list]\n"
         "  --quick        N = 10k, 1 run, small fixed workloads: a smoke check (~1 minute)\n"
         "  (default)      N = 100k, 3 runs\n"
         "  --full         N = 100k and 1M, 3 runs; join_sync on 1M entries\n"
         "  --only NAMES   run only these workloads (comma-separated; see --list)\n"
         "  --runs K       runs per workload (fresh cluster each run)\n"
         "  --n N          N of the sized workloads (replaces the mode's sizes)\n"
         "  --workers W    concurrent synchronous callers per writer node (default 100)\n"
         "  --json PATH    where the JSON results go (default bench/results/latest.json)\n";
}

namespace {

std::size_t parse_count(std::string_view text, const char* what) {
  std::string s(text);
  std::size_t mult = 1;
  if (!s.empty() && (s.back() == 'k' || s.back() == 'K')) mult = 1000, s.pop_back();
  if (!s.empty() && (s.back() == 'm' || s.back() == 'M')) mult = 1000000, s.pop_back();
  char* end = nullptr;
  unsigned long long v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v == 0)
    throw std::invalid_argument(std::string("bad ") + what + ": " + std::string(text));
  return static_cast<std::size_t>(v) * mult;
}

}  // namespace

Options parse_options(int argc, char** argv) {
  Options o;
  bool runs_set = false;
  std::vector<std::size_t> n_override;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    auto value = [&](const char* name) -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(std::string(name) + " needs a value");
      return argv[++i];
    };
    if (a == "--quick") {
      o.mode = "quick";
    } else if (a == "--full") {
      o.mode = "full";
    } else if (a == "--only") {
      std::stringstream ss(value("--only"));
      for (std::string item; std::getline(ss, item, ',');) {
        if (!item.empty()) o.only.push_back(item);
      }
    } else if (a == "--runs") {
      o.runs = static_cast<int>(parse_count(value("--runs"), "--runs"));
      runs_set = true;
    } else if (a == "--n") {
      n_override.push_back(parse_count(value("--n"), "--n"));
    } else if (a == "--workers") {
      o.workers = parse_count(value("--workers"), "--workers");
    } else if (a == "--json" || a == "--out") {
      o.json_path = value("--json");
    } else if (a == "--node-binary") {
      o.node_binary = value("--node-binary");
    } else if (a == "--log-dir") {
      o.log_dir = value("--log-dir");
    } else if (a == "--commit") {
      o.commit = value("--commit");
    } else if (a == "--list") {
      o.list = true;
    } else if (a == "-h" || a == "--help") {
      std::fputs(usage(), stdout);
      std::exit(0);
    } else {
      throw std::invalid_argument("unknown option '" + std::string(a) + "'");
    }
  }
  if (o.quick()) {
    o.sizes = {10000};
    if (!runs_set) o.runs = 1;
  } else if (o.full()) {
    o.sizes = {100000, 1000000};
  } else {
    o.sizes = {100000};
  }
  if (!n_override.empty()) o.sizes = n_override;
  return o;
}

}  // namespace syn::bench
