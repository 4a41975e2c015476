// device_registry: IoT devices registered by serial number across a cluster of gateways.
//
//   device_registry            runs the demo: three gateways as separate OS processes
//   device_registry --gateway NAME [SEED...]   one gateway (what the demo starts)
#include "common/cluster_key.hpp"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace examples {
int run_gateway(const std::string& name, const std::vector<std::string>& seeds);
int run_demo();
}  // namespace examples

int main(int argc, char** argv) {
  try {
    if (argc >= 3 && std::strcmp(argv[1], "--gateway") == 0) {
      return examples::run_gateway(argv[2], std::vector<std::string>(argv + 3, argv + argc));
    }
    examples::make_demo_cluster_key();  // every node process it starts shares it
    return examples::run_demo();
  } catch (const std::exception& e) {
    std::cerr << "device_registry: " << e.what() << '\n';
    return 1;
  }
}
