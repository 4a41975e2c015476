#pragma once
// Demo plumbing shared by the examples: run a node in a child OS process (this same program,
// started again with other arguments) and talk to it with one command line per request.
//
// The child reads commands on stdin and answers each with one line on file descriptor 3; its
// stdout stays the terminal's, so what its event handler prints shows up live.
#include <chrono>
#include <string>
#include <vector>

#include <sys/types.h>
#include <time.h>

namespace examples {

class NodeProcess {
 public:
  /// Starts `program args...` with the pipes set up; throws std::runtime_error on failure.
  NodeProcess(const std::string& program, const std::vector<std::string>& args);
  ~NodeProcess();
  NodeProcess(const NodeProcess&) = delete;
  NodeProcess& operator=(const NodeProcess&) = delete;

  /// Sends one command and returns its one-line answer (throws on timeout or a dead child).
  std::string ask(const std::string& command, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// Reads the next answer line without sending anything (e.g. the "ready" line).
  std::string read_line(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  /// SIGKILL, and reap.
  void kill_hard();
  /// Asks it to quit and reaps it.
  void quit();
  pid_t os_pid() const { return pid_; }
  bool running() const { return pid_ > 0; }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;
  int from_child_ = -1;
  std::string buffered_;
};

/// The path of this running program (to start it again as a node).
std::string self_path();

/// Polls `condition` every 20 ms until it holds or `timeout` passes.
template <class Condition>
bool wait_until(Condition&& condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!condition()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    struct timespec ts {
      0, 20'000'000
    };
    nanosleep(&ts, nullptr);
  }
  return true;
}

/// Child side: writes one answer line to the parent (file descriptor 3).
void answer(const std::string& line);

}  // namespace examples
