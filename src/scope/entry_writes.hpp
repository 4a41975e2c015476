#pragma once
// The API side of the writes the registry and the groups share: a put (register_name / join)
// and a remove (unregister_name / leave), synchronous or asynchronous. Each checks its
// arguments, then writes here when the process is local (this node is its authority) or calls
// the process's node, and a synchronous one returns once this node ran the callbacks the
// write caused (SPEC 2 and 4).
//
// `Handler` provides (public):
//   ScopeEngine& engine();
//   WriteOutcome authority_put(const std::string& key, const Pid&, std::string meta, std::uint32_t caller,
//                              std::uint64_t request_id = 0);
//   WriteOutcome authority_remove(const std::string& key, const Pid&, std::uint32_t caller,
//                                 std::uint64_t request_id = 0);
//   std::uint64_t apply_reply_change(std::uint32_t authority, const wire::entries::Change&);
#include "node/scope_host.hpp"
#include "scope/entry_calls.hpp"
#include "scope/live_handle.hpp"
#include "wire/meta_codec.hpp"
#include "wire/term_codec.hpp"

#include <syn/result.hpp>

#include <future>
#include <string>
#include <type_traits>

namespace syn::detail {

/// Compare-and-set attempts of an update before it gives up with race_condition (SPEC 3).
inline constexpr int kMaxUpdateAttempts = 1000;

/// A write's return type: Result<void> (synchronous) or its future (asynchronous).
template <class R>
inline constexpr bool kAsyncWrite = std::is_same_v<R, std::future<Result<void>>>;

/// A result known before anything was sent, as R.
template <class R>
R write_result(Result<void> result) {
  if constexpr (kAsyncWrite<R>) {
    return ready_result(std::move(result));
  } else {
    return result;
  }
}

/// A write done here, as R: a synchronous one waits for the callbacks it queued.
template <class R>
R local_write_result(ScopeHost& node, const WriteOutcome& outcome) {
  if constexpr (kAsyncWrite<R>) {
    return ready_result(result_of(outcome));
  } else {
    return settle(node, outcome);
  }
}

/// `request` sent to the node of `pid`, as R; the change of its reply is applied here, and a
/// holder it carries goes to `holder` (if any).
template <class R, class Handler>
R remote_write(Handler& handler, const Pid& pid, const wire::entries::CallRequest& request,
               HolderSlot holder = nullptr) {
  auto apply = [&handler](std::uint32_t authority, const wire::entries::Change& change) {
    return handler.apply_reply_change(authority, change);
  };
  if constexpr (kAsyncWrite<R>) {
    return call_write<Result<void>>(handler.engine(), pid, request, apply, std::move(holder));
  } else {
    return settle(handler.engine().host(),
                  call_write<Answer<void>>(handler.engine(), pid, request, apply, std::move(holder)));
  }
}

/// register_name / join (and their _async forms, with `by_self` false): `key_term` -> `pid`
/// with `meta`. A registration that finds the name taken puts its holder, as the authority
/// saw it, in `holder` (if any).
template <class R, class Handler>
R put_entry(Handler& handler, const Term& key_term, const Pid& pid, const Term& meta, bool by_self,
            HolderSlot holder = nullptr) {
  ScopeHost& node = handler.engine().host();
  if (auto refused = write_refused(handler.engine(), node.stopped())) return write_result<R>(syn::unexpected(*refused));
  if (node.options().strict_mode && !by_self) return write_result<R>(syn::unexpected(Errc::not_self));
  std::string key = wire::canonical(key_term);
  std::string meta_bytes = meta_canonical(meta);
  if (!node.fits(key, meta_bytes)) return write_result<R>(syn::unexpected(Errc::bad_argument));
  if (node.is_local(pid)) {
    auto outcome = handler.authority_put(key, pid, std::move(meta_bytes), 0);
    if (holder) *holder = outcome.holder;
    return local_write_result<R>(node, outcome);
  }
  return remote_write<R>(handler, pid, put_request(key, pid, std::move(meta_bytes)), std::move(holder));
}

/// The canonical key of an unregister_name / leave, or why the call fails before it starts.
inline Result<std::string> removal_key(ScopeEngine& engine, const Term& key_term) {
  ScopeHost& node = engine.host();
  if (auto refused = write_refused(engine, node.stopped())) return syn::unexpected(*refused);
  std::string key = wire::canonical(key_term);
  if (!node.fits(key)) return syn::unexpected(Errc::bad_argument);
  return key;
}

/// unregister_name / leave (and their _async forms): removes (`key`, `pid`).
template <class R, class Handler>
R remove_entry(Handler& handler, const std::string& key, const Pid& pid) {
  ScopeHost& node = handler.engine().host();
  if (node.is_local(pid)) return local_write_result<R>(node, handler.authority_remove(key, pid, 0));
  return remote_write<R>(handler, pid, remove_request(key, pid));
}

}  // namespace syn::detail
