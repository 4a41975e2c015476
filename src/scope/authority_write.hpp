#pragma once
// One write at the authority (the node running the process), as a type: it holds the outcome
// and the shard lock, and when it ends it answers the remote caller first and releases the
// lock after. Why the answer must leave under the lock: a user thread could otherwise apply a
// later change of the same key (an update, the process dying) and queue its broadcast ahead of
// the reply; the caller would apply that later change, then drop or wrongly keep the older one
// of the reply (a missed update callback, or an entry of a dead process kept for good).
// Answering under the lock keeps the reply in line with the changes of that key.
//
//   WriteOutcome RegistryScope::authority_put(...) {
//     return authority_write<RegistryTable::Shard::WriteLock>(engine_, caller, request_id, [&](auto& w) {
//       if (!alive) return w.fail(Errc::not_alive);
//       w.lock(shard);
//       ...
//       w.changed(encode_put(...), post_registered(...));
//     });
//   }
#include "scope/entry_calls.hpp"
#include "scope/scope_engine.hpp"

#include <syn/errors.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::detail {

/// Answers `caller` (0: a local call, nothing to answer) with what the write did. Engine
/// thread when `caller` != 0.
void answer_caller(ScopeEngine& engine, const WriteOutcome& out, std::uint32_t caller, std::uint64_t request_id);

/// The authority's side of one write; `Lock` is the shard's write lock type (default-constructible
/// holding nothing, and move-assignable). Made by authority_write, which returns its outcome
/// once it ended.
template <class Lock>
class AuthorityWrite {
 public:
  AuthorityWrite(ScopeEngine& engine, WriteOutcome& out, std::uint32_t caller, std::uint64_t request_id)
      : engine_(engine), out_(out), caller_(caller), request_id_(request_id) {}
  AuthorityWrite(const AuthorityWrite&) = delete;
  AuthorityWrite& operator=(const AuthorityWrite&) = delete;
  /// Answers the caller, then (the members go after the body) releases the shard lock.
  ~AuthorityWrite() { answer_caller(engine_, out_, caller_, request_id_); }

  /// Takes the shard's write lock (constructed from `args`) until the write ends.
  template <class... Args>
  void lock(Args&&... args) {
    lock_ = Lock(std::forward<Args>(args)...);
  }
  /// The write fails with `error`; nothing changed.
  void fail(Errc error) { out_.error = error; }
  /// A registration fails with taken: the name is held by `holder` with `meta` (canonical),
  /// which the caller gets with the error.
  void taken(const Pid& holder, std::string_view meta) {
    out_.error = Errc::taken;
    out_.holder = wire::entries::Holder{holder, std::string(meta)};
  }
  /// A compare-and-set that found the entry changed: the caller gets the current value.
  void stale(std::string current_meta, std::int64_t current_time) {
    out_.stale = true;
    out_.current_meta = std::move(current_meta);
    out_.current_time = current_time;
  }
  /// A counted join / leave: the caller also gets the membership's count after the write.
  void counted(std::uint64_t count) { out_.count = count; }
  /// A list write: the caller also gets one status per pid (0 or 1 + Errc).
  void many(std::vector<std::uint32_t> statuses) { out_.statuses = std::move(statuses); }
  /// As changed, for a cluster with members that cannot read `change` (a batched change; see
  /// ScopeEngine::old_members): every peer but the caller gets `singles`, one by one.
  void changed_as_singles(std::string change, const std::vector<std::string>& singles, std::uint64_t event_seq) {
    out_.change = std::move(change);
    out_.event_seq = event_seq;
    for (const auto& single : singles) engine_.broadcast(single, caller_);
  }
  /// The entry changed: `change` (an encoded Put or Del) goes to every peer but the caller,
  /// which gets it as its answer; `event_seq` is the last callback queued here.
  void changed(std::string change, std::uint64_t event_seq) {
    out_.change = std::move(change);
    out_.event_seq = event_seq;
    engine_.broadcast(out_.change, caller_);
  }

 private:
  Lock lock_;
  ScopeEngine& engine_;
  WriteOutcome& out_;
  std::uint32_t caller_;
  std::uint64_t request_id_;
};

/// Runs `body(AuthorityWrite<Lock>&)` and returns what it did, after the caller was answered
/// and the lock released. A body without a change and without an error is a no-op (the caller
/// gets "nothing changed").
template <class Lock, class Body>
WriteOutcome authority_write(ScopeEngine& engine, std::uint32_t caller, std::uint64_t request_id, Body&& body) {
  WriteOutcome out;
  {
    AuthorityWrite<Lock> write(engine, out, caller, request_id);
    body(write);
  }
  return out;
}

}  // namespace syn::detail
