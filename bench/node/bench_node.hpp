#pragma once
/// \file
/// The state of one benchmark node process (syn-bench-node) and its command table.
///
/// The driver sends one JSON object per line on stdin: {"id": n, "cmd": "...", ...arguments}.
/// Every command runs on its own thread, so a node can work and watch at the same time; the
/// answer is one line on stdout: {"id": n, "ok": true, ...results} or {"id": n, "ok": false,
/// "error": "..."}. Timestamps in answers are CLOCK_MONOTONIC nanoseconds (common/clock.hpp).

#include <syn/syn.hpp>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace syn::bench {

/// The scope every benchmark uses.
inline constexpr const char* kScope = "bench";

/// One benchmark node: a syn::Node in scope "bench", its local processes, prepared names,
/// and the background threads some commands leave running (responders, echoes).
class BenchNode {
 public:
  /// Starts the node from NodeOptions JSON (the scope "bench" is added).
  explicit BenchNode(const Term& options);
  /// Stops background threads, kills the processes, then the node.
  ~BenchNode();
  BenchNode(const BenchNode&) = delete;
  BenchNode& operator=(const BenchNode&) = delete;

  /// The syn node.
  syn::Node& node() { return *node_; }
  /// The registry of the scope "bench".
  syn::Registry& registry() { return registry_; }
  /// The groups of the scope "bench".
  syn::Groups& groups() { return groups_; }

  /// Local processes made by the "spawn" command, in spawn order. The driver never sends
  /// "spawn" while another command uses them, so readers take no lock.
  std::vector<syn::Process>& procs() { return procs_; }
  /// Process `index`; throws std::out_of_range when absent.
  syn::Process& proc(std::size_t index) { return procs_.at(index); }

  /// Prepared names (Terms) by set name; built by the "names" command, before timing.
  std::vector<Term>& name_set(const std::string& set);
  /// Stores a prepared set of names.
  void put_name_set(const std::string& set, std::vector<Term> names);

  /// Keeps `object` (e.g. a multicast membership) under `key` until the node stops; it goes
  /// before the node does.
  void keep(const std::string& key, std::shared_ptr<void> object);
  /// What keep() stored under `key`; throws std::runtime_error when nothing is.
  std::shared_ptr<void> kept(const std::string& key);

  /// Starts a thread that lives until the node stops (joined by the destructor).
  void start_background(std::function<void()> fn);
  /// True once the node is stopping: long loops must check it.
  bool stopping() const { return stopping_.load(std::memory_order_relaxed); }
  /// Asks every loop to end.
  void request_stop() { stopping_.store(true); }

 private:
  std::unique_ptr<syn::Node> node_;
  syn::Registry registry_;
  syn::Groups groups_;
  std::vector<syn::Process> procs_;
  std::mutex names_mutex_;
  std::map<std::string, std::vector<Term>> names_;
  std::mutex kept_mutex_;
  std::map<std::string, std::shared_ptr<void>> kept_;
  std::mutex background_mutex_;
  std::vector<std::thread> background_;
  std::atomic<bool> stopping_{false};
};

/// A command: reads its arguments, returns the fields of its answer (an object).
using Command = std::function<Term(BenchNode&, const Term& args)>;
/// Commands by name.
using CommandTable = std::map<std::string, Command>;

/// Process bookkeeping, watches, names, memory, connect (cmd_common.cpp).
void add_common_commands(CommandTable& table);
/// register / unregister / kill / lookup (cmd_registry.cpp).
void add_registry_commands(CommandTable& table);
/// join / leave / members / publish / consume / multi_call (cmd_groups.cpp).
void add_groups_commands(CommandTable& table);
/// send / receive / echo / ping (cmd_messaging.cpp).
void add_messaging_commands(CommandTable& table);
void add_baseline_commands(CommandTable& table);  // cmd_baselines.cpp
/// multicast join / broadcast / count / confirmed latency (cmd_multicast.cpp).
void add_multicast_commands(CommandTable& table);
/// bare hash-map lookups, for calibration (cmd_calibrate.cpp).
void add_calibration_commands(CommandTable& table);

}  // namespace syn::bench
