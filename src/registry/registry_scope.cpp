// The registry API and the authority's write path (SPEC.md sections 2 and 3).
#include "registry/registry_scope.hpp"

#include "common/log.hpp"
#include "tables/reclaim.hpp"
#include "node/scope_host.hpp"
#include "wire/meta_codec.hpp"
#include "scope/entry_calls.hpp"
#include "wire/term_codec.hpp"

#include <mutex>
#include <type_traits>

namespace syn::detail {

namespace {

constexpr int kMaxUpdateAttempts = 1000;  // compare-and-set retries before giving up
constexpr int kOptimisticAttempts = 16;   // lock-free lookup tries before taking the lock

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

RegistryScope::RegistryScope(const ScopeContext& context) : node_(context.host), engine_(context, Kind::registry, *this) {}

RegistryScope::~RegistryScope() = default;

void RegistryScope::wait_for_callbacks(std::uint64_t seq) { node_->wait_for_callback(seq); }

// ---- reads -------------------------------------------------------------------------------

template <class Read>
auto RegistryScope::read_entry(const Term& name, Read&& read) const -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))> {
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
auto RegistryScope::read_key(const Key& key, Read&& read) const -> std::optional<decltype(read(std::declval<const RegEntrySnapshot&>()))> {
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
      auto found = shard.entries.probe(key, hash, [&] { return shard.unchanged_since(seq); }, e);
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
  auto lock = shard.read_lock();
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

void RegistryScope::clear() {
  for (std::size_t i = 0; i < RegistryTable::kShards; ++i) {
    auto& shard = table_.shard(i);
    auto lock = shard.write_lock();
    shard.entries.clear();
    shard.per_node.clear();
    shard.hidden.clear();
  }
}

// ---- calls to a remote authority -----------------------------------------------------------

template <class A>
std::future<A> RegistryScope::call_write(const Pid& pid, const wire::entries::CallRequest& request) {
  return detail::call_write<A>(engine_, pid, request, [this](std::uint32_t authority, const wire::entries::Change& change) {
    return apply_reply_change(authority, change);
  });
}

// ---- register --------------------------------------------------------------------------

Result<void> RegistryScope::register_name(const Term& name, const Pid& pid, Term meta, bool by_self) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  if (node_->options().strict_mode && !by_self) return syn::unexpected(Errc::not_self);
  std::string key = wire::canonical(name);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return syn::unexpected(Errc::bad_argument);
  if (node_->is_local(pid)) return settle(*node_, authority_register(key, pid, std::move(meta_bytes), 0));
  return settle(*node_, call_write<Answer<void>>(pid, put_request(key, pid, std::move(meta_bytes))));
}

std::future<Result<void>> RegistryScope::register_name_async(const Term& name, const Pid& pid, Term meta) {
  if (node_->stopped()) return ready_result(syn::unexpected(Errc::node_down));
  if (node_->options().strict_mode) return ready_result(syn::unexpected(Errc::not_self));
  std::string key = wire::canonical(name);
  std::string meta_bytes = meta_canonical(meta);
  if (!node_->fits(key, meta_bytes)) return ready_result(syn::unexpected(Errc::bad_argument));
  if (node_->is_local(pid)) return ready_result(result_of(authority_register(key, pid, std::move(meta_bytes), 0)));
  return call_write<Result<void>>(pid, put_request(key, pid, std::move(meta_bytes)));
}

WriteOutcome RegistryScope::authority_register(const std::string& key, const Pid& pid,
                                                              std::string meta, std::uint32_t caller,
                                                              std::uint64_t request_id) {
  WriteOutcome out;
  auto process = node_->find_local(pid);
  if (!process || !process->alive()) {
    out.error = Errc::not_alive;
    return answered(engine_, out, caller, request_id);
  }
  auto& shard = table_.shard_for(key);
  auto lock = shard.write_lock();
  auto it = shard.entries.find(std::string_view(key));
  if (it != shard.entries.end()) {
    RegEntry& e = it->second;
    if (e.pid == pid) {
      if (e.meta() == meta) return answered(engine_, out, caller, request_id);  // same pid, same meta: a no-op
      std::string previous(e.meta());
      e.set_meta(meta);
      e.time = node_->unique_time_ns();
      out.event_seq = post_updated(key, pid, previous, meta, Reason::normal());
      out.change = encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal);
      engine_.broadcast(out.change, caller);
      return answered(engine_, out, caller, request_id);
    }
    if (!(e.local() && !e.local()->alive())) {
      out.error = Errc::taken;
      return answered(engine_, out, caller, request_id);
    }
    // The holder is a local process that died and whose cleanup has not run yet: the name is
    // free now (SPEC 2: registering right after the death must succeed).
    Term why = e.local()->exit_reason().value_or(Term("noproc"));
    post_unregistered(key, e.pid, e.meta(), Reason::process_exit(why));
    engine_.broadcast(encode_del(key, e.pid, e.time, Reason::Kind::process_exit, why), 0);
    shard.erase(it);
  }
  if (!process->attach(this, key)) {
    out.error = Errc::not_alive;
    return answered(engine_, out, caller, request_id);
  }
  RegEntry& e = shard.put(key, RegEntry(pid, node_->unique_time_ns(), meta, process.get()));
  out.event_seq = post_registered(key, pid, meta, Reason::normal());
  out.change = encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

// ---- unregister ------------------------------------------------------------------------

Result<void> RegistryScope::unregister_name(const Term& name) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  std::string key = wire::canonical(name);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  auto holder = read_key(std::string_view(key), [](const RegEntrySnapshot& e) { return e.pid; });
  if (!holder) return syn::unexpected(Errc::undefined);
  if (node_->is_local(*holder)) return settle(*node_, authority_unregister(key, *holder, 0));
  return settle(*node_, call_write<Answer<void>>(*holder, remove_request(key, *holder)));
}

std::future<Result<void>> RegistryScope::unregister_name_async(const Term& name) {
  if (node_->stopped()) return ready_result(syn::unexpected(Errc::node_down));
  std::string key = wire::canonical(name);
  if (!node_->fits(key)) return ready_result(syn::unexpected(Errc::bad_argument));
  auto holder = read_key(std::string_view(key), [](const RegEntrySnapshot& e) { return e.pid; });
  if (!holder) return ready_result(syn::unexpected(Errc::undefined));
  if (node_->is_local(*holder)) return ready_result(result_of(authority_unregister(key, *holder, 0)));
  return call_write<Result<void>>(*holder, remove_request(key, *holder));
}

WriteOutcome RegistryScope::authority_unregister(const std::string& key, const Pid& pid,
                                                                std::uint32_t caller, std::uint64_t request_id) {
  WriteOutcome out;
  auto& shard = table_.shard_for(key);
  auto lock = shard.write_lock();
  auto it = shard.entries.find(std::string_view(key));
  if (it == shard.entries.end()) {
    out.error = Errc::undefined;
    return answered(engine_, out, caller, request_id);
  }
  RegEntry& e = it->second;
  if (e.pid != pid) {
    out.error = Errc::race_condition;
    return answered(engine_, out, caller, request_id);
  }
  if (e.local()) e.local()->detach(this, key);
  out.change = encode_del(key, e.pid, e.time, Reason::Kind::normal);
  out.event_seq = post_unregistered(key, e.pid, e.meta(), Reason::normal());
  shard.erase(it);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

// ---- update ----------------------------------------------------------------------------

Result<Entry> RegistryScope::update(const Term& name, const std::function<Term(const Pid&, const Term&)>& fn,
                                    const Pid* self) {
  if (node_->stopped()) return syn::unexpected(Errc::node_down);
  std::string key = wire::canonical(name);
  if (!node_->fits(key)) return syn::unexpected(Errc::bad_argument);
  Pid pid;
  std::string meta;
  std::int64_t time = 0;
  {
    const auto& shard = table_.shard_for(key);
    auto lock = shard.read_lock();
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
  return syn::unexpected(Errc::timeout);
}

Answer<Entry> RegistryScope::update_remote(const std::string& key, const Pid& pid, std::string meta,
                                                          std::int64_t time,
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
  return {syn::unexpected(Errc::timeout), 0};
}

WriteOutcome RegistryScope::authority_update(const std::string& key, const Pid& pid,
                                                            std::int64_t expected_time, std::string meta,
                                                            std::uint32_t caller, std::uint64_t request_id) {
  WriteOutcome out;
  auto process = node_->find_local(pid);
  if (!process || !process->alive()) {
    out.error = Errc::not_alive;
    return answered(engine_, out, caller, request_id);
  }
  auto& shard = table_.shard_for(key);
  auto lock = shard.write_lock();
  auto it = shard.entries.find(std::string_view(key));
  if (it == shard.entries.end()) {
    out.error = Errc::undefined;
    return answered(engine_, out, caller, request_id);
  }
  RegEntry& e = it->second;
  if (e.pid != pid) {
    out.error = Errc::taken;
    return answered(engine_, out, caller, request_id);
  }
  if (e.time != expected_time) {
    out.stale = true;
    out.current_meta.assign(e.meta());
    out.current_time = e.time;
    return answered(engine_, out, caller, request_id);
  }
  if (e.meta() == meta) return answered(engine_, out, caller, request_id);  // unchanged: no callback
  std::string previous(e.meta());
  e.set_meta(meta);
  e.time = node_->unique_time_ns();
  out.event_seq = post_updated(key, pid, previous, meta, Reason::normal());
  out.change = encode_put(key, e.pid, e.time, e.meta(), Reason::Kind::normal);
  engine_.broadcast(out.change, caller);
  return answered(engine_, out, caller, request_id);
}

// ---- calls from other nodes (engine thread) ------------------------------------------------

void RegistryScope::on_call(std::uint32_t from, std::uint64_t request_id, const msgpack::object& payload) {
  auto request = wire::entries::decode_call_request(payload);
  Pid pid = Pid::from_atom(node_->atom(), request.pid_creation, request.pid_id);
  if (!node_->accepts(from, request.key, request.meta)) {
    WriteOutcome refused;  // a caller with a larger max_term_bytes than ours
    refused.error = Errc::bad_argument;
    answered(engine_, refused, from, request_id);
    return;
  }
  // The authority_* functions answer the call themselves, under the shard lock (see detail::answered).
  switch (request.op) {
    case wire::entries::CallOp::put:
      authority_register(request.key, pid, meta_stored(std::move(request.meta)), from, request_id);
      break;
    case wire::entries::CallOp::remove:
      authority_unregister(request.key, pid, from, request_id);
      break;
    case wire::entries::CallOp::update:
      authority_update(request.key, pid, request.expected_time, meta_stored(std::move(request.meta)), from, request_id);
      break;
  }
}

}  // namespace syn::detail
