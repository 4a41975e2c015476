#include <syn/message.hpp>

#include "node/multi_call_context.hpp"
#include "node/subscription_event.hpp"
#include "wire/term_codec.hpp"

#include <syn/errors.hpp>

namespace syn {

const Term& Message::caller_meta() const {
  static const Term null_term;
  return call ? call->member_meta : null_term;
}

const GroupEvent* Message::group_event() const { return event ? &event->event : nullptr; }

void Message::reply(Term answer) const {
  if (!call) return;
  // Checked before the call counts as answered: the member may still send a smaller reply.
  if (!wire::fits_within(answer, call->max_reply_bytes)) {
    throw Error(Errc::bad_argument, "the multi_call reply is larger than NodeOptions.max_term_bytes (" +
                                        std::to_string(call->max_reply_bytes) + " bytes encoded)");
  }
  if (call->replied.exchange(true)) return;
  if (call->send_reply) call->send_reply(std::move(answer));
}

}  // namespace syn
