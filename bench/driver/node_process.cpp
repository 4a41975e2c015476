#include "driver/node_process.hpp"

#include "common/clock.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace syn::bench {

NodeProcess::NodeProcess(const std::string& binary, const Term& options, const std::string& log_path,
                         std::chrono::milliseconds ready_timeout)
    : name_(options.value("name", "?")), log_path_(log_path) {
  int in_pipe[2], out_pipe[2];
  if (pipe2(in_pipe, O_CLOEXEC) != 0 || pipe2(out_pipe, O_CLOEXEC) != 0) fail("pipe failed");
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (log_fd < 0) fail("cannot open log " + log_path + ": " + std::strerror(errno));
  std::string json = options.dump();
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) fail("fork failed");
  if (pid_ == 0) {
    // The child: only async-signal-safe calls until exec.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    dup2(in_pipe[0], STDIN_FILENO);
    dup2(out_pipe[1], STDOUT_FILENO);
    dup2(log_fd, STDERR_FILENO);
    signal(SIGPIPE, SIG_DFL);
    char* argv[] = {const_cast<char*>(binary.c_str()), const_cast<char*>(json.c_str()), nullptr};
    execv(binary.c_str(), argv);
    _exit(127);
  }
  close(in_pipe[0]);
  close(out_pipe[1]);
  close(log_fd);
  in_fd_ = in_pipe[1];
  out_fd_ = out_pipe[0];
  auto deadline = now_ns() + ready_timeout.count() * 1'000'000;
  while (!ready_ && ready_error_.empty() && now_ns() < deadline) {
    if (!pump(std::chrono::milliseconds(50))) break;
  }
  if (!ready_) {
    std::string why = ready_error_.empty() ? "not ready in time" : ready_error_;
    stop(std::chrono::milliseconds(100));
    fail("node did not start: " + why + " (log: " + log_path_ + ")");
  }
}

NodeProcess::~NodeProcess() {
  try {
    stop();
  } catch (...) {}
}

void NodeProcess::fail(const std::string& what) const { throw std::runtime_error(name_ + ": " + what); }

std::int64_t NodeProcess::send(const std::string& cmd, Term args) {
  if (!running() || closed_) fail("send '" + cmd + "' to a node that is not running");
  std::int64_t id = next_id_++;
  args["id"] = id;
  args["cmd"] = cmd;
  std::string line = args.dump() + "\n";
  std::size_t done = 0;
  while (done < line.size()) {
    ssize_t n = write(in_fd_, line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail("write to the node failed: " + std::string(std::strerror(errno)));
    done += static_cast<std::size_t>(n);
  }
  return id;
}

Term NodeProcess::await(std::int64_t id, std::chrono::milliseconds timeout, bool allow_error) {
  auto deadline = now_ns() + timeout.count() * 1'000'000;
  for (;;) {
    auto it = answers_.find(id);
    if (it != answers_.end()) {
      Term answer = std::move(it->second);
      answers_.erase(it);
      if (!allow_error && !answer.value("ok", false)) fail(answer.value("error", std::string("failed")));
      return answer;
    }
    auto left = (deadline - now_ns()) / 1'000'000;
    if (left <= 0)
      fail("no answer to request " + std::to_string(id) + " within " + std::to_string(timeout.count()) + " ms");
    if (!pump(std::chrono::milliseconds(std::min<std::int64_t>(left, 200)))) {
      fail("the node closed its channel (crashed?); see " + log_path_);
    }
  }
}

Term NodeProcess::call(const std::string& cmd, Term args, std::chrono::milliseconds timeout) {
  return await(send(cmd, std::move(args)), timeout);
}

bool NodeProcess::pump(std::chrono::milliseconds wait) {
  if (closed_) return false;
  pollfd p{out_fd_, POLLIN, 0};
  int r = poll(&p, 1, static_cast<int>(wait.count()));
  if (r < 0 && errno == EINTR) return true;
  if (r <= 0) return true;
  char chunk[65536];
  ssize_t n = read(out_fd_, chunk, sizeof chunk);
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return true;
  if (n <= 0) {
    closed_ = true;
    return false;
  }
  buffer_.append(chunk, static_cast<std::size_t>(n));
  std::size_t start = 0;
  for (std::size_t nl; (nl = buffer_.find('\n', start)) != std::string::npos; start = nl + 1) {
    handle_line(buffer_.substr(start, nl - start));
  }
  buffer_.erase(0, start);
  return true;
}

void NodeProcess::handle_line(const std::string& line) {
  Term msg = Term::parse(line, nullptr, false);
  if (msg.is_discarded() || !msg.is_object()) return;  // not ours: ignore
  if (msg.contains("event")) {
    if (msg["event"] == "ready") {
      ready_ = true;
      name_ = msg.value("name", name_);
      endpoint_ = msg.value("endpoint", "");
    } else if (msg["event"] == "error") {
      ready_error_ = msg.value("error", "error");
    }
    return;
  }
  if (msg.contains("id") && msg["id"].is_number_integer()) {
    auto id = msg["id"].get<std::int64_t>();
    answers_[id] = std::move(msg);
  }
}

bool NodeProcess::reap(std::chrono::milliseconds timeout) {
  auto deadline = now_ns() + timeout.count() * 1'000'000;
  for (;;) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      pid_ = -1;
      return true;
    }
    if (now_ns() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

std::int64_t NodeProcess::kill() {
  if (!running()) return now_ns();
  std::int64_t t = begin_kill();
  reap(std::chrono::seconds(10));
  closed_ = true;
  return t;
}

std::int64_t NodeProcess::begin_kill() {
  std::int64_t t = now_ns();
  if (running()) ::kill(pid_, SIGKILL);
  return t;
}

void NodeProcess::pause() {
  if (running()) ::kill(pid_, SIGSTOP);
}

void NodeProcess::resume() {
  if (running()) ::kill(pid_, SIGCONT);
}

void NodeProcess::begin_stop() {
  if (running() && !closed_) {
    try {
      send("quit");
    } catch (...) {}
  }
  if (in_fd_ >= 0) {
    close(in_fd_);  // the end of stdin also makes it quit
    in_fd_ = -1;
  }
}

void NodeProcess::finish_stop(std::chrono::milliseconds timeout) {
  if (running() && !reap(timeout)) {
    ::kill(pid_, SIGKILL);
    reap(std::chrono::seconds(10));
  }
  if (out_fd_ >= 0) close(out_fd_);
  out_fd_ = -1;
  closed_ = true;
}

void NodeProcess::stop(std::chrono::milliseconds timeout) {
  begin_stop();
  finish_stop(timeout);
}

}  // namespace syn::bench
