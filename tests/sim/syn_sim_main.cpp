// syn-sim: runs seeds of the simulated cluster (tests/sim) for as long as asked, and replays
// one seed with its trace. scripts/sim builds and runs it.
#include "sim/multicast_workload.hpp"
#include "sim/sim_workload.hpp"

#include <syn/log.hpp>

#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdlib>
#include <iostream>

int main(int argc, char** argv) {
  CLI::App app{"syn-sim: random workloads and faults on a simulated syn-cpp cluster"};
  std::uint64_t seeds = 1000, first = 0, one = 0;
  double minutes = 0;
  bool trace = false;
  syn::sim::ScenarioConfig config;
  app.add_option("--seeds", seeds, "how many seeds to run (default 1000)");
  app.add_option("--minutes", minutes, "run seeds for this long instead");
  app.add_option("--first", first, "the first seed (default: from the clock, printed)");
  app.add_option("--seed", one, "replay this one seed");
  app.add_flag("--trace", trace, "print the trace of the replayed seed");
  app.add_option("--nodes", config.nodes, "nodes per cluster (default 4)");
  app.add_option("--operations", config.operations, "API calls per run (default 150)");
  app.add_option("--fault-rate", config.fault_rate, "share of steps that are faults (default 0.15)");
  bool multicast = false;
  app.add_flag("--multicast", multicast, "run the guaranteed-multicast workload (SPEC 8) instead");
  bool slow = false;
  app.add_flag("--slow-nodes", slow, "with --multicast: slow consumers among the faults (laggard eviction)");
  app.add_flag("--crash-together", config.crash_together, "half the crashes take two nodes at once");
  std::string resolver = "default";
  app.add_option("--resolver", resolver, "default, keep-local (owners disagree), keep-neither, keep-incoming");
  CLI11_PARSE(app, argc, argv);
  // Runs of hours log what nodes warn about (a custom resolver's fallback, thousands of times):
  // errors only, unless SYN_LOG_LEVEL asks for more.
  if (!std::getenv("SYN_LOG_LEVEL")) syn::set_log_level(syn::LogLevel::error);
  auto named = syn::sim::resolver_named(resolver);
  if (!named) {
    std::cerr << "syn-sim: unknown resolver '" << resolver << "'\n";
    return 2;
  }
  config.resolver = std::move(*named);
  syn::sim::MulticastScenarioConfig multicast_config;
  multicast_config.nodes = config.nodes;
  if (app.count("--operations")) multicast_config.operations = config.operations;
  if (app.count("--fault-rate")) multicast_config.fault_rate = config.fault_rate;
  multicast_config.slow_nodes = slow;
  multicast_config.crash_together = config.crash_together;
  auto run = [&](std::uint64_t seed, bool traced) {
    if (multicast) {
      auto c = multicast_config;
      c.trace = traced;
      return syn::sim::run_multicast_scenario(seed, c);
    }
    auto c = config;
    c.trace = traced;
    return syn::sim::run_scenario(seed, c);
  };
  std::string replay = multicast ? "scripts/sim --multicast " : "scripts/sim ";
  if (slow) replay += "--slow-nodes ";
  if (config.crash_together) replay += "--crash-together ";
  if (resolver != "default") replay += "--resolver " + resolver + " ";
  for (const char* option : {"--nodes", "--operations", "--fault-rate"}) {
    if (app.count(option)) replay += std::string(option) + " " + app.get_option(option)->as<std::string>() + " ";
  }
  replay += "--seed ";

  if (one != 0) {
    auto outcome = run(one, trace);
    std::cout << outcome.report(trace ? 1'000'000 : 0);
    return outcome.ok() ? 0 : 1;
  }
  if (first == 0) {
    first =
        static_cast<std::uint64_t>(std::chrono::system_clock::now().time_since_epoch().count()) % 1'000'000'000'000ULL;
  }
  auto started = std::chrono::steady_clock::now();
  auto deadline = started + std::chrono::duration<double, std::ratio<60>>(minutes);
  std::uint64_t ran = 0, failed = 0;
  auto next_progress = started + std::chrono::minutes(1);
  for (std::uint64_t seed = first;; ++seed) {
    auto now = std::chrono::steady_clock::now();
    if (minutes > 0 ? now >= deadline : ran >= seeds) break;
    if (now >= next_progress) {  // long runs say they are alive, once a minute
      next_progress += std::chrono::minutes(1);
      std::cout << "syn-sim: " << ran << " seeds so far (last " << seed - 1 << "), " << failed << " failed"
                << std::endl;
    }
    auto outcome = run(seed, false);
    ++ran;
    if (!outcome.ok()) {
      ++failed;
      std::cout << outcome.report(0) << "replay: " << replay << seed << " --trace\n";
    }
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  std::cout << "syn-sim: " << ran << " seeds from " << first << " in " << secs << " s, " << failed << " failed\n";
  return failed == 0 ? 0 : 1;
}
