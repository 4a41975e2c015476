#pragma once
// What the registry and the groups handlers share about writes: the outcome of a write at the
// authority, the reply a remote caller gets for it, and the call a non-authority node makes.
// Both handlers replicate entries (key, pid) -> (meta, time), so they speak the same messages
// (wire/entry_messages.hpp).
#include "common/clock.hpp"
#include "common/spin_wait.hpp"
#include "node/scope_host.hpp"
#include "scope/call_table.hpp"
#include "scope/scope_engine.hpp"
#include "wire/entry_messages.hpp"

#include <syn/result.hpp>

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

namespace syn::detail {

/// What a write did at the authority: its error, the change to send to a remote caller, and
/// the last callback it queued (which the calling node waits for before returning).
struct WriteOutcome {
  std::optional<Errc> error;
  std::string change;  ///< encoded Put / Del for a remote caller; empty: nothing changed
  bool stale = false;  ///< update: the expected time is not current any more
  std::string current_meta;
  std::int64_t current_time = 0;
  std::uint64_t event_seq = 0;
  std::optional<std::uint64_t> count;  ///< a counted join / leave: the count after it
  /// A list write (put_many / remove_many): one status per pid, in order (0 or 1 + Errc).
  std::optional<std::vector<std::uint32_t>> statuses;
  /// A registration found the name taken: the holder, as this authority saw it.
  std::optional<wire::entries::Holder> holder;
};

/// Where a write's caller wants the holder of a name found taken (see WriteOutcome::holder).
/// Shared: the reply that fills it runs on the engine thread, also after a caller gave up.
using HolderSlot = std::shared_ptr<std::optional<wire::entries::Holder>>;

/// A call's answer on the calling thread, with the last callback to wait for.
template <class T>
struct Answer {
  Result<T> result;
  std::uint64_t event_seq = 0;
  static Answer failed(Errc e) { return {syn::unexpected(e), 0}; }
};

/// The answer to a compare-and-set update: success, failure, or stale with the current value.
struct UpdateAnswer {
  Result<void> result;
  bool stale = false;
  std::string current_meta;
  std::int64_t current_time = 0;
  std::uint64_t event_seq = 0;
  static UpdateAnswer failed(Errc e) { return {syn::unexpected(e), false, {}, 0, 0}; }
};

/// A failed A: Result<void> or one of the answers above.
template <class A>
A failed_as(Errc e) {
  if constexpr (std::is_same_v<A, Result<void>>) {
    return syn::unexpected(e);
  } else {
    return A::failed(e);
  }
}

/// Waits for a call's answer (spinning first when the thread's last waits were short:
/// SpinWait); a stopped engine drops the call: node_down.
template <class A>
A get_answer(std::future<A>& future) {
  const auto start = SteadyClock::now();
  auto ready = [&] { return future.wait_for(std::chrono::seconds(0)) == std::future_status::ready; };
  SpinWait::maybe_spin(start, TimePoint::max(), ready);
  try {
    A answer = future.get();
    SpinWait::record(start, true);
    return answer;
  } catch (const std::future_error&) {
    SpinWait::record(start, false);
    return failed_as<A>(Errc::node_down);
  }
}

/// The requests of call_write.
wire::entries::CallRequest put_request(const std::string& key, const Pid& pid, std::string meta);
wire::entries::CallRequest remove_request(const std::string& key, const Pid& pid);
wire::entries::CallRequest put_counted_request(const std::string& key, const Pid& pid, std::string meta);
wire::entries::CallRequest remove_counted_request(const std::string& key, const Pid& pid);
/// A list write for `pids`, all of one node incarnation (`pids.front()`'s).
wire::entries::CallRequest many_request(wire::entries::CallOp op, const std::string& key, const std::vector<Pid>& pids,
                                        std::string meta);
wire::entries::CallRequest update_request(const std::string& key, const Pid& pid, std::string meta,
                                          std::int64_t expected_time);
/// The answer to an update that found the entry changed: the current meta and time.
UpdateAnswer stale_answer(wire::entries::Change change);

/// Sends `request` about `pid` to the node running it, through `engine` (whose handler there
/// answers). `on_outcome(const CallOutcome&) -> A` runs on the engine thread and turns the
/// reply into A, applying the change it carries; it also runs for a late reply (after a
/// timeout) so that the change still reaches this replica. `min_protocol`: the oldest link
/// protocol that understands `request` (an older peer is not sent it: bad_argument). One type-erased callback on the
/// way back (the call table's); the rest is inlined.
template <class A, class OnOutcome>
std::future<A> call_authority(ScopeEngine& engine, const Pid& pid, const wire::entries::CallRequest& request,
                              OnOutcome on_outcome, std::uint32_t min_protocol = 0) {
  ScopeHost& node = engine.host();
  auto promise = std::make_shared<std::promise<A>>();
  auto future = promise->get_future();
  if (pid.is_null() || pid.node_atom() == node.atom()) {
    // An old incarnation of this node (or no pid at all): that process is dead.
    promise->set_value(failed_as<A>(Errc::not_alive));
    return future;
  }
  if (!node.is_connected(pid)) {
    // Up under another incarnation: the pid is of the old one, dead. Else unreachable.
    promise->set_value(failed_as<A>(node.is_up(pid.node_atom()) ? Errc::not_alive : Errc::node_down));
    return future;
  }
  wire::OutBuffer payload;
  wire::entries::encode(payload, request);
  engine.call(
      pid.node_atom(), payload.release(), node.options().call_timeout,
      [promise, on_outcome = std::move(on_outcome)](const CallOutcome& outcome) mutable {
        try {
          A answer = on_outcome(outcome);
          if (!outcome.late) promise->set_value(std::move(answer));
        } catch (const wire::DecodeError&) {
          if (!outcome.late) promise->set_value(failed_as<A>(Errc::node_down));
          throw;  // counted and logged as a malformed message
        }
      },
      min_protocol);
  return future;
}

/// The holder a `taken` answer carries; none from a peer of before holders travelled (or
/// one whose holder does not decode: the caller then falls back on its own replica).
std::optional<wire::entries::Holder> holder_of(const CallOutcome& taken);

/// A put or a remove for `pid`, sent to its node. `apply_change(authority, change)` runs on the
/// engine thread: it applies here the change the reply carries (read-your-writes) and returns
/// the sequence of the last callback it queued. A `taken` answer fills `holder` (if any)
/// before the future is ready.
template <class A, class ApplyChange>
std::future<A> call_write(ScopeEngine& engine, const Pid& pid, const wire::entries::CallRequest& request,
                          ApplyChange apply_change, HolderSlot holder = nullptr) {
  std::uint32_t authority = pid.node_atom();
  return call_authority<A>(
      engine, pid, request,
      [authority, apply_change = std::move(apply_change), holder = std::move(holder)](const CallOutcome& o) -> A {
        if (o.status != 0) {
          if (holder && o.status == status_of(Errc::taken)) *holder = holder_of(o);
          return failed_as<A>(errc_of(o.status));
        }
        std::uint64_t seq = apply_change(authority, wire::entries::decode_change(*o.payload));
        if constexpr (std::is_same_v<A, Result<void>>) {
          return {};
        } else {
          return A{{}, seq};
        }
      });
}

/// A compare-and-set update of the meta of (key, pid) sent to the node of `pid`: applied there
/// only while the entry's time is still `expected_time`, else answered stale with the current
/// meta and time. `apply_change` as for call_write.
template <class ApplyChange>
std::future<UpdateAnswer> call_update(ScopeEngine& engine, const Pid& pid, const std::string& key, std::string meta,
                                      std::int64_t expected_time, ApplyChange apply_change) {
  std::uint32_t authority = pid.node_atom();
  return call_authority<UpdateAnswer>(engine, pid, update_request(key, pid, std::move(meta), expected_time),
                                      [authority, apply_change = std::move(apply_change)](const CallOutcome& o) {
                                        if (o.status != 0) return UpdateAnswer::failed(errc_of(o.status));
                                        auto change = wire::entries::decode_change(*o.payload);
                                        if (change.op == wire::entries::Op::stale)
                                          return stale_answer(std::move(change));
                                        return UpdateAnswer{{}, false, {}, 0, apply_change(authority, change)};
                                      });
}

/// A write's result as a Result.
Result<void> result_of(const WriteOutcome& outcome);
/// A synchronous write's result once this node ran the callbacks it caused: a write done here
/// (the process is local), or a call to the process's node.
Result<void> settle(ScopeHost& node, const WriteOutcome& outcome);
Result<void> settle(ScopeHost& node, std::future<Answer<void>> call);
/// A result already known, as the future of an asynchronous call.
std::future<Result<void>> ready_result(Result<void> result);

/// A pid of peer `node_atom` (its current incarnation), from its local id. Engine thread.
Pid peer_pid(ScopeHost& node, std::uint32_t node_atom, std::uint64_t id);

/// Encoded replicated changes.
std::string encode_put(std::string_view key, const Pid& pid, std::int64_t time, std::string_view meta,
                       Reason::Kind reason);
std::string encode_del(std::string_view key, const Pid& pid, std::int64_t time, Reason::Kind reason,
                       const Term& exit_reason = nullptr);

/// The Reason a replicated change carries.
Reason reason_of(std::uint32_t kind, std::string_view exit_reason, std::uint32_t from);

}  // namespace syn::detail
