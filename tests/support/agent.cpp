#include "support/agent.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <mutex>
#include <stdexcept>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace syn::test {

namespace {

using Clock = std::chrono::steady_clock;

void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
}

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

std::string tail(const std::string& text, std::size_t max = 2000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Term agent_options(const std::string& name, std::vector<std::string> seeds, std::vector<std::string> scopes) {
  return {{"name", name},
          {"listen", "tcp://127.0.0.1:0"},
          {"seeds", std::move(seeds)},
          {"scopes", std::move(scopes)},
          {"heartbeat_interval", 100},
          {"peer_timeout", 1000},
          {"call_timeout", 3000}};
}

Agent::Agent(Term node_options, AgentConfig config) : config_(std::move(config)) {
  if (const char* echo = std::getenv("SYN_AGENT_ECHO"); echo && std::string(echo) == "1") config_.echo_stderr = true;
  name_ = node_options.value("name", std::string("?"));
  try {
    start(node_options);
  } catch (...) {
    // The destructor does not run for a failed constructor: clean up here.
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      reaped_ = true;
    }
    close_fd(stdin_fd_);
    if (stdout_reader_.joinable()) stdout_reader_.join();
    if (stderr_reader_.joinable()) stderr_reader_.join();
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
    throw;
  }
}

void Agent::start(const Term& node_options) {
  ignore_sigpipe_once();
  std::string binary = config_.binary;
  if (binary.empty()) {
    if (const char* env = std::getenv("SYN_NODE_BINARY")) binary = env;
  }
  if (binary.empty())
    throw std::runtime_error("Agent: no syn-node binary (set AgentConfig::binary or SYN_NODE_BINARY)");

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args = config_.command_prefix;
  args.insert(args.end(), {binary, "--json", node_options.dump()});
  args.insert(args.end(), config_.extra_args.begin(), config_.extra_args.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string exec_failed = "Agent: cannot execute " + args.front() + "\n";

  // Close-on-exec everywhere: no other child may inherit our ends, or its copy would hold a
  // pipe open and hide this child's exit.
  int in[2], out[2], err[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("Agent: pipe2 failed");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    throw std::runtime_error("Agent: pipe2 failed");
  }
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]), ::close(out[0]), ::close(out[1]);
    throw std::runtime_error("Agent: pipe2 failed");
  }
  pid_t parent = ::getpid();
  pid_t child = ::fork();
  if (child < 0) {
    for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
    throw std::runtime_error(std::string("Agent: fork failed: ") + std::strerror(errno));
  }
  if (child == 0) {
    // Dies with the thread that started it, so a crashed test leaves no stray node.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::execv(argv[0], argv.data());
    (void)!::write(2, exec_failed.data(), exec_failed.size());
    ::_exit(127);
  }
  pid_ = child;
  ::close(in[0]);
  ::close(out[1]);
  ::close(err[1]);
  stdin_fd_ = in[1];
  stdout_fd_ = out[0];
  stderr_fd_ = err[0];
  stdout_reader_ = std::thread([this] { read_stdout(); });
  stderr_reader_ = std::thread([this] { read_stderr(); });

  std::unique_lock lock(mutex_);
  bool ready = changed_.wait_for(lock, config_.ready_timeout, [&] { return ready_ || stdout_closed_; });
  if (!ready_) {
    std::string why = ready ? "exited before it was ready" : "not ready in time";
    lock.unlock();
    fail(why);
  }
  // name_ stays the requested name (the same): the stderr reader reads it.
  endpoint_ = ready_->at("endpoint").get<std::string>();
  creation_ = ready_->at("creation").get<std::uint32_t>();
}

Agent::~Agent() {
  if (!reaped_) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {}
    reaped_ = true;
  }
  close_fd(stdin_fd_);
  // The child is gone, so both pipes reach end of file and the readers finish.
  if (stdout_reader_.joinable()) stdout_reader_.join();
  if (stderr_reader_.joinable()) stderr_reader_.join();
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

// ---- readers --------------------------------------------------------------------------------

void Agent::read_stdout() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(stdout_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    pending.append(buffer, static_cast<std::size_t>(n));
    std::size_t newline;
    while ((newline = pending.find('\n')) != std::string::npos) {
      std::string line = pending.substr(0, newline);
      pending.erase(0, newline + 1);
      Term value;
      try {
        value = Term::parse(line);
      } catch (const std::exception&) { value = nullptr; }
      std::lock_guard lock(mutex_);
      if (value.is_object() && value.contains("event") && value["event"].is_string()) {
        if (value["event"] == "ready" && !ready_) {
          ready_ = value;
        } else {
          events_.push_back(std::move(value));
        }
      } else if (value.is_object() && value.contains("id") && value["id"].is_number_integer()) {
        auto id = value["id"].get<std::int64_t>();
        responses_[id] = std::move(value);
      } else {
        stray_lines_.push_back(line);
      }
      changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  stdout_closed_ = true;
  changed_.notify_all();
}

void Agent::read_stderr() {
  std::string pending;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(stderr_fd_, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    std::string chunk(buffer, static_cast<std::size_t>(n));
    if (config_.echo_stderr) {
      pending += chunk;
      std::size_t newline;
      while ((newline = pending.find('\n')) != std::string::npos) {
        std::fprintf(stderr, "[%s] %s\n", name_.c_str(), pending.substr(0, newline).c_str());
        pending.erase(0, newline + 1);
      }
    }
    std::lock_guard lock(mutex_);
    stderr_ += chunk;
    changed_.notify_all();
  }
}

// ---- the control protocol -------------------------------------------------------------------

std::int64_t Agent::send_request(Term request) {
  std::int64_t id;
  {
    std::lock_guard lock(mutex_);
    id = ++next_id_;
  }
  if (!request.is_object()) throw std::invalid_argument("Agent: a request must be a JSON object");
  if (request.contains("id") && request["id"].is_number_integer()) {
    id = request["id"].get<std::int64_t>();
  } else {
    request["id"] = id;
  }
  std::string line = request.dump() + "\n";
  std::lock_guard write_lock(write_mutex_);
  const char* data = line.data();
  std::size_t left = line.size();
  while (left > 0) {
    ssize_t n = stdin_fd_ < 0 ? -1 : ::write(stdin_fd_, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail("cannot write to its stdin (" + std::string(std::strerror(errno)) + ")");
    data += n;
    left -= static_cast<std::size_t>(n);
  }
  return id;
}

Term Agent::await(std::int64_t id, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, timeout, [&] { return responses_.count(id) != 0 || stdout_closed_; });
  auto it = responses_.find(id);
  if (it == responses_.end()) {
    std::string why = stdout_closed_ ? "exited before answering request " + std::to_string(id)
                                     : "no answer to request " + std::to_string(id) + " within " +
                                           std::to_string(timeout.count()) + " ms";
    lock.unlock();
    fail(why);
  }
  Term response = std::move(it->second);
  responses_.erase(it);
  return response;
}

Term Agent::call(Term request, std::chrono::milliseconds timeout) {
  auto id = send_request(std::move(request));
  return await(id, timeout);
}

Term Agent::call(std::string_view cmd, Term args, std::chrono::milliseconds timeout) {
  Term request = args.is_object() ? std::move(args) : Term::object();
  request["cmd"] = std::string(cmd);
  return call(std::move(request), timeout);
}

Term Agent::ok(std::string_view cmd, Term args, std::chrono::milliseconds timeout) {
  Term request = args.is_object() ? std::move(args) : Term::object();
  request["cmd"] = std::string(cmd);
  std::string text = request.dump();
  Term response = call(std::move(request), timeout);
  if (response.value("ok", false) != true) fail("request " + text + " failed: " + response.dump());
  return response;
}

std::string Agent::spawn() { return ok("spawn")["pid"].get<std::string>(); }

std::vector<std::string> Agent::nodes() { return ok("nodes")["nodes"].get<std::vector<std::string>>(); }

// ---- events and logs ------------------------------------------------------------------------

std::optional<Term> Agent::wait_event(const std::function<bool(const Term&)>& match,
                                      std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (auto it = events_.begin(); it != events_.end(); ++it) {
      if (match(*it)) {
        Term event = std::move(*it);
        events_.erase(it);
        return event;
      }
    }
    if (stdout_closed_) return std::nullopt;
    if (changed_.wait_until(lock, deadline) == std::cv_status::timeout) {
      // One last look: the event may have come with the timeout.
      for (auto it = events_.begin(); it != events_.end(); ++it) {
        if (match(*it)) {
          Term event = std::move(*it);
          events_.erase(it);
          return event;
        }
      }
      return std::nullopt;
    }
  }
}

std::optional<Term> Agent::wait_down(std::int64_t ref, std::chrono::milliseconds timeout) {
  return wait_event(
      [ref](const Term& e) { return e.value("event", "") == "down" && e.contains("ref") && e["ref"] == ref; }, timeout);
}

std::vector<Term> Agent::events() const {
  std::lock_guard lock(mutex_);
  return {events_.begin(), events_.end()};
}

std::string Agent::stderr_text() const {
  std::lock_guard lock(mutex_);
  return stderr_;
}

bool Agent::wait_stderr(std::string_view needle, std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, timeout, [&] { return stderr_.find(needle) != std::string::npos; });
}

// ---- the OS process -------------------------------------------------------------------------

void Agent::signal(int sig) {
  if (reaped_) fail("is not running (signal " + std::to_string(sig) + ")");
  ::kill(pid_, sig);
}

void Agent::kill() {
  signal(SIGKILL);
  if (!wait(std::chrono::seconds(10))) fail("survived SIGKILL");
}

void Agent::stop() {
  signal(SIGSTOP);
  // Returns once it is really stopped, so that what follows is timed from the freeze.
  int status = 0;
  pid_t r;
  while ((r = ::waitpid(pid_, &status, WUNTRACED)) < 0 && errno == EINTR) {}
  if (r == pid_ && !WIFSTOPPED(status)) {
    reaped_ = true;
    exit_status_ = decode_status(status);
    fail("exited instead of stopping");
  }
}

void Agent::resume() { signal(SIGCONT); }

std::optional<int> Agent::terminate(std::chrono::milliseconds timeout) {
  signal(SIGTERM);
  ::kill(pid_, SIGCONT);  // a stopped process acts on SIGTERM only once continued
  if (auto status = wait(timeout)) return status;
  ::kill(pid_, SIGKILL);
  wait(std::chrono::seconds(10));
  return std::nullopt;
}

std::optional<int> Agent::wait(std::chrono::milliseconds timeout) {
  if (reaped_) return exit_status_;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_ && (WIFEXITED(status) || WIFSIGNALED(status))) {
      reaped_ = true;
      exit_status_ = decode_status(status);
      return exit_status_;
    }
    if (r < 0 && errno != EINTR) {
      // Not our child any more (cannot happen unless someone else reaped it).
      reaped_ = true;
      return exit_status_;
    }
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

bool Agent::running() const { return !reaped_; }

[[noreturn]] void Agent::fail(const std::string& what) const {
  std::string message = "agent " + name_ + " (pid " + std::to_string(pid_) + "): " + what;
  std::lock_guard lock(mutex_);
  if (!stray_lines_.empty()) message += "\n  stdout: " + tail(stray_lines_.back(), 500);
  for (const auto& e : events_) {
    if (e.value("event", "") == "error") message += "\n  error: " + e.value("error", "");
  }
  if (!stderr_.empty()) message += "\n  stderr: " + tail(stderr_);
  throw std::runtime_error(message);
}

}  // namespace syn::test
