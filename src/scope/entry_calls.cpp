#include "scope/entry_calls.hpp"

#include "wire/meta_codec.hpp"
#include "wire/term_codec.hpp"

namespace syn::detail {

wire::entries::CallRequest update_request(const std::string& key, const Pid& pid, std::string meta,
                                          std::int64_t expected_time) {
  return {wire::entries::CallOp::update, key, pid.creation(), pid.id(), std::move(meta), expected_time};
}

UpdateAnswer stale_answer(wire::entries::Change change) {
  return UpdateAnswer{{}, true, meta_stored(std::move(change.stale_meta)), change.stale_time, 0};
}

std::optional<wire::entries::Holder> holder_of(const CallOutcome& taken) {
  if (!taken.payload || taken.payload->is_nil()) return std::nullopt;
  try {
    return wire::entries::decode_holder(*taken.payload);
  } catch (const wire::DecodeError&) { return std::nullopt; }
}

wire::entries::CallRequest put_request(const std::string& key, const Pid& pid, std::string meta) {
  return {wire::entries::CallOp::put, key, pid.creation(), pid.id(), std::move(meta), 0};
}

wire::entries::CallRequest remove_request(const std::string& key, const Pid& pid) {
  return {wire::entries::CallOp::remove, key, pid.creation(), pid.id(), {}, 0};
}

wire::entries::CallRequest put_counted_request(const std::string& key, const Pid& pid, std::string meta) {
  return {wire::entries::CallOp::put_counted, key, pid.creation(), pid.id(), std::move(meta), 0};
}

wire::entries::CallRequest many_request(wire::entries::CallOp op, const std::string& key, const std::vector<Pid>& pids,
                                        std::string meta) {
  wire::entries::CallRequest request{op, key, pids.empty() ? 0 : pids.front().creation(), 0, std::move(meta), 0, {}};
  request.pid_ids.reserve(pids.size());
  for (const auto& pid : pids) request.pid_ids.push_back(pid.id());
  return request;
}

wire::entries::CallRequest remove_counted_request(const std::string& key, const Pid& pid) {
  return {wire::entries::CallOp::remove_counted, key, pid.creation(), pid.id(), {}, 0};
}

Result<void> result_of(const WriteOutcome& outcome) {
  if (outcome.error) return syn::unexpected(*outcome.error);
  return {};
}

Result<void> settle(ScopeHost& node, const WriteOutcome& outcome) {
  node.wait_for_callback(outcome.event_seq);
  return result_of(outcome);
}

Result<void> settle(ScopeHost& node, std::future<Answer<void>> call) {
  auto answer = get_answer(call);
  node.wait_for_callback(answer.event_seq);
  return answer.result;
}

std::future<Result<void>> ready_result(Result<void> result) {
  std::promise<Result<void>> done;
  done.set_value(std::move(result));
  return done.get_future();
}

Pid peer_pid(ScopeHost& node, std::uint32_t node_atom, std::uint64_t id) {
  return Pid::from_atom(node_atom, node.up_creation(node_atom), id);
}

std::string encode_put(std::string_view key, const Pid& pid, std::int64_t time, std::string_view meta,
                       Reason::Kind reason) {
  wire::OutBuffer out;
  wire::entries::encode(
      out, wire::entries::Put{std::string(key), pid.id(), time, std::string(meta), static_cast<std::uint32_t>(reason)});
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
