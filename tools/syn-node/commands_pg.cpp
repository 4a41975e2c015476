// Groups commands for what OTP pg users expect (SPEC 4): counted joins, joins of a list of
// pids, and subscriptions (callbacks printed as events, or events into a process's mailbox,
// which the receive command then shows).
#include "commands.hpp"
#include "scope_terms.hpp"

#include <cstdint>
#include <map>
#include <utility>

namespace syn_node {

namespace {

struct Subscriptions {
  std::uint64_t next = 0;
  std::map<std::uint64_t, syn::Subscription> active;
};
Subscriptions& subscriptions() {
  static Subscriptions all;
  return all;
}

std::vector<syn::Pid> pid_list(const Args& args) {
  std::vector<syn::Pid> out;
  for (const auto& text : args.strings("pids")) {
    auto pid = syn::Pid::parse(text);
    if (!pid) throw CommandError("field 'pids' holds a malformed pid: " + text, "bad_argument");
    out.push_back(*pid);
  }
  return out;
}

/// One result per pid: null for success, else the Errc's name.
syn::Term results_json(const std::vector<syn::Result<void>>& results) {
  syn::Term out = syn::Term::array();
  for (const auto& r : results)
    out.push_back(r ? syn::Term(nullptr) : syn::Term(std::string(syn::to_string(r.error()))));
  return out;
}

syn::Subscription& subscription_of(const Args& args) {
  auto it = subscriptions().active.find(static_cast<std::uint64_t>(args.integer("sub")));
  if (it == subscriptions().active.end()) throw CommandError("unknown subscription", "bad_argument");
  return it->second;
}

}  // namespace

syn::Term group_event_json(const syn::GroupEvent& event) {
  const char* type = event.type == syn::GroupEvent::Type::join     ? "join"
                     : event.type == syn::GroupEvent::Type::update ? "update"
                                                                   : "leave";
  return {{"type", type}, {"group", event.group}, {"members", members_json(event.members)}};
}

SYN_NODE_COMMAND(join_counted,
                 "join_counted{scope, group, pid, meta=null, self=true} -> {count} (Groups::join_counted; an owned "
                 "pid joins itself unless self is false)") {
  auto groups = groups_of(ctx, args);
  auto meta = args.term_or("meta", nullptr);
  const syn::Process* self = args.boolean_or("self", true) ? ctx.find_process(args.string("pid")) : nullptr;
  auto count = self ? groups.join_counted(args.term("group"), *self, std::move(meta))
                    : groups.join_counted(args.term("group"), args.pid("pid"), std::move(meta));
  return {{"count", unwrap(std::move(count))}};
}

SYN_NODE_COMMAND(leave_counted, "leave_counted{scope, group, pid} -> {count} (0: the membership is gone)") {
  return {{"count", unwrap(groups_of(ctx, args).leave_counted(args.term("group"), args.pid("pid")))}};
}

SYN_NODE_COMMAND(join_list,
                 "join_list{scope, group, pids: [pid...], meta=null} -> {results: [null | errc...]} (one per pid, in "
                 "order)") {
  auto results = groups_of(ctx, args).join(args.term("group"), pid_list(args), args.term_or("meta", nullptr));
  return {{"results", results_json(results)}};
}

SYN_NODE_COMMAND(leave_list, "leave_list{scope, group, pids: [pid...]} -> {results: [null | errc...]}") {
  return {{"results", results_json(groups_of(ctx, args).leave(args.term("group"), pid_list(args)))}};
}

SYN_NODE_COMMAND(subscribe,
                 "subscribe{scope, group?, pid?} -> {sub, current} (Groups::monitor, or monitor_scope without group; "
                 "with pid, an owned process, the events go to its mailbox, else each prints the event "
                 "{event:\"group_event\", sub, type, group, members}; current: the members, or {group: members} for "
                 "a scope)") {
  auto groups = groups_of(ctx, args);
  auto& all = subscriptions();
  std::uint64_t id = ++all.next;
  Output& output = ctx.output();  // outlives the node, hence every callback
  auto print = [&output, id](const syn::GroupEvent& event) {
    auto fields = group_event_json(event);
    fields["sub"] = id;
    output.event("group_event", std::move(fields));
  };
  const syn::Process* subscriber = args.has("pid") ? &ctx.process(args.string("pid")) : nullptr;
  syn::Term current;
  if (args.has("group")) {
    std::vector<syn::Member> members;
    all.active[id] = subscriber ? groups.monitor(args.term("group"), *subscriber, &members)
                                : groups.monitor(args.term("group"), print, &members);
    current = members_json(members);
  } else {
    std::map<syn::Term, std::vector<syn::Member>> members;
    all.active[id] = subscriber ? groups.monitor_scope(*subscriber, &members) : groups.monitor_scope(print, &members);
    current = syn::Term::array();
    for (const auto& [group, list] : members) current.push_back({{"group", group}, {"members", members_json(list)}});
  }
  return {{"sub", id}, {"current", current}};
}

SYN_NODE_COMMAND(subscription_active, "subscription_active{sub} -> {active}") {
  return {{"active", subscription_of(args).active()}};
}

SYN_NODE_COMMAND(unsubscribe, "unsubscribe{sub} -> {} (Subscription::cancel: also drops its queued mailbox events)") {
  subscription_of(args).cancel();
  subscriptions().active.erase(static_cast<std::uint64_t>(args.integer("sub")));
  return {};
}

}  // namespace syn_node
