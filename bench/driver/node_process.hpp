#pragma once
/// \file
/// One syn-bench-node child process and its control channel (JSON lines over pipes).

#include <syn/term.hpp>

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

namespace syn::bench {

/// A syn-bench-node child: fork/exec with pipes on stdin and stdout, stderr appended to a log
/// file. Signals go to this child's own pid only. The child gets SIGKILL if the driver dies
/// (PR_SET_PDEATHSIG). The destructor stops it (quit, then SIGKILL if it lingers) and reaps it.
class NodeProcess {
 public:
  /// Starts `binary` with the NodeOptions JSON `options`; waits for its ready line.
  /// Throws std::runtime_error when it fails to start or is not ready within `ready_timeout`.
  NodeProcess(const std::string& binary, const Term& options, const std::string& log_path,
              std::chrono::milliseconds ready_timeout = std::chrono::seconds(20));
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  /// The node's name and bound endpoint (from its ready line).
  const std::string& name() const { return name_; }
  const std::string& endpoint() const { return endpoint_; }
  /// The child's OS pid.
  pid_t os_pid() const { return pid_; }
  /// Where its stderr goes.
  const std::string& log_path() const { return log_path_; }

  /// Sends {"cmd": cmd, ...args} without waiting; returns its id for await().
  std::int64_t send(const std::string& cmd, Term args = Term::object());
  /// Waits for the answer to request `id`; throws std::runtime_error on timeout, on a closed
  /// channel, or (unless `allow_error`) when the answer has ok = false.
  Term await(std::int64_t id, std::chrono::milliseconds timeout, bool allow_error = false);
  /// send + await.
  Term call(const std::string& cmd, Term args = Term::object(),
            std::chrono::milliseconds timeout = std::chrono::seconds(60));

  /// SIGKILL now and reap (a crash, for the cluster). Returns the monotonic time of the kill.
  std::int64_t kill();
  /// First half of kill(): SIGKILL now, without waiting (lets several nodes die at once);
  /// kill() afterwards reaps. Returns the monotonic time of the kill.
  std::int64_t begin_kill();
  /// SIGSTOP: the node freezes (its links stay open, it answers nothing) until resume().
  void pause();
  /// SIGCONT after pause().
  void resume();
  /// Asks the node to quit and waits up to `timeout`; SIGKILLs it when it lingers.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// First half of stop(): asks the node to quit and closes its stdin (lets several nodes
  /// quit at once).
  void begin_stop();
  /// Second half of stop(): waits up to `timeout` for the exit, then SIGKILL; reaps.
  void finish_stop(std::chrono::milliseconds timeout = std::chrono::seconds(15));
  /// True until reaped.
  bool running() const { return pid_ > 0; }

 private:
  /// Reads what is available (waiting up to `wait`); false when the channel closed.
  bool pump(std::chrono::milliseconds wait);
  void handle_line(const std::string& line);
  bool reap(std::chrono::milliseconds timeout);
  [[noreturn]] void fail(const std::string& what) const;

  std::string name_;
  std::string endpoint_;
  std::string log_path_;
  pid_t pid_ = -1;
  int in_fd_ = -1;   // the child's stdin
  int out_fd_ = -1;  // the child's stdout
  std::string buffer_;
  bool ready_ = false;
  bool closed_ = false;
  std::string ready_error_;
  std::map<std::int64_t, Term> answers_;
  std::int64_t next_id_ = 1;
};

}  // namespace syn::bench
