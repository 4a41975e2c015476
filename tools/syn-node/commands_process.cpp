// Process commands: spawn processes owned by this agent, message them, kill and watch
// processes anywhere in the cluster.
#include "commands.hpp"
#include "scope_terms.hpp"

#include <cstdint>
#include <map>

namespace syn_node {

namespace {

// Monitors made through the protocol, by the ref we hand out. Our own numbering, chosen before
// Node::monitor is called, so that a down event firing at once already carries its ref.
// Control thread only.
struct MonitorRefs {
  std::uint64_t next = 0;
  std::map<std::uint64_t, syn::MonitorRef> refs;
};
MonitorRefs& monitor_refs() {
  static MonitorRefs refs;
  return refs;
}

}  // namespace

SYN_NODE_COMMAND(spawn, "spawn -> {pid} (a new process owned by this node)") {
  return {{"pid", ctx.adopt(ctx.node().spawn())}};
}

SYN_NODE_COMMAND(processes, "processes -> {processes: {pid: alive}} (those spawned here)") {
  syn::Term out = syn::Term::object();
  for (const auto& [pid, process] : ctx.processes()) out[pid] = process.alive();
  return {{"processes", out}};
}

SYN_NODE_COMMAND(exit_reason, "exit_reason{pid} -> {alive, reason} (an owned process; reason is null while alive)") {
  const auto& process = ctx.process(args.string("pid"));
  auto reason = process.exit_reason();
  return {{"alive", process.alive()}, {"reason", reason ? *reason : syn::Term(nullptr)}};
}

SYN_NODE_COMMAND(send, "send{to, message} -> {} (to a pid on any node; asynchronous)") {
  ctx.node().send(args.pid("to"), args.term("message"));
  return {};
}

SYN_NODE_COMMAND(exit, "exit{pid, reason=\"normal\"} -> {} (kills a process on any node)") {
  ctx.node().exit(args.pid("pid"), args.term_or("reason", "normal"));
  return {};
}

SYN_NODE_COMMAND(is_alive, "is_alive{pid} -> {alive} (exact for local pids; remote: node up)") {
  return {{"alive", ctx.node().is_alive(args.pid("pid"))}};
}

SYN_NODE_COMMAND(receive,
                 "receive{pid, timeout_ms=0} -> {message, group_event?} (null on timeout or once dead; a mailbox "
                 "subscription's event adds group_event {type, group, members}; blocks the control stream for up "
                 "to timeout_ms)") {
  auto& process = ctx.process(args.string("pid"));
  auto message = process.receive(args.millis_or("timeout_ms", std::chrono::milliseconds(0)));
  syn::Term out = {{"message", message ? message->body : syn::Term(nullptr)}, {"alive", process.alive()}};
  if (message && message->is_multi_call()) out["multi_call"] = true;
  if (message && message->group_event()) out["group_event"] = group_event_json(*message->group_event());
  return out;
}

SYN_NODE_COMMAND(monitor,
                 "monitor{pid} -> {ref}; later the event {event:\"down\", ref, pid, reason} "
                 "(exit reason, \"noproc\" or \"noconnection\")") {
  auto pid = args.pid("pid");
  auto& refs = monitor_refs();
  std::uint64_t ref = ++refs.next;
  Output& output = ctx.output();  // outlives the node, hence every callback
  refs.refs[ref] = ctx.node().monitor(pid, [&output, ref](const syn::Pid& target, const syn::Term& reason) {
    output.event("down", {{"ref", ref}, {"pid", target.to_string()}, {"reason", reason}});
  });
  return {{"ref", ref}};
}

SYN_NODE_COMMAND(demonitor, "demonitor{ref} -> {} (no down event afterwards)") {
  auto& refs = monitor_refs();
  auto it = refs.refs.find(static_cast<std::uint64_t>(args.integer("ref")));
  if (it == refs.refs.end()) throw CommandError("unknown monitor ref", "bad_argument");
  ctx.node().demonitor(it->second);
  refs.refs.erase(it);
  return {};
}

}  // namespace syn_node
