// syn-node: one syn cluster node as a standalone program, for operators, demos and the
// multi-process tests.
//
//   syn-node --json '{"name":"a","listen":"tcp://127.0.0.1:7001"}'
//   syn-node --config node.json [--json '{"seeds":["tcp://127.0.0.1:7001"]}'] [--log-level info]
//
// Options are the keys of syn::NodeOptions::from_json (--json keys override --config keys),
// plus "events": true to print every registry and groups callback as an event line from the
// start (see event_printer.hpp; the record_events command turns it on later).
// When the node is up it prints one line {"event":"ready","name","endpoint","creation","os_pid"}
// on stdout, then serves the control protocol described in commands.hpp on stdin/stdout
// (send {"cmd":"help"} for the list of commands). Without a control stream (--no-control, or
// stdin at end of file) it runs until SIGTERM or SIGINT. On SIGTERM, SIGINT or the quit
// command the node leaves the cluster gracefully, the program prints {"event":"stopped"} and
// exits 0. Library logs go to stderr. Exit code 2: bad arguments or the node could not start
// (the reason is on stderr and in a line {"event":"error","error":...} on stdout).
#include "commands.hpp"
#include "http_server.hpp"
#include "context.hpp"
#include "event_printer.hpp"
#include "output.hpp"
#include "systemd_notify.hpp"

#include <syn/syn.hpp>

#include <CLI/CLI.hpp>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <pthread.h>
#include <string>
#include <thread>
#include <unistd.h>

namespace {

using syn::Term;

// Reads the node options: the --config file, then the --json keys over it.
Term load_options(const std::string& config_file, const std::string& json_text) {
  Term options = Term::object();
  if (!config_file.empty()) {
    std::ifstream in(config_file);
    if (!in) throw std::runtime_error("cannot read " + config_file);
    try {
      options = Term::parse(in);
    } catch (const std::exception& e) { throw std::runtime_error(config_file + ": invalid JSON: " + e.what()); }
    if (!options.is_object()) throw std::runtime_error(config_file + ": must hold a JSON object");
  }
  if (!json_text.empty()) {
    Term overrides;
    try {
      overrides = Term::parse(json_text);
    } catch (const std::exception& e) { throw std::runtime_error(std::string("--json: invalid JSON: ") + e.what()); }
    if (!overrides.is_object()) throw std::runtime_error("--json: must be a JSON object");
    for (auto& [key, value] : overrides.items()) options[key] = value;
  }
  return options;
}

// The node options from the JSON options: "events" is ours (not a NodeOptions key).
syn::NodeOptions node_options(Term options, syn_node::Output& output) {
  bool events = false;
  if (auto it = options.find("events"); it != options.end()) {
    if (!it->is_boolean()) throw std::runtime_error("option 'events' must be true or false");
    events = it->get<bool>();
    options.erase(it);
  }
  auto result = syn::NodeOptions::from_json(options);
  if (events) result.event_handler = syn_node::make_event_printer(output);
  return result;
}

int fail(syn_node::Output& output, const std::string& message) {
  std::fprintf(stderr, "syn-node: %s\n", message.c_str());
  output.event("error", {{"error", message}});
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread exists, so every thread (the node's included)
  // inherits the mask and only sigwait below receives them: stopping runs in plain code, not
  // in a signal handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"syn-node: a standalone syn cluster node configured by JSON and driven by JSON lines"};
  std::string config_file, json_text, log_level;
  bool no_control = false;
  app.add_option("--config", config_file, "JSON file with syn::NodeOptions keys")->check(CLI::ExistingFile);
  app.add_option("--json", json_text, "JSON object with syn::NodeOptions keys (overrides --config)");
  app.add_option("--log-level", log_level, "library log level: trace, debug, info, warn, error, off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app.add_flag("--no-control", no_control, "ignore stdin; run until SIGTERM or SIGINT");
  bool log_json = false;
  app.add_flag("--log-json", log_json,
               "library log records as JSON lines on stderr (time, level, node, component, peer, scope, text)");
  std::string http_address;
  bool http_remote = false;
  app.add_option("--http", http_address,
                 "serve /metrics, /healthz, /readyz and a status page at HOST:PORT (port 0: any free one)");
  app.add_flag("--http-remote", http_remote, "allow --http on an address beyond loopback (it has no authentication)");
  app.footer(
      "Once up, syn-node prints {\"event\":\"ready\",...} on stdout and reads commands as JSON lines on stdin\n"
      "({\"cmd\":NAME, \"id\":ID, ...arguments}); each gets one reply line with the same id, and callbacks\n"
      "come as event lines ({\"event\":...}). Send {\"cmd\":\"help\"} for every command with its arguments:\n"
      "the registry and groups, processes and messages, and guaranteed multicast (multicast_join with\n"
      "print_messages, multicast_broadcast, multicast_confirmed_broadcast, multicast_leave, multicast_member\n"
      "for a member's recorded callbacks). docs/guide.md has examples.");
  CLI11_PARSE(app, argc, argv);

  syn_node::Output output;
  if (log_json) syn::set_log_record_sink(syn::json_lines_sink(stderr));
  if (!log_level.empty()) {
    syn::LogLevel level;
    syn::parse_log_level(log_level, level);
    syn::set_log_level(level);
  }

  std::unique_ptr<syn::Node> node;
  try {
    node = std::make_unique<syn::Node>(node_options(load_options(config_file, json_text), output));
  } catch (const std::exception& e) { return fail(output, e.what()); }

  // Commands and the shutdown are serialised by this mutex: a stop waits for the command in
  // progress (and its response), and no command starts once stopping is set.
  std::mutex state_mutex;
  bool stopping = false;
  std::atomic<bool> quit_requested{false};
  syn_node::Context ctx(*node, output, [&quit_requested] {
    quit_requested = true;
    ::kill(::getpid(), SIGTERM);  // wakes sigwait below
  });

  std::unique_ptr<syn_node::HttpServer> http;
  if (!http_address.empty()) {
    try {
      http = std::make_unique<syn_node::HttpServer>(*node, http_address, http_remote);
    } catch (const std::exception& e) { return fail(output, e.what()); }
    ctx.at_stop([&http] { http.reset(); });  // before the node goes
  }

  Term started = {{"name", node->name()},
                  {"endpoint", node->endpoint()},
                  {"creation", node->creation()},
                  {"os_pid", static_cast<long>(::getpid())}};
  if (http) started["http"] = http->url();
  output.event("ready", std::move(started));
  // Under systemd (Type=notify): READY=1 once the node is ready, STOPPING=1 at a stop.
  syn_node::SystemdNotifier systemd;
  auto readiness = std::make_unique<syn_node::ReadinessNotifier>(*node, systemd);

  if (!no_control) {
    // Detached: it may be blocked reading stdin when we exit, which _Exit below does not mind.
    std::thread([&] {
      std::string line;
      while (std::getline(std::cin, line)) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        std::lock_guard lock(state_mutex);
        if (stopping) {
          Term request = Term::parse(line, nullptr, false);  // discarded (not thrown) when invalid
          Term id = request.is_object() ? request.value("id", Term(nullptr)) : Term(nullptr);
          output.line({{"id", id}, {"ok", false}, {"error", "the node is stopping"}, {"code", "stopping"}});
          continue;
        }
        output.line(syn_node::execute(ctx, line));
      }
      // End of the control stream: keep serving the cluster until a stop signal.
    }).detach();
  }

  int signal = 0;
  sigwait(&stop_signals, &signal);
  {
    std::lock_guard lock(state_mutex);
    stopping = true;
    systemd.notify("STOPPING=1");
    readiness.reset();     // it watches the node
    ctx.run_stop_hooks();  // e.g. serving threads, which use the node
    node.reset();          // graceful leave: peers purge us at once; our processes die "shutdown"
    ctx.clear_processes();
  }
  output.event("stopped", {{"reason", quit_requested ? "quit" : signal == SIGINT ? "SIGINT" : "SIGTERM"}});
  std::fflush(stderr);
  // The control thread may still be blocked on stdin and hold a reference to ctx: leave
  // without running destructors.
  std::_Exit(0);
}
