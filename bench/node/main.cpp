// syn-bench-node: one node of a benchmark cluster, driven by syn-bench.
//
//   syn-bench-node '<NodeOptions as JSON>'
//
// Prints {"event":"ready","name":...,"endpoint":...,"os_pid":...} once the node runs, then
// executes the JSON-line commands read on stdin (see bench_node.hpp), each on its own thread,
// until {"cmd":"quit"} or the end of stdin.
#include "node/bench_node.hpp"

#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace {

std::mutex out_mutex;

void write_line(const syn::Term& line) {
  std::string text = line.dump();
  text += '\n';
  std::lock_guard lock(out_mutex);
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

syn::Term failure(const syn::Term& id, const std::string& error) {
  return syn::Term{{"id", id}, {"ok", false}, {"error", error}};
}

}  // namespace

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  if (argc != 2) {
    std::fprintf(stderr, "usage: syn-bench-node '<NodeOptions JSON>'\n");
    return 2;
  }
  std::unique_ptr<syn::bench::BenchNode> bench;
  try {
    bench = std::make_unique<syn::bench::BenchNode>(syn::Term::parse(argv[1]));
  } catch (const std::exception& e) {
    write_line({{"event", "error"}, {"error", e.what()}});
    return 1;
  }
  write_line({{"event", "ready"},
              {"name", bench->node().name()},
              {"endpoint", bench->node().endpoint()},
              {"os_pid", static_cast<long>(getpid())}});

  syn::bench::CommandTable table;
  syn::bench::add_common_commands(table);
  syn::bench::add_registry_commands(table);
  syn::bench::add_groups_commands(table);
  syn::bench::add_messaging_commands(table);
  syn::bench::add_baseline_commands(table);
  syn::bench::add_multicast_commands(table);
  syn::bench::add_calibration_commands(table);

  std::vector<std::thread> running;
  syn::Term quit_id;
  std::string text;
  while (std::getline(std::cin, text)) {
    if (text.empty()) continue;
    syn::Term request = syn::Term::parse(text, nullptr, false);
    if (request.is_discarded() || !request.is_object()) {
      write_line(failure(nullptr, "not a JSON object: " + text));
      continue;
    }
    syn::Term id = request.value("id", syn::Term());
    std::string cmd = request.value("cmd", "");
    if (cmd == "quit") {
      quit_id = id;
      break;
    }
    auto it = table.find(cmd);
    if (it == table.end()) {
      write_line(failure(id, "unknown command '" + cmd + "'"));
      continue;
    }
    running.emplace_back([&bench, fn = it->second, request = std::move(request), id] {
      try {
        syn::Term out = fn(*bench, request);
        out["id"] = id;
        out["ok"] = true;
        write_line(out);
      } catch (const std::exception& e) { write_line(failure(id, e.what())); }
    });
  }
  bench->request_stop();
  for (auto& t : running) t.join();
  bench.reset();
  write_line({{"id", quit_id}, {"ok", true}});
  return 0;
}
