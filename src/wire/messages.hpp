#pragma once
// The protocol messages of the node runtime and the scope engine: their types, how each is
// written, and how each is read back from untrusted bytes. Handler payloads (registry,
// groups) are defined beside them in entry_messages.hpp.
#include "wire/buffer.hpp"
#include "wire/fields.hpp"

#include <syn/term.hpp>
#include <syn/version.hpp>

#include <msgpack.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::wire {

enum class MsgType : std::uint32_t {
  // link
  hello = 1,      ///< handshake: who I am, my session, which of your sessions I have seen
  refuse = 2,     ///< handshake refused (version, name taken); the text says why
  bye = 3,        ///< leaving (node stops) or dropping the link (disconnect)
  heartbeat = 4,  ///< liveness on an idle link
  peers = 5,      ///< the sender's connected peers, for auto_connect
  welcome = 6,    ///< handshake accepted (sent back on the connection that said hello)
  reset = 7,      ///< your session with me is over: tear it down and say hello again
  // processes
  send = 10,         ///< a message to a local process of the receiver
  exit = 11,         ///< kill a local process of the receiver
  monitor = 12,      ///< watch a local process of the receiver
  demonitor = 13,    ///< stop watching
  down = 14,         ///< a watched process died
  mcall = 15,        ///< a multi_call request to a member
  mcall_reply = 16,  ///< a member's answer to a multi_call (or: it died first)
  publish = 17,      ///< one message for several local processes of the receiver
  // scopes
  discover = 20,  ///< I run this (kind, scope): send me your local data
  ack_sync = 21,  ///< a chunk of the sender's local data for (kind, scope)
  scope = 22,     ///< a replicated change for (kind, scope)
  call = 23,      ///< a write routed to the authority node
  reply = 24,     ///< the answer to a call
  not_here = 25,  ///< the answer to a discover for a (kind, scope) the sender does not run
};

/// The first protocol version with not_here: an older peer is never sent one, and never
/// awaited for one.
inline constexpr std::uint32_t not_here_since = 2;
/// The first protocol version with counted group calls (join_counted / leave_counted): an
/// older peer cannot decode them, so they fail at the caller (bad_argument) instead.
inline constexpr std::uint32_t counted_calls_since = 3;
/// The first protocol version with batched group changes (put_many / del_many, and the list
/// calls): an older member is sent the changes one by one, an older authority one call per pid.
inline constexpr std::uint32_t batched_changes_since = 3;
/// The first protocol version whose outgoing connections take heartbeats from the peer (an
/// older one takes them for garbage). A node sends its heartbeats to such a peer on the
/// connection that peer dialled, which carries nothing else once the link is up: on its own
/// connection, a heartbeat waits behind all the data before it, which a node given a few
/// percent of a core may take longer than peer_timeout to read (Transport::tick).
inline constexpr std::uint32_t heartbeat_back_since = 4;
/// The first protocol version whose heartbeats on the connection the peer dialled say how many
/// bytes of frames the node has read from that connection (encode_heartbeat with bytes_read).
/// The peer then knows what waits unread in the queues between them: it resets the link past
/// NodeOptions::max_link_backlog, and its snapshot streams wait below it.
inline constexpr std::uint32_t read_acks_since = 5;

/// The type of a decoded message (its first field).
inline std::uint64_t message_type(const msgpack::object& message) { return message.via.array.ptr[0].via.u64; }

using Packer = msgpack::packer<OutBuffer>;

// ---- link ------------------------------------------------------------------------------
struct Hello {
  std::string name;
  std::uint32_t creation = 0;
  std::uint64_t session = 0;  ///< the sender's outgoing connection (random, one per connection)
  std::uint64_t epoch = 0;    ///< the sender's link epoch with the receiver; 0: a probe (the
                              ///< sender dialled an endpoint without knowing who is there)
  std::string endpoint;       ///< where the sender listens
  /// The protocol versions the sender speaks (from protocol 2 on; a protocol 1 hello has no
  /// range: it speaks 1 only).
  std::uint32_t min_version = oldest_protocol_version;
  std::uint32_t max_version = protocol_version;
};
/// Writes a hello in the format of protocol `version` (the version of its frame).
void encode(OutBuffer& out, const Hello& m, std::uint64_t version = protocol_version);
/// Reads a hello from a frame of protocol `version` (the format of that version).
Hello decode_hello(const msgpack::object& o, std::uint64_t version = protocol_version);

struct Welcome {
  std::string name;
  std::uint32_t creation = 0;
  bool duplicate = false;  ///< the sender already has a link with you: close this connection
};
void encode(OutBuffer& out, const Welcome& m);
Welcome decode_welcome(const msgpack::object& o);

void encode_reset(OutBuffer& out);

enum class RefuseCode : std::uint32_t { version = 1, name_taken = 2, self = 3, stale = 4 };
struct Refuse {
  RefuseCode code = RefuseCode::version;
  std::string text;
};
void encode(OutBuffer& out, const Refuse& m);
Refuse decode_refuse(const msgpack::object& o);

enum class ByeReason : std::uint32_t { leaving = 1, disconnect = 2 };
struct Bye {
  ByeReason reason = ByeReason::leaving;
};
void encode(OutBuffer& out, const Bye& m);
Bye decode_bye(const msgpack::object& o);

void encode_heartbeat(OutBuffer& out);
/// A heartbeat on the connection the peer dialled (protocol 4 or later) that also says how many
/// bytes of frames this node has read from the peer on that connection: the peer bounds what
/// it lets wait unread in the queues between them (NodeOptions::max_link_backlog). Older nodes
/// read only a heartbeat's type, so the extra field is safe on any link.
void encode_heartbeat(OutBuffer& out, std::uint64_t bytes_read);
/// The bytes read that a heartbeat states; nothing when it states none (an older node).
std::optional<std::uint64_t> decode_heartbeat_bytes_read(const msgpack::object& o);

struct Peers {
  std::vector<std::pair<std::string, std::string>> peers;  ///< (name, endpoint)
};
void encode(OutBuffer& out, const Peers& m);
Peers decode_peers(const msgpack::object& o);

// ---- processes (the pid's node is implicit: the receiver's for send/exit/monitor, the
// sender's for down and mcall_reply) -------------------------------------------------------
struct LocalPid {
  std::uint32_t creation = 0;
  std::uint64_t id = 0;
};

/// Encodes a send of a Term already in canonical bytes (encoded once for many recipients).
void encode_send(OutBuffer& out, LocalPid to, std::string_view body_bytes);
struct Send {
  LocalPid to;
  Term body;
};
Send decode_send(const msgpack::object& o);

void encode_exit(OutBuffer& out, LocalPid to, const Term& reason);
struct Exit {
  LocalPid to;
  Term reason;
};
Exit decode_exit(const msgpack::object& o);

struct Monitor {
  std::uint64_t ref = 0;
  LocalPid target;
};
void encode(OutBuffer& out, const Monitor& m);
Monitor decode_monitor(const msgpack::object& o);

struct Demonitor {
  std::uint64_t ref = 0;
};
void encode(OutBuffer& out, const Demonitor& m);
Demonitor decode_demonitor(const msgpack::object& o);

void encode_down(OutBuffer& out, std::uint64_t ref, const Term& reason);
struct Down {
  std::uint64_t ref = 0;
  Term reason;
};
Down decode_down(const msgpack::object& o);

/// A multi_call request to one member; body in canonical bytes (shared by all members).
void encode_mcall(OutBuffer& out, std::uint64_t call_id, LocalPid to, std::string_view body_bytes,
                  const Term& member_meta);
struct MCall {
  std::uint64_t call_id = 0;
  LocalPid to;
  Term body;
  Term member_meta;
};
MCall decode_mcall(const msgpack::object& o);

void encode_mcall_reply(OutBuffer& out, std::uint64_t call_id, LocalPid member, bool died, const Term& answer);
struct MCallReply {
  std::uint64_t call_id = 0;
  LocalPid member;
  bool died = false;  ///< the member died before answering
  Term answer;
};
MCallReply decode_mcall_reply(const msgpack::object& o);

/// A publish to several processes of the receiver (one incarnation); the body is decoded
/// once and delivered to each. Body in canonical bytes.
void encode_publish(OutBuffer& out, std::uint32_t creation, const std::vector<std::uint64_t>& ids,
                    std::string_view body_bytes);
struct Publish {
  std::uint32_t creation = 0;
  std::vector<std::uint64_t> ids;
  Term body;
};
Publish decode_publish(const msgpack::object& o);

// ---- scopes ------------------------------------------------------------------------------
/// Header shared by every scope message: which handler kind and scope it is for.
struct ScopeAddress {
  std::uint32_t kind = 0;
  std::string scope;
};

void encode_discover(OutBuffer& out, const ScopeAddress& address);
ScopeAddress decode_discover(const msgpack::object& o);

/// The answer to a discover of a (kind, scope) the sender does not run, so that the
/// discoverer stops waiting for its snapshot (readiness, SPEC 9).
void encode_not_here(OutBuffer& out, const ScopeAddress& address);
ScopeAddress decode_not_here(const msgpack::object& o);

/// Begins an ack_sync chunk: [ack_sync, kind, scope, last, payload]; the caller then packs
/// exactly one payload value.
void begin_ack_sync(OutBuffer& out, const ScopeAddress& address, bool last);
struct AckSync {
  ScopeAddress address;
  bool last = false;
  const msgpack::object* payload = nullptr;  ///< lives as long as the frame reader
};
AckSync decode_ack_sync(const msgpack::object& o);

/// Begins a replicated change: [scope, kind, scope, payload]; the caller packs one payload.
void begin_scope_message(OutBuffer& out, const ScopeAddress& address);
struct ScopeMessage {
  ScopeAddress address;
  const msgpack::object* payload = nullptr;
};
ScopeMessage decode_scope_message(const msgpack::object& o);

/// Begins a call: [call, request_id, kind, scope, payload]; the caller packs one payload.
void begin_call(OutBuffer& out, std::uint64_t request_id, const ScopeAddress& address);
struct Call {
  std::uint64_t request_id = 0;
  ScopeAddress address;
  const msgpack::object* payload = nullptr;
};
Call decode_call(const msgpack::object& o);

/// Begins a reply: [reply, request_id, status, payload]; status 0 is success, otherwise
/// 1 + the Errc; the caller packs one payload (nil when there is nothing to say).
void begin_reply(OutBuffer& out, std::uint64_t request_id, std::uint32_t status);
struct Reply {
  std::uint64_t request_id = 0;
  std::uint32_t status = 0;
  const msgpack::object* payload = nullptr;
};
Reply decode_reply(const msgpack::object& o);

}  // namespace syn::wire
