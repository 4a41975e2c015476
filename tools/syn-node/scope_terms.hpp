#pragma once
// What the registry and groups commands (and the event printer) share: the scope handles of a
// request, and the JSON forms of entries, members and reasons.
#include "commands.hpp"

#include <syn/events.hpp>
#include <syn/groups.hpp>
#include <syn/node.hpp>
#include <syn/registry.hpp>

#include <optional>
#include <string>
#include <vector>

namespace syn_node {

/// A syn::Error (misuse, e.g. a scope this node has not added) as a CommandError whose error
/// and code are both the Errc name, as unwrap() does for a failed syn::Result.
[[noreturn]] inline void rethrow_as_errc(const syn::Error& e) {
  std::string code(syn::to_string(e.code()));
  throw CommandError(code, code);
}

/// The registry of the request's "scope".
inline syn::Registry registry_of(Context& ctx, const Args& args) {
  try {
    return ctx.node().registry(args.string("scope"));
  } catch (const syn::Error& e) { rethrow_as_errc(e); }
}

/// The groups of the request's "scope".
inline syn::Groups groups_of(Context& ctx, const Args& args) {
  try {
    return ctx.node().groups(args.string("scope"));
  } catch (const syn::Error& e) { rethrow_as_errc(e); }
}

/// {pid, meta}.
inline syn::Term pid_meta_json(const syn::Pid& pid, const syn::Term& meta) {
  return {{"pid", pid.to_string()}, {"meta", meta}};
}
inline syn::Term entry_json(const syn::Entry& entry) { return pid_meta_json(entry.pid, entry.meta); }
inline syn::Term entry_json(const std::optional<syn::Entry>& entry) {
  return entry ? entry_json(*entry) : syn::Term(nullptr);
}
inline syn::Term member_json(const syn::Member& member) { return pid_meta_json(member.pid, member.meta); }
inline syn::Term members_json(const std::vector<syn::Member>& members) {
  syn::Term out = syn::Term::array();
  for (const auto& member : members) out.push_back(member_json(member));
  return out;
}
/// A subscription's event as {type: "join"|"leave"|"update", group, members} (commands_pg.cpp).
syn::Term group_event_json(const syn::GroupEvent& event);

/// {kind, exit_reason (process_exit only), node (remote_scope_node_up/down only)}.
inline syn::Term reason_json(const syn::Reason& reason) {
  syn::Term out = {{"kind", std::string(syn::to_string(reason.kind))}};
  if (reason.kind == syn::Reason::Kind::process_exit) out["exit_reason"] = reason.exit_reason;
  if (!reason.node.empty()) out["node"] = reason.node;
  return out;
}

/// The optional "node" field of a count request: counts of that node only.
inline std::optional<std::string> node_filter(const Args& args) {
  if (!args.has("node")) return std::nullopt;
  return args.string("node");
}

}  // namespace syn_node
