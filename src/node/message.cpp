#include <syn/message.hpp>

#include "node/multi_call_context.hpp"

namespace syn {

const Term& Message::caller_meta() const {
  static const Term null_term;
  return call ? call->member_meta : null_term;
}

void Message::reply(Term answer) const {
  if (!call || call->replied.exchange(true)) return;
  if (call->send_reply) call->send_reply(std::move(answer));
}

}  // namespace syn
