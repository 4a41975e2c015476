#include "support/cluster.hpp"

#include <algorithm>

namespace syn::test {

NodeOptions test_options(const std::string& name, std::vector<std::string> scopes) {
  NodeOptions o;
  o.name = name;
  o.listen = "tcp://127.0.0.1:0";
  o.scopes = std::move(scopes);
  o.heartbeat_interval = std::chrono::milliseconds(100);
  o.peer_timeout = std::chrono::milliseconds(1000);
  o.call_timeout = std::chrono::milliseconds(3000);
  return o;
}

Cluster::Cluster(std::size_t n, std::vector<std::string> scopes, const std::string& prefix, bool auto_connect) {
  for (std::size_t i = 0; i < n; ++i) {
    auto o = test_options(prefix + std::to_string(i + 1), scopes);
    o.auto_connect = auto_connect;
    if (i > 0) {
      if (auto_connect) {
        o.seeds.push_back(nodes_[0]->endpoint());
      } else {
        for (auto& node : nodes_) o.seeds.push_back(node->endpoint());
      }
    }
    nodes_.push_back(std::make_unique<Node>(std::move(o)));
  }
}

Cluster::Cluster(std::vector<NodeOptions> options, bool seed_first) {
  for (std::size_t i = 0; i < options.size(); ++i) {
    if (seed_first && i > 0) options[i].seeds.push_back(nodes_[0]->endpoint());
    nodes_.push_back(std::make_unique<Node>(std::move(options[i])));
  }
}

bool sees_exactly(const Node& node, std::vector<std::string> expected) {
  auto actual = node.nodes();
  std::sort(expected.begin(), expected.end());
  return actual == expected;
}

bool Cluster::wait_full_mesh(std::chrono::milliseconds timeout) {
  return eventually(
      [&] {
        for (auto& node : nodes_) {
          if (!node) continue;
          std::vector<std::string> others;
          for (auto& other : nodes_) {
            if (other && other.get() != node.get()) others.push_back(other->name());
          }
          if (!sees_exactly(*node, others)) return false;
        }
        return true;
      },
      timeout);
}

}  // namespace syn::test
