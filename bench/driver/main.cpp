// syn-bench: the benchmark driver. Starts clusters of syn-bench-node processes on 127.0.0.1,
// runs the workloads, prints a table and writes the JSON record. See bench/README.md.
#include "common/clock.hpp"
#include "driver/machine.hpp"
#include "driver/options.hpp"
#include "driver/report.hpp"
#include "driver/workload.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace fs = std::filesystem;
using namespace syn::bench;

namespace {

std::string default_node_binary(const char* argv0) {
#ifdef SYN_BENCH_NODE_DEFAULT
  if (fs::exists(SYN_BENCH_NODE_DEFAULT)) return SYN_BENCH_NODE_DEFAULT;
#endif
  return (fs::path(argv0).parent_path() / "syn-bench-node").string();
}

void write_json(const std::string& path, const syn::Term& json) {
  fs::path p(path);
  if (p.has_parent_path()) fs::create_directories(p.parent_path());
  std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << json.dump(2) << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

std::string key_for(const Workload& w, std::size_t n, const Options& o) {
  if (!w.sized || n == o.sizes.front()) return w.name;
  std::string size = short_count(n);
  std::transform(size.begin(), size.end(), size.begin(), [](unsigned char c) { return std::tolower(c); });
  return w.name + "_" + size;
}

// Phases are bounded: a minute, or 200 us per item for big sizes.
std::chrono::milliseconds phase_timeout(std::size_t n) {
  return std::chrono::milliseconds(std::max<std::int64_t>(60000, static_cast<std::int64_t>(n) / 5));
}

WorkloadResult run_workload(const Workload& w, std::size_t n, const Options& o, const std::string& node_binary) {
  WorkloadResult result;
  result.key = key_for(w, n, o);
  result.workload = &w;
  result.n = n;
  result.params = {{"runs", o.runs}, {"workers", o.workers}, {"mode", o.mode}};
  result.load_before = load_average();
  result.date = utc_now();
  auto t0 = now_ns();
  std::printf("== %s [%s]: %s\n", result.key.c_str(), short_count(n).c_str(), w.description.c_str());
  if (!w.note.empty()) std::printf("   (%s)\n", w.note.c_str());
  std::fflush(stdout);
  for (int run = 1; run <= o.runs; ++run) {
    RunContext ctx{o, n, ClusterConfig{node_binary, o.log_dir, result.key + "-r" + std::to_string(run)},
                   phase_timeout(n)};
    auto r0 = now_ns();
    try {
      RunOutput out = w.run(ctx);
      double seconds = static_cast<double>(now_ns() - r0) / 1e9;
      std::printf("   run %d/%d (%.1f s): %s\n", run, o.runs, seconds, run_line(out).c_str());
      result.add_run(run, out, seconds);
    } catch (const Skipped& e) {
      std::printf("   skipped: %s\n", e.what());
      result.skipped = e.what();
      break;
    } catch (const std::exception& e) {
      std::printf("   run %d/%d FAILED: %s (node logs: %s/%s-n*.log)\n", run, o.runs, e.what(), o.log_dir.c_str(),
                  ctx.cluster.tag.c_str());
      result.add_failure(run, e.what());
    }
    std::fflush(stdout);
  }
  result.finish();
  result.load_after = load_average();
  result.wall_seconds = static_cast<double>(now_ns() - t0) / 1e9;
  return result;
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  Options o;
  try {
    o = parse_options(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "syn-bench: %s\n%s", e.what(), usage());
    return 2;
  }
  const auto& all = all_workloads();
  if (o.list) {
    for (const auto& w : all) std::printf("%-22s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  for (const auto& name : o.only) {
    if (std::none_of(all.begin(), all.end(), [&](const Workload& w) { return w.name == name; })) {
      std::fprintf(stderr, "syn-bench: unknown workload '%s' (see --list)\n", name.c_str());
      return 2;
    }
  }
  std::string node_binary = o.node_binary.empty() ? default_node_binary(argv[0]) : o.node_binary;
  if (access(node_binary.c_str(), X_OK) != 0) {
    std::fprintf(stderr, "syn-bench: node program not found: %s (--node-binary)\n", node_binary.c_str());
    return 2;
  }
  if (o.log_dir.empty()) o.log_dir = "/tmp/syn-bench-logs-" + std::to_string(getpid());
  fs::create_directories(o.log_dir);

  syn::Term machine = machine_info();
  std::printf("syn-bench: mode %s, %d run(s), N = ", o.mode.c_str(), o.runs);
  for (std::size_t i = 0; i < o.sizes.size(); ++i) std::printf("%s%s", i ? ", " : "", short_count(o.sizes[i]).c_str());
  std::printf(", W = %zu; %ld cpus (%s), load %s\n", o.workers, machine.at("nproc").get<long>(),
              machine.at("cpu_model").get<std::string>().c_str(), machine.at("loadavg").get<std::string>().c_str());
  std::printf("node logs in %s\n\n", o.log_dir.c_str());

  std::vector<WorkloadResult> results;
  bool failed = false;
  for (const auto& w : all) {
    bool named = std::find(o.only.begin(), o.only.end(), w.name) != o.only.end();
    if (o.only.empty() ? w.on_request : !named) continue;
    std::vector<std::size_t> sizes = w.sized ? o.sizes : std::vector<std::size_t>{w.fixed_size(o)};
    for (std::size_t n : sizes) {
      results.push_back(run_workload(w, n, o, node_binary));
      failed = failed || !results.back().errors.empty();
      try {
        write_json(o.json_path, results_json(results, o, machine));  // partial results survive a crash
      } catch (const std::exception& e) {
        std::fprintf(stderr, "syn-bench: %s\n", e.what());
        failed = true;
      }
    }
  }
  print_table(results, stdout);
  std::printf("\nJSON: %s\n", o.json_path.c_str());
  return failed ? 1 : 0;
}
