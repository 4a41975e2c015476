#pragma once
// Payloads of the scope handlers (registry and groups): both replicate entries of the form
// (key, pid) -> (meta, time), where the key is a name or a group. Replicated changes, calls to
// the authority, replies and snapshot chunks. Keys and metas travel as canonical terms (see
// term_codec.hpp); pids travel as their local id: their node is implicit (the sender's, since
// every replicated change is about the sender's own processes; the receiver's, for a call).
#include "wire/buffer.hpp"
#include "wire/fields.hpp"

#include <syn/pid.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace syn::wire::entries {

/// put_many / del_many (protocol 3 on): the changes of a list join / leave, several pids of
/// the sender in one group (one message, one subscription event at the receiver).
enum class Op : std::uint32_t { none = 0, put = 1, del = 2, stale = 3, put_many = 4, del_many = 5 };

/// An entry (key, pid of the sender) now has this meta and time.
struct Put {
  std::string key;  ///< canonical name or group
  std::uint64_t pid_id = 0;
  std::int64_t time = 0;
  std::string meta;          ///< canonical meta
  std::uint32_t reason = 0;  ///< Reason::Kind of the change (normal, conflict_resolution)
};
/// The entry (key, pid of the sender) is gone (unless the receiver's is newer than `time`).
struct Del {
  std::string key;
  std::uint64_t pid_id = 0;
  std::int64_t time = 0;
  std::uint32_t reason = 0;
  std::string exit_reason;  ///< canonical; for process_exit
};

void encode(OutBuffer& out, const Put& m);
void encode(OutBuffer& out, const Del& m);
/// put_many: [4, key, reason, [pid_id, time, meta, ...]]; every Put of one key and reason.
void encode_put_many(OutBuffer& out, const std::vector<Put>& puts);
/// del_many: [5, key, reason, [pid_id, time, ...]]; every Del of one key and reason.
void encode_del_many(OutBuffer& out, const std::vector<Del>& dels);
/// A replicated change or a reply: Put, Del, none ([0]), stale ([3, meta, time]), put_many
/// or del_many.
struct Change {
  Op op = Op::none;
  Put put;
  Del del;
  std::string stale_meta;  ///< for stale: the authority's current meta and time
  std::int64_t stale_time = 0;
  std::vector<Put> puts;  ///< put_many
  std::vector<Del> dels;  ///< del_many
};
Change decode_change(const msgpack::object& o);
void encode_none(OutBuffer& out);
void encode_stale(OutBuffer& out, std::string_view meta, std::int64_t time);

// ---- calls -------------------------------------------------------------------------------
/// put: register / join; remove: unregister / leave; update: compare-and-set of the meta;
/// put_counted / remove_counted: join_counted / leave_counted (protocol 3 on; answered with
/// a counted reply).
enum class CallOp : std::uint32_t {
  put = 1,
  remove = 2,
  update = 3,
  put_counted = 4,
  remove_counted = 5,
  put_many = 6,     ///< a list join: pid_ids, one meta (protocol 3 on; answered with a many reply)
  remove_many = 7,  ///< a list leave: pid_ids
};
struct CallRequest {
  CallOp op = CallOp::put;
  std::string key;
  std::uint32_t pid_creation = 0;
  std::uint64_t pid_id = 0;
  std::string meta;                    ///< put, update: the new meta
  std::int64_t expected_time = 0;      ///< update: compare-and-set on this time
  std::vector<std::uint64_t> pid_ids;  ///< put_many, remove_many: the pids (pid_id unused)
};
void encode(OutBuffer& out, const CallRequest& m);
CallRequest decode_call_request(const msgpack::object& o);

/// The answer to a counted call: the membership's count after it, and the change it made
/// (none unless it was the first join or the last leave). Encoded [count, change].
struct CountedReply {
  std::uint64_t count = 0;
  Change change;
};
/// Starts a counted reply; the change (Put, Del or none) is appended after it.
void begin_counted_reply(OutBuffer& out, std::uint64_t count);
CountedReply decode_counted_reply(const msgpack::object& o);

/// The answer to a put_many / remove_many call: one status per pid, in order (0 or 1 + Errc),
/// and the change it made. Encoded [[status...], change].
struct ManyReply {
  std::vector<std::uint32_t> statuses;
  Change change;
};
/// Starts a many reply; the change (put_many, del_many or none) is appended after it.
void begin_many_reply(OutBuffer& out, const std::vector<std::uint32_t>& statuses);
ManyReply decode_many_reply(const msgpack::object& o);

// ---- the holder a registration found taken: [pid, meta] -----------------------------------
/// The payload of a `taken` answer: the name's holder as the authority saw it. Its pid travels
/// whole: it may run on any node. (A peer of before it answers `taken` with nil: it is optional.)
struct Holder {
  Pid pid;
  std::string meta;  ///< canonical meta
};
void encode_holder(OutBuffer& out, const Pid& pid, std::string_view meta);
Holder decode_holder(const msgpack::object& o);

// ---- snapshots: [key, pid_id, time, meta] repeated -----------------------------------------
struct SnapshotEntry {
  std::string key;
  std::uint64_t pid_id = 0;
  std::int64_t time = 0;
  std::string meta;
};
/// Cuts a snapshot into chunks bounded by bytes as well as entries, and hands each to `emit`:
/// a chunk ends once it holds kChunkBytes (so it is at most that plus one entry, whatever the
/// metas weigh) or kChunkEntries. A receiver applies one chunk per message, so a small chunk
/// keeps its engine turn short and every frame far under the frame cap (SPEC 7).
class SnapshotChunker {
 public:
  static constexpr std::size_t kChunkBytes = 256 << 10;
  static constexpr std::size_t kChunkEntries = 4096;

  explicit SnapshotChunker(const std::function<void(std::string_view chunk)>& emit) : emit_(emit) {}
  /// Adds one entry; emits the chunk when it is full.
  void add(std::string_view key, std::uint64_t pid_id, std::int64_t time, std::string_view meta);
  /// Emits what is left.
  void finish();

 private:
  const std::function<void(std::string_view)>& emit_;
  OutBuffer body_;
  std::size_t entries_ = 0;
};
std::vector<SnapshotEntry> decode_snapshot_chunk(const msgpack::object& o);

}  // namespace syn::wire::entries
