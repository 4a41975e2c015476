// Control commands about the node and its links: health, ready, nodes, scopes, stats, help.
#include "control/control_commands.hpp"
#include "control/event_tap.hpp"

#include "node/node_core.hpp"
#include "scope/scope_directory.hpp"

#include <syn/errors.hpp>
#include <syn/metrics.hpp>
#include <syn/version.hpp>

namespace syn::detail {

namespace {

Term health(Node& node, const ControlArgs&) {
  auto newest = node.core()->options().max_protocol_version;
  return {{"status", "alive"},
          {"node", node.name()},
          {"creation", node.creation()},
          {"incarnation", node.creation()},  // SPEC 9's word; `creation` as Pid and syn-node call it
          {"endpoint", node.endpoint()},
          {"version", syn::version},
          {"protocol", newest != 0 ? newest : syn::protocol_version},
          {"oldest_protocol", syn::oldest_protocol_version}};
}

Term recent_events(Node& node, const ControlArgs& args) {
  auto& tap = node.event_tap();
  tap.keep_recent();
  auto n = args.integer_or("n", static_cast<std::int64_t>(EventFeed::kRecent));
  if (n < 0) throw Error(Errc::bad_argument, "n must not be negative");
  Term events = Term::array();
  for (auto& line : tap.feed().recent(static_cast<std::size_t>(n))) events.push_back(std::move(line));
  return {{"events", std::move(events)}, {"seen", tap.feed().seen()}};
}

Term ready(Node& node, const ControlArgs&) {
  Term waiting = Term::array();
  for (const auto& [kind, scope] : node.scope_directory()->unsynced()) {
    waiting.push_back({{"kind", std::string(to_string(kind))}, {"scope", scope}});
  }
  return {{"ready", node.ready()}, {"seed_reached", node.core()->seed_reached()}, {"syncing", std::move(waiting)}};
}

Term nodes(Node& node, const ControlArgs&) {
  Term links = Term::array();
  for (const auto& link : node.core()->links()) {
    links.push_back(
        {{"node", link.name},
         {"endpoint", link.endpoint},
         {"creation", link.creation},
         {"incarnation", link.creation},  // SPEC 9's word for it
         {"state", link.up        ? "up"
                   : link.blocked ? "disconnected"
                                  : "down"},
         {"last_heard_ms", link.last_heard.count()},
         {"downs", link.downs},
         {"last_down", link.last_down},
         {"protocol", link.protocol},
         {"unread_bytes", link.unread_bytes},
         {"speaks", link.speaks_max == 0 ? std::string()
                                         : std::to_string(link.speaks_min) + "-" + std::to_string(link.speaks_max)}});
  }
  return {{"nodes", node.nodes()}, {"links", std::move(links)}};
}

Term scopes(Node& node, const ControlArgs&) {
  Term details = Term::array();
  for (const auto& scope : node.node_scopes()) {
    auto registry = node.registry(scope);
    auto groups = node.groups(scope);
    std::size_t members = 0;
    for (const auto& group : groups.group_names()) members += groups.member_count(group);
    details.push_back({{"scope", scope},
                       {"names", registry.count()},
                       {"local_names", registry.local_count()},
                       {"groups", groups.group_count()},
                       {"members", members},
                       {"multicast_groups", node.multicast(scope).group_names().size()},
                       {"registry_nodes", node.subcluster_nodes(Kind::registry, scope)},
                       {"groups_nodes", node.subcluster_nodes(Kind::groups, scope)},
                       {"multicast_nodes", node.subcluster_nodes(Kind::multicast, scope)}});
  }
  return {{"scopes", node.node_scopes()}, {"details", std::move(details)}};
}

Term stats(Node& node, const ControlArgs&) { return Term(node.stats()); }

Term metrics(Node& node, const ControlArgs&) { return {{"prometheus", to_prometheus(node.metrics())}}; }

Term help(Node&, const ControlArgs&) {
  Term commands = Term::object();
  for (const auto& [name, entry] : control_table().all()) {
    commands[name] = {{"usage", entry.command.usage}, {"writes", entry.command.writes}};
  }
  return {{"commands", std::move(commands)}};
}

}  // namespace

void add_cluster_commands(ControlTable& table) {
  table.add("health", Access::read,
            "health -> {status: \"alive\", node, creation, endpoint, version, protocol (the newest version offered), "
            "oldest_protocol}",
            health);
  table.add("recent_events", Access::read,
            "recent_events{n=50} -> {events: [line...], seen} (the node's last events, oldest first, as events "
            "--follow writes them; kept from the first time this is asked, at most 50; seen: events since then)",
            recent_events);
  table.add("ready", Access::read,
            "ready -> {ready, seed_reached, syncing: [{kind, scope}...]} (SPEC 9: a seed reached, every scope synced)",
            ready);
  table.add(
      "nodes", Access::read,
      "nodes -> {nodes: [name...] (up now), links: [{node, endpoint, creation, state: up|down|disconnected, "
      "last_heard_ms, downs, last_down, protocol (the link's version, 0 when down), unread_bytes (sent to it, not "
      "yet read by it: max_link_backlog bounds it), speaks (the versions its hello offered, min-max)}...]}",
      nodes);
  table.add("scopes", Access::read,
            "scopes -> {scopes: [name...], details: [{scope, names, local_names, groups, members, multicast_groups, "
            "registry_nodes, groups_nodes, multicast_nodes}...]}",
            scopes);
  table.add("stats", Access::read,
            "stats -> {frames_received, frames_sent, malformed_frames, refused_peers, link_resets, connections_lost, "
            "oversized_terms}",
            stats);
  table.add("metrics", Access::read, "metrics -> {prometheus: TEXT} (Node::metrics() in the Prometheus text format)",
            metrics);
  table.add("help", Access::read, "help -> {commands: {name: {usage, writes}}}", help);
}

}  // namespace syn::detail
