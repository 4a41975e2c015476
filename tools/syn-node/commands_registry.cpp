// Registry commands: one per call of syn::Registry, on the request's "scope". A "pid" may be a
// process this agent owns or any pid string of the cluster; results and errors as in
// commands.hpp ({"ok":false,"error":"<Errc name>","code":"<Errc name>"}).
#include "commands.hpp"
#include "scope_terms.hpp"

#include <future>
#include <utility>
#include <vector>

namespace syn_node {

namespace {

/// The owned process named by the request's `key`, when it is ours and the request does not
/// say "self": false (then the call goes through the Pid overload, as from any other code).
const syn::Process* owned_self(Context& ctx, const Args& args, const std::string& key) {
  if (!args.boolean_or("self", true)) return nullptr;
  return ctx.find_process(args.string(key));
}

syn::Term results_json(std::vector<std::future<syn::Result<void>>>& futures) {
  syn::Term out = syn::Term::array();
  for (auto& future : futures) {
    auto result = future.get();
    out.push_back(result ? std::string("ok") : std::string(syn::to_string(result.error())));
  }
  return out;
}

}  // namespace

SYN_NODE_COMMAND(register,
                 "register{scope, name, pid, meta=null, self=true} -> {} (an owned pid registers "
                 "itself unless self is false: the Process& overload, allowed in strict mode)") {
  auto registry = registry_of(ctx, args);
  const auto& name = args.term("name");
  auto meta = args.term_or("meta", nullptr);
  if (const auto* self = owned_self(ctx, args, "pid")) {
    unwrap(registry.register_name(name, *self, std::move(meta)));
  } else {
    unwrap(registry.register_name(name, args.pid("pid"), std::move(meta)));
  }
  return {};
}

SYN_NODE_COMMAND(register_async,
                 "register_async{scope, entries: [{name, pid, meta=null}...]} -> {results: [\"ok\" | "
                 "errc...]} (pipelined with register_name_async, in order)") {
  auto registry = registry_of(ctx, args);
  const auto& entries = args.term("entries");
  if (!entries.is_array()) throw CommandError("field 'entries' must be an array", "bad_argument");
  std::vector<std::future<syn::Result<void>>> futures;
  for (const auto& entry : entries) {
    Args fields(entry);
    futures.push_back(
        registry.register_name_async(fields.term("name"), fields.pid("pid"), fields.term_or("meta", nullptr)));
  }
  return {{"results", results_json(futures)}};
}

SYN_NODE_COMMAND(unregister, "unregister{scope, name} -> {}") {
  unwrap(registry_of(ctx, args).unregister_name(args.term("name")));
  return {};
}

SYN_NODE_COMMAND(unregister_async,
                 "unregister_async{scope, names: [name...]} -> {results: [\"ok\" | errc...]} "
                 "(pipelined, in order)") {
  auto registry = registry_of(ctx, args);
  const auto& names = args.term("names");
  if (!names.is_array()) throw CommandError("field 'names' must be an array", "bad_argument");
  std::vector<std::future<syn::Result<void>>> futures;
  for (const auto& name : names) futures.push_back(registry.unregister_name_async(name));
  return {{"results", results_json(futures)}};
}

SYN_NODE_COMMAND(update,
                 "update{scope, name, meta, as=pid?} -> {entry} (sets the meta through "
                 "Registry::update; with an owned pid in \"as\", the Process& overload)") {
  auto registry = registry_of(ctx, args);
  auto meta = args.term("meta");
  auto set = [meta](const syn::Pid&, const syn::Term&) { return meta; };
  if (args.has("as")) {
    return {{"entry", entry_json(unwrap(registry.update(args.term("name"), ctx.process(args.string("as")), set)))}};
  }
  return {{"entry", entry_json(unwrap(registry.update(args.term("name"), set)))}};
}

SYN_NODE_COMMAND(lookup, "lookup{scope, name} -> {entry: {pid, meta} | null}") {
  return {{"entry", entry_json(registry_of(ctx, args).lookup(args.term("name")))}};
}

SYN_NODE_COMMAND(lookup_many, "lookup_many{scope, names: [name...]} -> {entries: [{pid, meta} | null...]}") {
  auto registry = registry_of(ctx, args);
  const auto& names = args.term("names");
  if (!names.is_array()) throw CommandError("field 'names' must be an array", "bad_argument");
  syn::Term entries = syn::Term::array();
  for (const auto& name : names) entries.push_back(entry_json(registry.lookup(name)));
  return {{"entries", entries}};
}

SYN_NODE_COMMAND(whereis, "whereis{scope, name} -> {pid} (null when not registered)") {
  auto pid = registry_of(ctx, args).whereis(args.term("name"));
  return {{"pid", pid ? syn::Term(pid->to_string()) : syn::Term(nullptr)}};
}

SYN_NODE_COMMAND(count, "count{scope, node?} -> {count} (names in this replica, or of that node)") {
  auto registry = registry_of(ctx, args);
  auto node = node_filter(args);
  return {{"count", node ? registry.count(*node) : registry.count()}};
}

SYN_NODE_COMMAND(local_count, "local_count{scope} -> {count} (names of this node's processes)") {
  return {{"count", registry_of(ctx, args).local_count()}};
}

SYN_NODE_COMMAND(send_name, "send_name{scope, name, message} -> {sent} (false when not registered)") {
  return {{"sent", registry_of(ctx, args).send(args.term("name"), args.term("message"))}};
}

}  // namespace syn_node
