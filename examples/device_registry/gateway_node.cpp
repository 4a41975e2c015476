// A gateway as a child process of the demo: one command per line on stdin, one answer per
// line on file descriptor 3 (see common/node_process.hpp).
#include "common/node_process.hpp"
#include "device_gateway.hpp"

#include <iostream>
#include <sstream>

namespace examples {

int run_gateway(const std::string& name, const std::vector<std::string>& seeds) {
  DeviceGateway gateway(name, seeds);
  answer("ready " + gateway.node().endpoint());
  std::string line;
  while (std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    if (command == "device") {
      int serial;
      std::string firmware, site;
      in >> serial >> firmware >> site;
      auto result = gateway.connect_device(serial, firmware, site);
      answer(result ? "ok" : std::string(syn::to_string(result.error())));
    } else if (command == "lookup") {
      int serial;
      in >> serial;
      auto entry = gateway.devices().lookup(device_name(serial));
      answer(entry ? entry->pid.to_string() + " " + entry->meta.dump() : "none");
    } else if (command == "ping") {
      int serial;
      in >> serial;
      auto reply = gateway.ping(serial, std::chrono::seconds(2));
      answer(reply ? reply->dump() : "no answer");
    } else if (command == "count") {
      answer(std::to_string(gateway.devices().count()));
    } else if (command == "nodes") {
      answer(std::to_string(gateway.node().nodes().size()));
    } else if (command == "disconnect") {
      std::string node;
      in >> node;
      gateway.node().disconnect(node);
      answer("ok");
    } else if (command == "connect") {
      std::string endpoint;
      in >> endpoint;
      gateway.node().connect(endpoint);
      answer("ok");
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
