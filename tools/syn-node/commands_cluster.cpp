// Cluster commands: identity, links, counters, and stopping the program.
#include "commands.hpp"

namespace syn_node {

SYN_NODE_COMMAND(endpoint, "endpoint -> {endpoint, name, creation}") {
  return {{"endpoint", ctx.node().endpoint()}, {"name", ctx.node().name()}, {"creation", ctx.node().creation()}};
}

SYN_NODE_COMMAND(nodes, "nodes -> {nodes: [name...]} (connected now, sorted)") {
  return {{"nodes", ctx.node().nodes()}};
}

SYN_NODE_COMMAND(connect, "connect{endpoint} -> {} (asynchronous: watch nodes)") {
  ctx.node().connect(args.string("endpoint"));
  return {};
}

SYN_NODE_COMMAND(disconnect, "disconnect{node} -> {} (no redial until someone connects)") {
  ctx.node().disconnect(args.string("node"));
  return {};
}

SYN_NODE_COMMAND(stats,
                 "stats -> {frames_received, frames_sent, malformed_frames, refused_peers, link_resets, "
                 "connections_lost, oversized_terms}") {
  return syn::Term(ctx.node().stats());
}

SYN_NODE_COMMAND(quit, "quit -> {} then the node leaves gracefully and the program exits 0") {
  ctx.request_stop();
  return {};
}

}  // namespace syn_node
