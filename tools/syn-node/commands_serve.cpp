// Owned processes that answer by themselves, so that multi-process tests can exercise
// multi_call and count deliveries: serve starts one thread per process that answers every
// multi_call, records every message, and echoes plain messages that ask for it.
#include "commands.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <string>
#include <thread>
#include <utility>

namespace syn_node {

namespace {

// How one served process answers, and what it got. The thread is declared last: it starts
// once the rest is built, and stops (joined by ~jthread) before the rest goes.
struct Server {
  std::string pid;
  syn::Process* process = nullptr;  // in the Context's map: stays until the stop hooks ran
  std::optional<syn::Term> reply;   // nullopt: {pid, meta, body}
  bool ignore_calls = false;
  std::optional<syn::Term> exit_on_call;

  std::mutex mutex;  // guards the logs: the thread writes, the control thread reads
  syn::Term messages = syn::Term::array();
  syn::Term calls = syn::Term::array();

  std::jthread thread;
};

// Control thread only (and the stop hook, which runs on the thread that stops the program
// while commands are held off).
std::map<std::string, std::unique_ptr<Server>>& servers() {
  static std::map<std::string, std::unique_ptr<Server>> by_pid;
  return by_pid;
}

void answer_call(Server& server, const syn::Message& message) {
  {
    std::lock_guard lock(server.mutex);
    server.calls.push_back(message.body);
  }
  if (server.exit_on_call) {
    server.process->exit(*server.exit_on_call);
  } else if (!server.ignore_calls) {
    message.reply(server.reply
                      ? *server.reply
                      : syn::Term{{"pid", server.pid}, {"meta", message.caller_meta()}, {"body", message.body}});
  }
}

void take_plain(Server& server, syn::Node& node, const syn::Message& message) {
  {
    std::lock_guard lock(server.mutex);
    server.messages.push_back(message.body);
  }
  const auto& body = message.body;
  if (body.is_object() && body.contains("echo_to") && body["echo_to"].is_string()) {
    if (auto to = syn::Pid::parse(body["echo_to"].get<std::string>())) {
      node.send(*to, {{"echo", body}, {"from", server.pid}});
    }
  }
}

void serve_loop(const std::stop_token& stop, Server& server, syn::Node& node) {
  while (!stop.stop_requested()) {
    auto message = server.process->receive(std::chrono::milliseconds(50));
    if (!message) {
      if (!server.process->alive()) return;
      continue;
    }
    if (message->is_multi_call()) {
      answer_call(server, *message);
    } else {
      take_plain(server, node, *message);
    }
  }
}

Server& served_server(const Args& args) {
  auto it = servers().find(args.string("pid"));
  if (it == servers().end()) throw CommandError("pid " + args.string("pid") + " is not served", "bad_argument");
  return *it->second;
}

}  // namespace

SYN_NODE_COMMAND(serve,
                 "serve{pid, reply?, ignore_calls=false, exit_on_call?} -> {} (an owned process "
                 "answers by itself from now on: every multi_call with reply (default {pid, meta, "
                 "body}), or never (ignore_calls), or by exiting with exit_on_call; plain messages "
                 "are recorded, and echoed as {echo: body, from: pid} to body.echo_to when it is a "
                 "pid. Do not use receive on it afterwards)") {
  auto pid = args.string("pid");
  auto& process = ctx.process(pid);
  if (servers().count(pid)) throw CommandError("pid " + pid + " is already served", "bad_argument");
  if (servers().empty()) ctx.at_stop([] { servers().clear(); });
  auto server = std::make_unique<Server>();
  server->pid = pid;
  server->process = &process;
  if (args.has("reply")) server->reply = args.term("reply");
  server->ignore_calls = args.boolean_or("ignore_calls", false);
  if (args.has("exit_on_call")) server->exit_on_call = args.term("exit_on_call");
  auto& node = ctx.node();
  auto& ref = *server;
  server->thread = std::jthread([&ref, &node](std::stop_token stop) { serve_loop(stop, ref, node); });
  servers().emplace(pid, std::move(server));
  return {};
}

SYN_NODE_COMMAND(served,
                 "served{pid, clear=false} -> {messages: [body...], calls: [body...], alive} (what a "
                 "served process got so far; clear empties both logs)") {
  auto& server = served_server(args);
  std::lock_guard lock(server.mutex);
  syn::Term out = {{"messages", server.messages}, {"calls", server.calls}, {"alive", server.process->alive()}};
  if (args.boolean_or("clear", false)) {
    server.messages = syn::Term::array();
    server.calls = syn::Term::array();
  }
  return out;
}

SYN_NODE_COMMAND(kill_all, "kill_all{reason=\"kill\"} -> {killed: [pid...]} (exits every owned live process)") {
  auto reason = args.term_or("reason", "kill");
  syn::Term killed = syn::Term::array();
  for (const auto& [pid, process] : ctx.processes()) {
    if (!process.alive()) continue;  // exit() below is the non-const handle of the same process
    ctx.process(pid).exit(reason);
    killed.push_back(pid);
  }
  return {{"killed", killed}};
}

}  // namespace syn_node
