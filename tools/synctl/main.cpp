// synctl: the operator's command line for syn-cpp clusters (API.md, SPEC 9).
//
//   synctl keygen                          a new cluster key (needs no node)
//   synctl --control ipc:///run/syn/a.sock nodes | scopes | stats | health | ready
//   synctl --control ... names SCOPE [--prefix P] [--limit N] [--after CURSOR]
//   synctl --control ... lookup SCOPE NAME | groups SCOPE | members SCOPE GROUP | views SCOPE
//   synctl --control ... events [--scope S] [--follow]
//   synctl --control ... register SCOPE NAME PID [META] | unregister SCOPE NAME
//   synctl --control ... join SCOPE GROUP PID [META] | leave SCOPE GROUP PID | kill PID [REASON]
//                                          (writes: the node must allow control_writes)
//
// The endpoint is a node's NodeOptions::control (or SYN_CONTROL); a tcp endpoint of a node
// with a cluster key needs --key-file (or SYN_CLUSTER_KEY_FILE). NAME and GROUP are parsed as
// JSON when they parse, else taken as strings. Tables for people by default, one JSON object
// per answer with --json. Exit status: 0 success, 1 a negative answer (not ready, a missing
// name), 2 bad usage, an error answer, or a node that cannot be reached.
#include "output.hpp"

#include <syn/control.hpp>
#include <syn/errors.hpp>
#include <syn/security.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <cstdlib>
#include <exception>
#include <string>

namespace {

/// A NAME or GROUP argument: JSON when it parses, else the text as a string.
syn::Term term_argument(const std::string& text) {
  try {
    return syn::Term::parse(text);
  } catch (const std::exception&) { return syn::Term(text); }
}

std::string env_or(const char* name, const std::string& given) {
  if (!given.empty()) return given;
  const char* value = std::getenv(name);
  return value ? value : "";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"synctl: look at and operate a syn-cpp cluster through a node's control endpoint"};
  app.require_subcommand(1);
  // The global options also after the command (`synctl lookup S N --json`), as users of other
  // command lines expect: a subcommand hands what it does not know to the app. Set before the
  // subcommands are added, which inherit it.
  app.fallthrough();
  std::string control, key_file;
  bool json = false;
  int timeout_ms = 5000;
  app.add_option("--control,-c", control, "the node's control endpoint (NodeOptions::control); or SYN_CONTROL");
  app.add_option("--key-file", key_file, "the cluster key file, for a tcp endpoint; or SYN_CLUSTER_KEY_FILE");
  app.add_flag("--json", json, "print answers as JSON (one object per line)");
  app.add_option("--timeout", timeout_ms, "milliseconds to wait for an answer")->check(CLI::PositiveNumber);

  auto* keygen = app.add_subcommand(
      "keygen", "print a new cluster key (40 characters of Z85) for NodeOptions::cluster_key or a key file");
  auto* nodes = app.add_subcommand("nodes", "the node's links: peers, endpoints, incarnations, state, last heard");
  auto* scopes = app.add_subcommand("scopes", "the node's scopes: entries, groups, members, subclusters");
  std::string scope, name, group, prefix, after;
  int limit = 100;
  auto* names = app.add_subcommand("names", "registered names of a scope (sorted, paged)");
  names->add_option("SCOPE", scope)->required();
  names->add_option("--prefix", prefix, "only names starting with this (a non-string name as its JSON)");
  names->add_option("--limit", limit, "names per page")->check(CLI::Range(1, 100000));
  names->add_option("--after", after, "the cursor a previous page printed");
  auto* lookup = app.add_subcommand("lookup", "the pid and meta registered under a name (exit 1 when none)");
  lookup->add_option("SCOPE", scope)->required();
  lookup->add_option("NAME", name)->required();
  auto* groups = app.add_subcommand("groups", "the groups of a scope with their member counts");
  groups->add_option("SCOPE", scope)->required();
  auto* members = app.add_subcommand("members", "the members of a group");
  members->add_option("SCOPE", scope)->required();
  members->add_option("GROUP", group)->required();
  auto* views = app.add_subcommand("views", "the multicast views of the groups with a member on the node");
  views->add_option("SCOPE", scope)->required();
  std::vector<std::string> scope_list;
  auto* add_scopes = app.add_subcommand("add-scopes", "the node joins scopes (needs the node's control_writes)");
  add_scopes->alias("add_node_to_scopes");
  add_scopes->add_option("SCOPE", scope_list)->required();
  auto* remove_scopes = app.add_subcommand(
      "remove-scopes",
      "the node leaves scopes while running: its names and memberships there go, everywhere (needs control_writes)");
  remove_scopes->alias("remove_node_from_scopes");
  remove_scopes->add_option("SCOPE", scope_list)->required();
  // Writes, as code on the node would make them (refused with the code "read_only" unless the
  // node allows control_writes). META and REASON are JSON when they parse, else strings.
  std::string pid, meta, reason;
  auto* register_cmd = app.add_subcommand("register", "register NAME for the process PID (needs control_writes)");
  register_cmd->add_option("SCOPE", scope)->required();
  register_cmd->add_option("NAME", name)->required();
  register_cmd->add_option("PID", pid, "as Pid::to_string() prints it, e.g. <alpha.7.42>")->required();
  auto* register_meta = register_cmd->add_option("META", meta, "the name's meta (default null)");
  auto* unregister_cmd = app.add_subcommand("unregister", "unregister NAME (needs control_writes)");
  unregister_cmd->add_option("SCOPE", scope)->required();
  unregister_cmd->add_option("NAME", name)->required();
  auto* join_cmd = app.add_subcommand("join", "the process PID joins GROUP (needs control_writes)");
  join_cmd->add_option("SCOPE", scope)->required();
  join_cmd->add_option("GROUP", group)->required();
  join_cmd->add_option("PID", pid)->required();
  auto* join_meta = join_cmd->add_option("META", meta, "the member's meta (default null)");
  auto* leave_cmd = app.add_subcommand("leave", "the process PID leaves GROUP (needs control_writes)");
  leave_cmd->add_option("SCOPE", scope)->required();
  leave_cmd->add_option("GROUP", group)->required();
  leave_cmd->add_option("PID", pid)->required();
  auto* kill_cmd = app.add_subcommand("kill", "end the process PID, on any node, as Node::exit (needs control_writes)");
  kill_cmd->add_option("PID", pid)->required();
  auto* kill_reason = kill_cmd->add_option("REASON", reason, "the exit reason (default \"killed\")");
  auto* stats = app.add_subcommand("stats", "the node's counters");
  auto* metrics = app.add_subcommand("metrics", "the node's metrics in the Prometheus text format");
  auto* health = app.add_subcommand("health", "whether the node is alive, with its identity");
  auto* ready = app.add_subcommand("ready", "whether the node is ready (SPEC 9; exit 1 when not)");
  bool follow = false;
  auto* events = app.add_subcommand(
      "events", "the node's last events (kept from the first time anyone asks), one line each; --follow: live");
  events->add_option("--scope", scope, "only this scope's events (and the node's links)");
  events->add_flag("--follow,-f", follow, "keep printing events as they happen, until interrupted");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 2;  // --help is a success, every other parse error bad usage
  }
  try {
    if (keygen->parsed()) {
      std::printf("%s\n", syn::generate_cluster_key().c_str());
      return 0;
    }
    syn::ControlClientOptions options;
    options.endpoint = env_or("SYN_CONTROL", control);
    options.cluster_key_file = env_or("SYN_CLUSTER_KEY_FILE", key_file);
    options.timeout = std::chrono::milliseconds(timeout_ms);
    if (options.endpoint.empty()) {
      std::fprintf(stderr, "synctl: which node? give --control ENDPOINT (or set SYN_CONTROL)\n");
      return 2;
    }
    syn::ControlClient client(options);
    synctl::Printer printer(json);

    if (events->parsed() && !follow) {
      auto answer = client.request({{"cmd", "recent_events"}});
      if (!answer.value("ok", false)) return printer.failure(answer);
      for (const auto& line : answer["events"]) {
        auto line_scope = line.find("scope");
        if (!scope.empty() && line_scope != line.end() && *line_scope != syn::Term(scope)) continue;
        printer.event(line);
      }
      return 0;
    }
    if (events->parsed()) {
      // Runs until interrupted (Ctrl-C ends the program) or the node goes away (exit 2).
      syn::Term request = {{"cmd", "events"}, {"follow", true}};
      if (!scope.empty()) request["scope"] = scope;
      int status = 0;
      client.follow(request, [&](const syn::Term& line) {
        if (line.contains("ok")) {
          if (line.value("ok", false)) return true;
          status = printer.failure(line);
          return false;
        }
        if (!line.contains("heartbeat")) printer.event(line);
        return true;
      });
      return status;
    }

    syn::Term request;
    if (nodes->parsed()) request = {{"cmd", "nodes"}};
    if (scopes->parsed()) request = {{"cmd", "scopes"}};
    if (names->parsed()) {
      request = {{"cmd", "names"}, {"scope", scope}, {"limit", limit}};
      if (!prefix.empty()) request["prefix"] = prefix;
      if (!after.empty()) request["after"] = after;
    }
    if (lookup->parsed()) request = {{"cmd", "lookup"}, {"scope", scope}, {"name", term_argument(name)}};
    if (groups->parsed()) request = {{"cmd", "groups"}, {"scope", scope}};
    if (members->parsed()) request = {{"cmd", "members"}, {"scope", scope}, {"group", term_argument(group)}};
    if (views->parsed()) request = {{"cmd", "views"}, {"scope", scope}};
    if (add_scopes->parsed()) request = {{"cmd", "add_scopes"}, {"scopes", scope_list}};
    if (remove_scopes->parsed()) request = {{"cmd", "remove_scopes"}, {"scopes", scope_list}};
    if (register_cmd->parsed() || join_cmd->parsed()) {
      bool is_register = register_cmd->parsed();
      request = {{"cmd", is_register ? "register" : "join"}, {"scope", scope}, {"pid", pid}};
      request[is_register ? "name" : "group"] = term_argument(is_register ? name : group);
      if ((is_register ? register_meta : join_meta)->count() > 0) request["meta"] = term_argument(meta);
    }
    if (unregister_cmd->parsed()) request = {{"cmd", "unregister"}, {"scope", scope}, {"name", term_argument(name)}};
    if (leave_cmd->parsed()) {
      request = {{"cmd", "leave"}, {"scope", scope}, {"group", term_argument(group)}, {"pid", pid}};
    }
    if (kill_cmd->parsed()) {
      request = {{"cmd", "kill"}, {"pid", pid}};
      if (kill_reason->count() > 0) request["reason"] = term_argument(reason);
    }
    if (stats->parsed()) request = {{"cmd", "stats"}};
    if (metrics->parsed()) request = {{"cmd", "metrics"}};
    if (health->parsed()) request = {{"cmd", "health"}};
    if (ready->parsed()) request = {{"cmd", "ready"}};
    auto answer = client.request(request);
    if (!answer.value("ok", false)) return printer.failure(answer);
    return printer.answer(request["cmd"].get<std::string>(), answer);
  } catch (const syn::Error& e) {
    std::fprintf(stderr, "synctl: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "synctl: %s\n", e.what());
    return 2;
  }
}
