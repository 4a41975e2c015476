#pragma once
// Running the system tools the network lab needs (ip, nft) as child processes, with their
// exit status checked and their output kept for error messages. No shell: arguments are
// passed as they are, so names and addresses are never reinterpreted.
#include <optional>
#include <string>
#include <vector>

namespace syn::test::net {

/// What a finished command did.
struct CommandResult {
  int status = -1;     ///< exit code, or 128 + signal number when killed by a signal
  std::string output;  ///< stdout and stderr, interleaved as written
};

/// Runs `argv` (argv[0] an absolute path or a name looked up in PATH) with `input` on its stdin
/// and waits for it. Throws std::runtime_error only when it cannot be started at all.
CommandResult run_command(const std::vector<std::string>& argv, const std::string& input = {});

/// As run_command, but a non-zero exit is a std::runtime_error quoting the command line,
/// its exit status and its output.
std::string run_checked(const std::vector<std::string>& argv, const std::string& input = {});

/// The absolute path of `program` found in PATH (and the sbin directories, which a non-login
/// root shell may lack), or nullopt.
std::optional<std::string> find_program(const std::string& program);

/// The command line as one readable string, for messages.
std::string command_text(const std::vector<std::string>& argv);

}  // namespace syn::test::net
