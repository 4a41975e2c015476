// Cluster commands: identity, connecting, and stopping the program (nodes, stats, health and
// ready are the control endpoint's: syn/control.hpp).
#include "commands.hpp"

namespace syn_node {

SYN_NODE_COMMAND(endpoint, "endpoint -> {endpoint, name, creation}") {
  return {{"endpoint", ctx.node().endpoint()}, {"name", ctx.node().name()}, {"creation", ctx.node().creation()}};
}

SYN_NODE_COMMAND(connect, "connect{endpoint} -> {} (asynchronous: watch nodes)") {
  ctx.node().connect(args.string("endpoint"));
  return {};
}

SYN_NODE_COMMAND(disconnect, "disconnect{node} -> {} (no redial until someone connects)") {
  ctx.node().disconnect(args.string("node"));
  return {};
}

SYN_NODE_COMMAND(quit, "quit -> {} then the node leaves gracefully and the program exits 0") {
  ctx.request_stop();
  return {};
}

}  // namespace syn_node
