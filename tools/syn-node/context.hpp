#pragma once
// What a command handler works with: the node, the processes this agent owns, the output for
// asynchronous events, and a way to ask the program to stop.
#include "output.hpp"

#include <syn/node.hpp>
#include <syn/process.hpp>

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace syn_node {

/// The state shared by every command. Commands run one at a time on the control thread, so a
/// handler may use it without locks; only Output (and what it captures for callbacks) may be
/// touched from other threads, e.g. from a monitor callback.
class Context {
 public:
  Context(syn::Node& node, Output& output, std::function<void()> request_stop)
      : node_(node), output_(output), request_stop_(std::move(request_stop)) {}

  /// The node this program runs.
  syn::Node& node() { return node_; }
  /// The stdout writer: use it for {"event":...} lines from callbacks (thread-safe).
  Output& output() { return output_; }

  /// Keeps a process alive under this agent's ownership; returns its pid string.
  std::string adopt(syn::Process process);
  /// A process owned by this agent (dead ones stay until forgotten); throws CommandError
  /// "unknown pid" when it is not ours.
  syn::Process& process(const std::string& pid);
  /// The owned process with this pid string, or nullptr when it is not ours.
  syn::Process* find_process(const std::string& pid);
  /// Drops an owned process (it exits "normal" if still alive); false when not ours. Not for
  /// a process that a thread still uses (see at_stop).
  bool forget(const std::string& pid);
  /// Every owned process, by pid string.
  const std::map<std::string, syn::Process>& processes() const { return processes_; }
  /// Exits and drops every owned process (shutdown).
  void clear_processes() { processes_.clear(); }

  /// Work to do when the program stops, before the node is destroyed: e.g. stopping and
  /// joining threads that use the node or owned processes (see the serve command). Owned
  /// processes stay in place (never forgotten) until then, so such threads may hold
  /// references to them.
  void at_stop(std::function<void()> hook) { stop_hooks_.push_back(std::move(hook)); }
  /// Runs the at_stop hooks, last added first (shutdown).
  void run_stop_hooks();

  /// Asks the program to stop gracefully once the current response is written.
  void request_stop() { request_stop_(); }

 private:
  syn::Node& node_;
  Output& output_;
  std::function<void()> request_stop_;
  std::map<std::string, syn::Process> processes_;
  std::vector<std::function<void()>> stop_hooks_;
};

}  // namespace syn_node
