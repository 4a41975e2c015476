// A replica as a child process of the demo: one command per line on stdin, one answer per line
// on file descriptor 3 (see common/node_process.hpp).
#include "common/node_process.hpp"
#include "replica.hpp"

#include <iostream>
#include <sstream>

namespace examples {

int run_replica(const std::string& name, const std::vector<std::string>& seeds) {
  Replica replica(name, seeds);
  answer("ready " + replica.node().endpoint());
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    auto result = [](const syn::Result<void>& r) {
      return r ? std::string("ok") : std::string(syn::to_string(r.error()));
    };
    if (command == "start") {
      answer(result(replica.start()));
    } else if (command == "set") {
      std::string key, value;
      in >> key;
      std::getline(in >> std::ws, value);
      answer(result(replica.set(key, syn::Term::parse(value))));
    } else if (command == "set_many") {
      std::string prefix;
      int count = 0;
      in >> prefix >> count;
      answer(result(replica.set_many(prefix, count)));
    } else if (command == "dump") {
      answer(replica.dump());
    } else if (command == "digest") {
      answer(replica.digest());
    } else if (command == "members") {
      answer(std::to_string(replica.members()));
    } else if (command == "ready") {
      answer(replica.ready() ? "1" : "0");
    } else if (command == "nodes") {
      answer(std::to_string(replica.node().nodes().size()));
    } else if (command == "quit") {
      answer("bye");
      break;
    } else {
      answer("unknown command: " + command);
    }
  }
  return 0;
}

}  // namespace examples
