#pragma once
/// \file
/// Message: what a process receives.

#include <syn/term.hpp>

#include <memory>

namespace syn {

struct GroupEvent;

namespace detail {
struct MultiCallContext;
struct SubscriptionEvent;
}  // namespace detail

/// A message in a process's mailbox.
///
/// Plain messages carry only a body. A message sent by Groups::multi_call also carries the
/// member's own meta and a way to answer the call. A message of a mailbox subscription
/// (Groups::monitor with a subscriber process) carries a GroupEvent and a null body.
struct Message {
  /// What was sent.
  Term body{};

  /// True for a multi_call request (see Groups::multi_call).
  bool is_multi_call() const { return call != nullptr; }
  /// For a multi_call: the receiving member's own meta in the group; null otherwise.
  const Term& caller_meta() const;
  /// For a multi_call: answers it. Only the first answer counts; late answers (after the
  /// call's timeout) and answers to plain messages are dropped. Throws Error{bad_argument}
  /// when the answer's encoding is over NodeOptions::max_term_bytes (the call is not answered).
  void reply(Term answer) const;

  /// For a mailbox subscription's message: the membership change; null for any other message.
  /// Valid as long as this Message lives.
  const GroupEvent* group_event() const;

  /// Internal: the multi_call this message belongs to, if any.
  std::shared_ptr<const detail::MultiCallContext> call{};
  /// Internal: the subscription event this message carries, if any.
  std::shared_ptr<const detail::SubscriptionEvent> event{};
};

}  // namespace syn
