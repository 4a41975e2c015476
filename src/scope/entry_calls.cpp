#include "scope/entry_calls.hpp"

#include "registry/registry_terms.hpp"
#include "wire/term_codec.hpp"

namespace syn::detail {

void reply_with(ScopeEngine& engine, std::uint32_t from, std::uint64_t request_id, const WriteOutcome& outcome) {
  if (outcome.error) {
    engine.reply(from, request_id, status_of(*outcome.error), {});
    return;
  }
  wire::OutBuffer reply;
  if (outcome.stale) {
    wire::entries::encode_stale(reply, outcome.current_meta, outcome.current_time);
  } else if (outcome.change.empty()) {
    wire::entries::encode_none(reply);
  } else {
    reply.append(outcome.change);
  }
  engine.reply(from, request_id, 0, reply.view());
}

Pid peer_pid(NodeCore& node, std::uint32_t node_atom, std::uint64_t id) {
  return Pid::from_atom(node_atom, node.engine().transport().up_creation(node_atom), id);
}

std::string encode_put(std::string_view key, const Pid& pid, std::int64_t time, std::string_view meta,
                       Reason::Kind reason) {
  wire::OutBuffer out;
  wire::entries::encode(out, wire::entries::Put{std::string(key), pid.id(), time, std::string(meta),
                                                static_cast<std::uint32_t>(reason)});
  return out.release();
}

std::string encode_del(std::string_view key, const Pid& pid, std::int64_t time, Reason::Kind reason,
                       const Term& exit_reason) {
  wire::OutBuffer out;
  wire::entries::encode(out, wire::entries::Del{std::string(key), pid.id(), time, static_cast<std::uint32_t>(reason),
                                                wire::canonical(exit_reason)});
  return out.release();
}

Reason reason_of(std::uint32_t kind, std::string_view exit_reason, std::uint32_t from) {
  switch (static_cast<Reason::Kind>(kind)) {
    case Reason::Kind::process_exit: return Reason::process_exit(meta_term(meta_stored(std::string(exit_reason))));
    case Reason::Kind::conflict_resolution: return Reason::conflict();
    case Reason::Kind::remote_scope_node_up: return Reason::node_up(node_name_of(from));
    case Reason::Kind::remote_scope_node_down: return Reason::node_down(node_name_of(from));
    case Reason::Kind::undefined: return Reason{Reason::Kind::undefined, nullptr, {}};
    case Reason::Kind::normal: return Reason::normal();
  }
  throw wire::DecodeError("unknown reason kind " + std::to_string(kind));
}

}  // namespace syn::detail
