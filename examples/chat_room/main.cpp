// chat_room: rooms as process groups across a cluster of chat servers.
//
//   chat_room                         runs the demo: three servers as separate OS processes
//   chat_room --server NAME [SEED...] one server (what the demo starts)
#include "common/cluster_key.hpp"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace examples {
int run_server(const std::string& name, const std::vector<std::string>& seeds);
int run_demo();
}  // namespace examples

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "--server") == 0) {
      return examples::run_server(argv[2], std::vector<std::string>(argv + 3, argv + argc));
    }
    examples::make_demo_cluster_key();  // every node process it starts shares it
    return examples::run_demo();
  } catch (const std::exception& e) {
    std::cerr << "chat_room: " << e.what() << '\n';
    return 1;
  }
}
