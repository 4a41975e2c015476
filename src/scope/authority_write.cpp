#include "scope/authority_write.hpp"

#include "wire/entry_messages.hpp"

namespace syn::detail {

void answer_caller(ScopeEngine& engine, const WriteOutcome& out, std::uint32_t caller, std::uint64_t request_id) {
  if (caller == 0) return;
  if (out.error) {
    wire::OutBuffer holder;
    if (out.holder) wire::entries::encode_holder(holder, out.holder->pid, out.holder->meta);
    engine.reply(caller, request_id, status_of(*out.error), holder.view());
    return;
  }
  wire::OutBuffer reply;
  if (out.count) wire::entries::begin_counted_reply(reply, *out.count);
  if (out.statuses) wire::entries::begin_many_reply(reply, *out.statuses);
  if (out.stale) {
    wire::entries::encode_stale(reply, out.current_meta, out.current_time);
  } else if (out.change.empty()) {
    wire::entries::encode_none(reply);
  } else {
    reply.append(out.change);
  }
  engine.reply(caller, request_id, 0, reply.view());
}

}  // namespace syn::detail
