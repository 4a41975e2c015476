#include "net/net_checks.hpp"

#include <cstdio>

namespace syn::test::net {

void report_skip(const std::string& why) {
  std::printf("%s: %s\n", kSkipMarker, why.c_str());
  std::fflush(stdout);
}

std::string lookup_pid(test::Agent& node, const std::string& scope, const Term& name) {
  auto entry = node.ok("lookup", {{"scope", scope}, {"name", name}})["entry"];
  return entry.is_null() ? std::string() : entry["pid"].get<std::string>();
}

std::map<std::string, Term> members_of(test::Agent& node, const std::string& scope, const Term& group) {
  std::map<std::string, Term> out;
  // Named: a range-for over a member of a temporary would read it after its destruction.
  auto response = node.ok("members", {{"scope", scope}, {"group", group}});
  for (const auto& m : response["members"]) { out[m["pid"].get<std::string>()] = m["meta"]; }
  return out;
}

std::string register_new(NetCluster& cluster, int host, const std::string& scope, const Term& name, const Term& meta) {
  auto& node = cluster.node(host);
  auto pid = node.spawn();
  node.ok("register", {{"scope", scope}, {"name", name}, {"pid", pid}, {"meta", meta}});
  return pid;
}

}  // namespace syn::test::net
