// The registry API and the authority's write path (SPEC.md sections 2 and 3).
#include "registry/registry_scope.hpp"

#include "common/log.hpp"
#include "tables/reclaim.hpp"
#include "node/scope_host.hpp"
#include "wire/meta_codec.hpp"
#include "scope/authority_write.hpp"
#include "scope/entry_calls.hpp"
#include "scope/entry_writes.hpp"
#include "wire/term_codec.hpp"

#include <mutex>
#include <type_traits>

namespace syn::detail {

namespace {

constexpr int kOptimisticAttempts = 16;  // lock-free lookup tries before taking the lock

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

/// The bytes of a key, for the locked read path.
std::string_view key_bytes(std::string_view key, std::string& /*scratch*/) { return key; }
std::string_view key_bytes(const ShortKey& key, std::string& scratch) {
  scratch.assign(reinterpret_cast<const char*>(&key), key.size());
  return scratch;
}
std::string_view key_bytes(const SplitKey& key, std::string& scratch) {
  scratch.clear();
  for (std::size_t i = 0; i < key.head_size; ++i) scratch.push_back(static_cast<char>(key.head_byte(i)));
  scratch.append(key.rest);
  return scratch;
}
std::uint64_t hash_of(std::string_view key) { return hash_bytes(key); }
std::uint64_t hash_of(const ShortKey& key) { return hash_short_key(key); }
std::uint64_t hash_of(const SplitKey& key) { return hash_split_key(key); }

/// Converts to what `make()` returns: handed to std::optional's in-place constructor, the
/// answer is built right inside the optional, not in a temporary moved into it. The move
/// would read the temporary back with wide loads right after the narrow stores that wrote it,
/// a load the CPU cannot serve from those stores (see ShortKey in common/key_hash.hpp).
template <class Make>
struct BuiltInPlace {
  Make make;
  operator std::invoke_result_t<Make>() const { return make(); }  // NOLINT(google-explicit-constructor)
};
template <class Make>
BuiltInPlace(Make) -> BuiltInPlace<Make>;

}  // namespace

RegistryScope::RegistryScope(const ScopeContext& context)
    : node_(context.host), engine_(context, Kind::registry, *this), engine_thread_(*context.host) {}

RegistryScope::~RegistryScope() = default;

void RegistryScope::wait_for_callbacks(std::uint64_t seq) { node_->wait_for_callback(seq); }

// ---- reads -------------------------------------------------------------------------------

template <class Read>
auto RegistryScope::read_entry(const Term& name, Read&& read) const
    -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))> {
  if (SplitKey key; wire::string_key(name, key)) {
    if (key.size() <= ShortKey::kMaxBytes) return read_key(key.short_key(), std::forward<Read>(read));
    return read_key(key, std::forward<Read>(read));
  }
  if (ShortKey key; wire::integer_key(name, key)) return read_key(key, std::forward<Read>(read));
  thread_local std::string key;
  key.clear();
  wire::append_canonical(key, name);
  return read_key(std::string_view(key), std::forward<Read>(read));
}

template <class Key, class Read>
auto RegistryScope::read_key(const Key& key, Read&& read) const
    -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))> {
  const std::size_t hash = hash_of(key);  // once: it picks the shard and the slot
  const auto& shard = table_.shard_for_hash(hash);
#if SYN_LOCK_FREE_LOOKUPS
  {
    // No lock: a locked instruction per lookup would order every memory access around it,
    // and lookups in a row could no longer overlap their cache misses (docs/internals.md).
    reclaim::ReadSection section;
    for (int attempt = 0; attempt < kOptimisticAttempts; ++attempt) {
      auto seq = shard.read_begin();
      if (seq & 1) {
        cpu_relax();  // a writer holds the shard
        continue;
      }
      RegEntrySnapshot e;
      auto found = shard.entries.probe(
          key, hash, [&] { return shard.unchanged_since(seq); }, e);
      if (found == ReplicaMap::Probe::changed) continue;
      // Read before the validation below: if the entry was still there after this read, a
      // death that removes it has not ended yet, so deaths_in_progress() saw it begin.
      bool check_holder = found == ReplicaMap::Probe::hit && e.local && node_->deaths_in_progress();
      if (!shard.unchanged_since(seq)) continue;
      if (found == ReplicaMap::Probe::miss) return std::nullopt;
      if (check_holder) break;  // read the holder under the lock, below
      // Inside the section: e.meta() is still readable.
      return std::optional<decltype(read(e))>(std::in_place, BuiltInPlace{[&] { return read(e); }});
    }
  }
#endif
  std::string scratch;
  RegistryTable::Shard::ReadLock lock(shard);
  auto it = shard.entries.find(key_bytes(key, scratch), hash);
  if (it == shard.entries.end()) return std::nullopt;
  const RegEntry& e = it->second;
  // A local process that died is gone at once, even before its cleanup ran (SPEC 2). While no
  // local process is dying, the holder of a local entry is alive: no need to read it.
  if (e.local() && node_->deaths_in_progress() && !e.local()->alive()) return std::nullopt;
  return read(e.load_racy());  // no race: the lock keeps writers out
}

std::optional<Entry> RegistryScope::lookup(const Term& name) const {
  return read_entry(name, [](const RegEntrySnapshot& e) { return Entry{e.pid, meta_term(e.meta())}; });
}

std::optional<Pid> RegistryScope::whereis(const Term& name) const {
  return read_entry(name, [](const RegEntrySnapshot& e) { return e.pid; });
}

void RegistryScope::for_each(
    const std::function<void(std::string_view key, const Pid& pid, std::string_view meta)>& fn) const {
  struct Copied {
    std::string key;
    Pid pid;
    std::string meta;
  };
  std::vector<Copied> copied;
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    copied.clear();
    {
      const auto& shard = table_.shard(i);
      RegistryTable::Shard::ReadLock lock(shard);
      for (const auto& [key, e] : shard.entries) {
        if (e.local() && !e.local()->alive()) continue;  // dead already (SPEC 2), as lookup says
        copied.push_back({std::string(key.view()), e.pid, std::string(e.meta())});
      }
    }
    for (const auto& c : copied) fn(c.key, c.pid, c.meta);
  }
}

void RegistryScope::clear() {
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    RegistryTable::Shard::WriteLock lock(shard);
    shard.entries.clear();
    shard.per_node.clear();
    shard.hidden.clear();
  }
}

std::uint64_t RegistryScope::leave_scope() {
  engine_thread_.assert_held();
  std::uint64_t last = 0;
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    RegistryTable::Shard::WriteLock lock(shard);
    for (const auto& [key, entry] : shard.entries) {
      if (entry.pid.node_atom() != node_->atom()) continue;
      if (auto process = node_->find_local(entry.pid)) process->detach(this, key.str());
      last = post_unregistered(key.str(), entry.pid, entry.meta(), Reason::normal());
    }
    shard.entries.clear();
    shard.per_node.clear();
    shard.hidden.clear();
  }
  return last;
}

// ---- register / unregister -------------------------------------------------------------

Result<void> RegistryScope::register_name(const Term& name, const Pid& pid, Term meta, bool by_self,
                                          HolderSlot holder) {
  engine_.counters().count(WriteCall::register_name);
  return put_entry<Result<void>>(*this, name, pid, meta, by_self, std::move(holder));
}

std::future<Result<void>> RegistryScope::register_name_async(const Term& name, const Pid& pid, Term meta) {
  engine_.counters().count(WriteCall::register_name);
  return put_entry<std::future<Result<void>>>(*this, name, pid, meta, false);
}

template <class R>
R RegistryScope::unregister_key(const Term& name) {
  engine_.counters().count(WriteCall::unregister_name);
  auto key = removal_key(engine_, name);
  if (!key) return write_result<R>(syn::unexpected(key.error()));
  auto holder = read_key(std::string_view(*key), [](const RegEntrySnapshot& e) { return e.pid; });
  if (!holder) return write_result<R>(syn::unexpected(Errc::undefined));
  return remove_entry<R>(*this, *key, *holder);
}

Result<void> RegistryScope::unregister_name(const Term& name) { return unregister_key<Result<void>>(name); }

std::future<Result<void>> RegistryScope::unregister_name_async(const Term& name) {
  return unregister_key<std::future<Result<void>>>(name);
}

WriteOutcome RegistryScope::authority_put(const std::string& key, const Pid& pid, std::string meta,
                                          std::uint32_t caller, std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto process = node_->find_local(pid);
    if (!process || !process->alive()) return w.fail(Errc::not_alive);
    auto& shard = table_.shard_for(key);
    w.lock(shard);
    shard.assert_held();
    auto it = shard.entries.find(std::string_view(key));
    if (it != shard.entries.end()) {
      RegEntry& e = it->second;
      if (e.pid == pid) {
        if (e.meta() == meta) return;  // same pid, same meta: a no-op
        std::string previous(e.meta());
        e.set_meta(meta);
        e.time = newer_time(e);
        return w.changed(encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal),
                         post_updated(key, pid, previous, meta, Reason::normal()));
      }
      if (!(e.local() && !e.local()->alive())) return w.taken(e.pid, e.meta());
      // The holder is a local process that died and whose cleanup has not run yet: the name is
      // free now (SPEC 2: registering right after the death must succeed).
      Term why = e.local()->exit_reason().value_or(Term("noproc"));
      post_unregistered(key, e.pid, e.meta(), Reason::process_exit(why));
      engine_.broadcast(encode_del(key, e.pid, e.time, Reason::Kind::process_exit, why), 0);
      shard.erase(it);
    }
    if (!process->attach(this, key)) return w.fail(Errc::not_alive);
    RegEntry& e = shard.put(key, RegEntry(pid, node_->unique_time_ns(), meta, process.get()));
    w.changed(encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal),
              post_registered(key, pid, meta, Reason::normal()));
  });
}

WriteOutcome RegistryScope::authority_remove(const std::string& key, const Pid& pid, std::uint32_t caller,
                                             std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto& shard = table_.shard_for(key);
    w.lock(shard);
    shard.assert_held();
    auto it = shard.entries.find(std::string_view(key));
    if (it == shard.entries.end()) return w.fail(Errc::undefined);
    RegEntry& e = it->second;
    if (e.pid != pid) return w.fail(Errc::race_condition);
    if (e.local()) e.local()->detach(this, key);
    std::string change = encode_del(key, e.pid, e.time, Reason::Kind::normal);
    std::uint64_t seq = post_unregistered(key, e.pid, e.meta(), Reason::normal());
    shard.erase(it);
    w.changed(std::move(change), seq);
  });
}

// ---- update ----------------------------------------------------------------------------

Result<Entry> RegistryScope::update(const Term& name, const std::function<Term(const Pid&, const Term&)>& fn,
                                    const Pid* self) {
  engine_.counters().count(WriteCall::update);
  if (auto refused = write_refused(engine_, node_->stopped())) return syn::unexpected(*refused);
  std::string key = wire::canonical(name);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  Pid pid;
  std::string meta;
  std::int64_t time = 0;
  {
    const auto& shard = table_.shard_for(key);
    RegistryTable::Shard::ReadLock lock(shard);
    auto it = shard.entries.find(std::string_view(key));
    if (it == shard.entries.end() || (it->second.local() && !it->second.local()->alive())) {
      return syn::unexpected(Errc::undefined);
    }
    pid = it->second.pid;
    meta.assign(it->second.meta());
    time = it->second.time;
  }
  if (node_->options().strict_mode && (!self || *self != pid)) return syn::unexpected(Errc::not_self);
  if (!node_->is_local(pid)) {
    auto answer = update_remote(key, pid, std::move(meta), time, fn, self);
    wait_for_callbacks(answer.event_seq);
    return answer.result;
  }
  for (int attempt = 0; attempt < kMaxUpdateAttempts; ++attempt) {
    Term next = fn(pid, meta_term(meta));  // user code, no lock held; exceptions reach the caller
    std::string next_bytes = meta_canonical(next);
    if (!node_->fits(next_bytes)) return syn::unexpected(Errc::bad_argument);
    auto outcome = authority_update(key, pid, time, next_bytes, 0);
    if (outcome.error) return syn::unexpected(*outcome.error);
    if (outcome.stale) {
      meta = std::move(outcome.current_meta);
      time = outcome.current_time;
      continue;
    }
    wait_for_callbacks(outcome.event_seq);
    return Entry{pid, std::move(next)};
  }
  return syn::unexpected(Errc::race_condition);  // SPEC 3: concurrent writers kept winning
}

Answer<Entry> RegistryScope::update_remote(const std::string& key, const Pid& pid, std::string meta, std::int64_t time,
                                           const std::function<Term(const Pid&, const Term&)>& fn,
                                           const Pid* /*self*/) {
  for (int attempt = 0; attempt < kMaxUpdateAttempts; ++attempt) {
    Term next = fn(pid, meta_term(meta));
    std::string next_bytes = meta_canonical(next);
    if (!node_->fits(next_bytes)) return {syn::unexpected(Errc::bad_argument), 0};
    auto future = call_update(engine_, pid, key, std::move(next_bytes), time,
                              [this](std::uint32_t authority, const wire::entries::Change& change) {
                                return apply_reply_change(authority, change);
                              });
    auto answer = get_answer(future);
    if (!answer.result) return {syn::unexpected(answer.result.error()), 0};
    if (answer.stale) {
      meta = std::move(answer.current_meta);
      time = answer.current_time;
      continue;
    }
    return {Entry{pid, std::move(next)}, answer.event_seq};
  }
  return {syn::unexpected(Errc::race_condition), 0};  // SPEC 3: concurrent writers kept winning
}

WriteOutcome RegistryScope::authority_update(const std::string& key, const Pid& pid, std::int64_t expected_time,
                                             std::string meta, std::uint32_t caller, std::uint64_t request_id) {
  return authority_write<WriteLock>(engine_, caller, request_id, [&](AuthorityWrite<WriteLock>& w) {
    auto process = node_->find_local(pid);
    if (!process || !process->alive()) return w.fail(Errc::not_alive);
    auto& shard = table_.shard_for(key);
    w.lock(shard);
    shard.assert_held();
    auto it = shard.entries.find(std::string_view(key));
    if (it == shard.entries.end()) return w.fail(Errc::undefined);
    RegEntry& e = it->second;
    if (e.pid != pid) return w.fail(Errc::taken);
    if (e.time != expected_time) return w.stale(std::string(e.meta()), e.time);
    if (e.meta() == meta) return;  // unchanged: no callback
    std::string previous(e.meta());
    e.set_meta(meta);
    e.time = newer_time(e);
    w.changed(encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal),
              post_updated(key, pid, previous, meta, Reason::normal()));
  });
}

// ---- calls from other nodes (engine thread) ------------------------------------------------

void RegistryScope::on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) {
  auto request = wire::entries::decode_call_request(payload);
  Pid pid = Pid::from_atom(node_->atom(), request.pid_creation, request.pid_id);
  if (!node_->accepts(from, request.key, request.meta)) {
    // A caller with a larger max_term_bytes than ours.
    authority_write<WriteLock>(engine_, from, request_id, [](auto& w) { w.fail(Errc::bad_argument); });
    return;
  }
  // The authority_* functions answer the call themselves, under the shard lock (AuthorityWrite).
  switch (request.op) {
    case wire::entries::CallOp::put:
      authority_put(request.key, pid, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::remove: authority_remove(request.key, pid, from, request_id); break;
    case wire::entries::CallOp::update:
      authority_update(request.key, pid, request.expected_time, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::put_counted:
    case wire::entries::CallOp::remove_counted:
    case wire::entries::CallOp::put_many:
    case wire::entries::CallOp::remove_many:
      // Counted and list calls are the groups' only (a peer that sends one here is broken).
      authority_write<WriteLock>(engine_, from, request_id, [](auto& w) { w.fail(Errc::bad_argument); });
      break;
  }
}

}  // namespace syn::detail
