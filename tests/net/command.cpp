#include "net/command.hpp"

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sstream>
#include <stdexcept>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

namespace syn::test::net {

namespace {

bool is_executable(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
}

void write_all(int fd, const std::string& text) {
  const char* data = text.data();
  std::size_t left = text.size();
  while (left > 0) {
    ssize_t n = ::write(fd, data, left);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return;  // the child stopped reading: its exit status will tell why
    data += n;
    left -= static_cast<std::size_t>(n);
  }
}

}  // namespace

std::string command_text(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& word : argv) {
    if (!out.empty()) out += ' ';
    out += word.find_first_of(" \t'\"") == std::string::npos ? word : "'" + word + "'";
  }
  return out;
}

std::optional<std::string> find_program(const std::string& program) {
  if (program.find('/') != std::string::npos) {
    if (is_executable(program)) return program;
    return std::nullopt;
  }
  std::string path = std::getenv("PATH") ? std::getenv("PATH") : "";
  path += ":/usr/local/sbin:/usr/sbin:/sbin";
  std::stringstream dirs(path);
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    if (dir.empty()) continue;
    std::string candidate = dir + "/" + program;
    if (is_executable(candidate)) return candidate;
  }
  return std::nullopt;
}

CommandResult run_command(const std::vector<std::string>& argv, const std::string& input) {
  if (argv.empty()) throw std::invalid_argument("run_command: empty command");
  auto program = find_program(argv[0]);
  if (!program) throw std::runtime_error("run_command: " + argv[0] + " not found in PATH");

  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> words = argv;
  words[0] = *program;
  std::vector<char*> args;
  for (auto& w : words) args.push_back(w.data());
  args.push_back(nullptr);

  // Close-on-exec, so that no other child (an Agent's node) inherits our ends and holds them.
  int in[2], out[2];
  if (::pipe2(in, O_CLOEXEC) != 0) throw std::runtime_error("run_command: pipe2 failed");
  if (::pipe2(out, O_CLOEXEC) != 0) {
    ::close(in[0]), ::close(in[1]);
    throw std::runtime_error("run_command: pipe2 failed");
  }
  pid_t child = ::fork();
  if (child < 0) {
    for (int fd : {in[0], in[1], out[0], out[1]}) ::close(fd);
    throw std::runtime_error(std::string("run_command: fork failed: ") + std::strerror(errno));
  }
  if (child == 0) {
    ::dup2(in[0], 0);
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  // The inputs are small (an nft script): they fit in the pipe before the child reads.
  write_all(in[1], input);
  ::close(in[1]);

  CommandResult result;
  char buffer[4096];
  for (;;) {
    ssize_t n = ::read(out[0], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    result.output.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(out[0]);
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {}
  if (WIFEXITED(status))
    result.status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status))
    result.status = 128 + WTERMSIG(status);
  return result;
}

std::string run_checked(const std::vector<std::string>& argv, const std::string& input) {
  auto result = run_command(argv, input);
  if (result.status != 0) {
    std::string message = "`" + command_text(argv) + "` failed with exit status " + std::to_string(result.status);
    if (result.status == 127) message += " (could not be executed)";
    if (!result.output.empty()) message += ": " + result.output;
    if (!input.empty()) message += "\n  its input was:\n" + input;
    throw std::runtime_error(message);
  }
  return result.output;
}

}  // namespace syn::test::net
