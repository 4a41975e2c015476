#pragma once
// What the examples' narrated demos share: printing the story, checking each step, and the
// node a demo runs as a child OS process (this same program started with `role name seeds...`).
#include "common/node_process.hpp"

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace examples {

/// A step of the story, as a heading.
inline void say(const std::string& text) {
  std::printf("\n== %s\n", text.c_str());
  std::fflush(stdout);
}

/// A remark under the current step.
inline void note(const std::string& text) {
  std::printf("   %s\n", text.c_str());
  std::fflush(stdout);
}

/// Stops the demo with a clear message when a step did not do what it should.
inline void expect(bool ok, const std::string& what) {
  if (!ok) throw std::runtime_error("the demo expected " + what);
}

/// Like expect, for a node's answer to a command that should be "ok": the message carries
/// what it answered instead (the error code), which is what one needs to know why.
inline void expect_ok(const std::string& answer, const std::string& what) {
  if (answer != "ok") throw std::runtime_error("the demo expected " + what + ", the node answered: " + answer);
}

/// A node of the demo, running in a child process started as `program <role> <name> <seeds...>`,
/// which answers "ready <endpoint>" once it is up.
struct DemoNode {
  std::string role;  ///< the command-line flag that makes the program a node: "--gateway"...
  std::string name;
  std::unique_ptr<NodeProcess> process;
  std::string endpoint;

  void start(const std::vector<std::string>& seeds) {
    std::vector<std::string> args{role, name};
    args.insert(args.end(), seeds.begin(), seeds.end());
    process = std::make_unique<NodeProcess>(self_path(), args);
    std::string ready = process->read_line();
    if (ready.rfind("ready ", 0) != 0) throw std::runtime_error(name + " did not start: " + ready);
    endpoint = ready.substr(6);
  }
  std::string ask(const std::string& command) { return process->ask(command); }
  int number(const std::string& command) { return std::stoi(ask(command)); }
};

}  // namespace examples
