#pragma once
// Nodes as separate OS processes for tests: an Agent runs the syn-node program as a child
// process and drives it through its control protocol (JSON lines on its stdin and stdout, see
// tools/syn-node/commands.hpp), so tests can kill, stop and restart nodes for real.
#include <syn/term.hpp>

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace syn::test {

/// syn-node options (the JSON keys of NodeOptions::from_json) for a test node, mirroring
/// test_options: loopback, port 0, heartbeat_interval 100 ms, peer_timeout 1000 ms,
/// call_timeout 3000 ms.
Term agent_options(const std::string& name, std::vector<std::string> seeds = {}, std::vector<std::string> scopes = {});

/// How an Agent starts its program.
struct AgentConfig {
  /// Path of the syn-node program; empty: the SYN_NODE_BINARY environment variable.
  std::string binary;
  /// More command-line arguments, e.g. {"--log-level", "info"}.
  std::vector<std::string> extra_args;
  /// Words run before the program, which they must exec in place (so that the Agent's signals
  /// reach the program itself), e.g. {"/usr/sbin/ip", "netns", "exec", "ns1"} to run the node
  /// in a network namespace. The first word must be a path (it is not looked up in PATH).
  std::vector<std::string> command_prefix;
  /// How long the program may take to print its ready line.
  std::chrono::milliseconds ready_timeout{10000};
  /// Copy the program's stderr to ours, each line prefixed with the node name (also turned on
  /// by the environment variable SYN_AGENT_ECHO=1). Always captured for stderr_text().
  bool echo_stderr = false;
};

/// A syn-node child process. Not copyable or movable (its reader threads point at it).
///
/// The constructor forks and execs the program with pipes on its stdin, stdout and stderr,
/// and waits for its ready line; it throws std::runtime_error when the program fails to start
/// or is not ready in time. Two reader threads split stdout into responses (matched to calls
/// by "id") and events, and capture stderr. The destructor kills (SIGKILL) and reaps the
/// child if it still runs. Every signal goes to this agent's own child pid only. The child
/// also gets SIGKILL if the thread that made the Agent dies (PR_SET_PDEATHSIG), so a crashed
/// test leaves no stray nodes: make Agents on a thread that outlives them (the test's).
///
/// Writing to a child that died must not kill the test, so the first Agent sets SIGPIPE to
/// be ignored in this process (children get the default back).
class Agent {
 public:
  /// Starts syn-node with `node_options` (a JSON object given with --json).
  explicit Agent(Term node_options, AgentConfig config = {});
  ~Agent();
  Agent(const Agent&) = delete;
  Agent& operator=(const Agent&) = delete;

  /// From the ready line.
  const std::string& name() const { return name_; }
  const std::string& endpoint() const { return endpoint_; }
  std::uint32_t creation() const { return creation_; }
  /// The program's start line ({"event":"ready", name, endpoint, creation, os_pid, http?}).
  const Term& started() const { return *ready_; }
  /// The child's OS process id.
  pid_t os_pid() const { return pid_; }

  // ---- the control protocol ----
  /// Sends a request (an "id" is added when absent) and returns the whole response, whatever
  /// its "ok". Throws std::runtime_error on timeout or when the program has exited.
  Term call(Term request, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// call({"cmd": cmd, ...args}).
  Term call(std::string_view cmd, Term args, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// As call, but throws std::runtime_error (with the error) unless the response is ok.
  Term ok(std::string_view cmd, Term args = Term::object(),
          std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Sends a request without waiting; returns its id for await().
  std::int64_t send_request(Term request);
  /// The response to a request sent with send_request (as call).
  Term await(std::int64_t id, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  /// Shorthands: spawn -> pid string; nodes() -> names.
  std::string spawn();
  std::vector<std::string> nodes();

  // ---- events and logs ----
  /// Waits for the first event line (an object with "event") that `match` accepts, removes it
  /// and returns it; nullopt after `timeout`.
  std::optional<Term> wait_event(const std::function<bool(const Term&)>& match,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// Waits for a {"event":"down"} with this monitor ref (see the monitor command).
  std::optional<Term> wait_down(std::int64_t ref, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  /// The events received and not yet taken by wait_event.
  std::vector<Term> events() const;
  /// Everything the program wrote on stderr so far.
  std::string stderr_text() const;
  /// Waits until the program's stderr contains `needle`.
  bool wait_stderr(std::string_view needle, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  // ---- the OS process ----
  /// SIGKILL and reap: a crash, for the cluster.
  void kill();
  /// SIGSTOP: the process freezes (a network cut, for the cluster).
  void stop();
  /// SIGCONT after stop().
  void resume();
  /// SIGTERM (graceful), then waits up to `timeout` for the exit; returns the exit status as
  /// wait() does, or SIGKILLs it and returns nullopt when it did not exit in time.
  std::optional<int> terminate(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Waits up to `timeout` for the child to exit and reaps it. Returns the exit code, or
  /// 128 + the signal number when killed by a signal; nullopt when still running.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// True until the child has been reaped.
  bool running() const;

 private:
  void start(const Term& node_options);
  void read_stdout();
  void read_stderr();
  void signal(int sig);
  [[noreturn]] void fail(const std::string& what) const;

  AgentConfig config_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  int stdout_fd_ = -1;
  int stderr_fd_ = -1;
  std::thread stdout_reader_;
  std::thread stderr_reader_;
  std::string name_;  // the requested name until the ready line arrives
  std::string endpoint_;
  std::uint32_t creation_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<Term> ready_;
  std::map<std::int64_t, Term> responses_;
  std::deque<Term> events_;
  std::vector<std::string> stray_lines_;  // stdout lines that are neither (kept for errors)
  std::string stderr_;
  bool stdout_closed_ = false;
  bool reaped_ = false;
  std::optional<int> exit_status_;
  std::int64_t next_id_ = 0;
  mutable std::mutex write_mutex_;
};

}  // namespace syn::test
