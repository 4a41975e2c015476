// replicated_state: a configuration kept identical on every node by a multicast group.
//
//   replicated_state                          runs the demo: nodes as separate OS processes
//   replicated_state --replica NAME [SEED...] one node (what the demo starts)
#include "common/cluster_key.hpp"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace examples {
int run_replica(const std::string& name, const std::vector<std::string>& seeds);
int run_demo();
}  // namespace examples

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "--replica") == 0) {
      return examples::run_replica(argv[2], std::vector<std::string>(argv + 3, argv + argc));
    }
    examples::make_demo_cluster_key();  // every node process it starts shares it
    return examples::run_demo();
  } catch (const std::exception& e) {
    std::cerr << "replicated_state: " << e.what() << '\n';
    return 1;
  }
}
