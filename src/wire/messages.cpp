#include "wire/messages.hpp"

namespace syn::wire {
namespace {

void type(Packer& p, MsgType t) { p.pack_uint32(static_cast<std::uint32_t>(t)); }
void str(Packer& p, std::string_view s) {
  p.pack_str(static_cast<std::uint32_t>(s.size()));
  p.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
}
void term(OutBuffer& out, const Term& t) { append_canonical(out.bytes(), t); }
void local_pid(Packer& p, LocalPid pid) {
  p.pack_uint32(pid.creation);
  p.pack_uint64(pid.id);
}
LocalPid local_pid(const Fields& f, std::size_t i) { return {f.u32(i), f.u64(i + 1)}; }

Fields checked(const msgpack::object& o, const char* what, std::size_t size) {
  Fields f(o, what, size);
  if (f.size() != size) f.fail(f.size(), "has too many fields");
  return f;
}

ScopeAddress address(const Fields& f, std::size_t i) { return {f.u32(i), f.string(i + 1)}; }
void address(Packer& p, const ScopeAddress& a) {
  p.pack_uint32(a.kind);
  str(p, a.scope);
}

}  // namespace

void encode(OutBuffer& out, const Hello& m, std::uint64_t version) {
  const bool with_range = version >= 2;
  Packer p(out);
  p.pack_array(with_range ? 8 : 6);
  type(p, MsgType::hello);
  str(p, m.name);
  p.pack_uint32(m.creation);
  p.pack_uint64(m.session);
  p.pack_uint64(m.epoch);
  str(p, m.endpoint);
  if (with_range) {
    p.pack_uint32(m.min_version);
    p.pack_uint32(m.max_version);
  }
}
Hello decode_hello(const msgpack::object& o, std::uint64_t version) {
  if (version < 2) {
    auto f = checked(o, "hello", 6);
    return {f.string(1), f.u32(2), f.u64(3), f.u64(4), f.string(5), 1, 1};
  }
  auto f = checked(o, "hello", 8);
  return {f.string(1), f.u32(2), f.u64(3), f.u64(4), f.string(5), f.u32(6), f.u32(7)};
}

void encode(OutBuffer& out, const Welcome& m) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::welcome);
  str(p, m.name);
  p.pack_uint32(m.creation);
  if (m.duplicate)
    p.pack_true();
  else
    p.pack_false();
}
Welcome decode_welcome(const msgpack::object& o) {
  auto f = checked(o, "welcome", 4);
  return {f.string(1), f.u32(2), f.boolean(3)};
}

void encode_reset(OutBuffer& out) {
  Packer p(out);
  p.pack_array(1);
  type(p, MsgType::reset);
}

void encode(OutBuffer& out, const Refuse& m) {
  Packer p(out);
  p.pack_array(3);
  type(p, MsgType::refuse);
  p.pack_uint32(static_cast<std::uint32_t>(m.code));
  str(p, m.text);
}
Refuse decode_refuse(const msgpack::object& o) {
  auto f = checked(o, "refuse", 3);
  return {static_cast<RefuseCode>(f.u32(1)), f.string(2)};
}

void encode(OutBuffer& out, const Bye& m) {
  Packer p(out);
  p.pack_array(2);
  type(p, MsgType::bye);
  p.pack_uint32(static_cast<std::uint32_t>(m.reason));
}
Bye decode_bye(const msgpack::object& o) {
  auto f = checked(o, "bye", 2);
  auto reason = f.u32(1);
  if (reason != 1 && reason != 2) f.fail(1, "is not a bye reason");
  return {static_cast<ByeReason>(reason)};
}

void encode_heartbeat(OutBuffer& out) {
  Packer p(out);
  p.pack_array(1);
  type(p, MsgType::heartbeat);
}

void encode_heartbeat(OutBuffer& out, std::uint64_t bytes_read) {
  Packer p(out);
  p.pack_array(2);
  type(p, MsgType::heartbeat);
  p.pack_uint64(bytes_read);
}

std::optional<std::uint64_t> decode_heartbeat_bytes_read(const msgpack::object& o) {
  Fields f(o, "heartbeat", 1);
  if (f.size() > 2) f.fail(f.size(), "has too many fields");
  if (f.size() == 1) return std::nullopt;
  return f.u64(1);
}

void encode(OutBuffer& out, const Peers& m) {
  Packer p(out);
  p.pack_array(2);
  type(p, MsgType::peers);
  p.pack_array(static_cast<std::uint32_t>(m.peers.size()));
  for (const auto& [name, endpoint] : m.peers) {
    p.pack_array(2);
    str(p, name);
    str(p, endpoint);
  }
}
Peers decode_peers(const msgpack::object& o) {
  auto f = checked(o, "peers", 2);
  auto list = f.array(1, "peers list");
  Peers m;
  m.peers.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) {
    auto pair = checked(list.raw(i), "peers entry", 2);
    m.peers.emplace_back(pair.string(0), pair.string(1));
  }
  return m;
}

void encode_send(OutBuffer& out, LocalPid to, std::string_view body_bytes) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::send);
  local_pid(p, to);
  out.append(body_bytes);
}
Send decode_send(const msgpack::object& o) {
  auto f = checked(o, "send", 4);
  return {local_pid(f, 1), f.term(3)};
}

void encode_exit(OutBuffer& out, LocalPid to, const Term& reason) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::exit);
  local_pid(p, to);
  term(out, reason);
}
Exit decode_exit(const msgpack::object& o) {
  auto f = checked(o, "exit", 4);
  return {local_pid(f, 1), f.term(3)};
}

void encode(OutBuffer& out, const Monitor& m) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::monitor);
  p.pack_uint64(m.ref);
  local_pid(p, m.target);
}
Monitor decode_monitor(const msgpack::object& o) {
  auto f = checked(o, "monitor", 4);
  return {f.u64(1), local_pid(f, 2)};
}

void encode(OutBuffer& out, const Demonitor& m) {
  Packer p(out);
  p.pack_array(2);
  type(p, MsgType::demonitor);
  p.pack_uint64(m.ref);
}
Demonitor decode_demonitor(const msgpack::object& o) {
  auto f = checked(o, "demonitor", 2);
  return {f.u64(1)};
}

void encode_down(OutBuffer& out, std::uint64_t ref, const Term& reason) {
  Packer p(out);
  p.pack_array(3);
  type(p, MsgType::down);
  p.pack_uint64(ref);
  term(out, reason);
}
Down decode_down(const msgpack::object& o) {
  auto f = checked(o, "down", 3);
  return {f.u64(1), f.term(2)};
}

void encode_mcall(OutBuffer& out, std::uint64_t call_id, LocalPid to, std::string_view body_bytes,
                  const Term& member_meta) {
  Packer p(out);
  p.pack_array(6);
  type(p, MsgType::mcall);
  p.pack_uint64(call_id);
  local_pid(p, to);
  out.append(body_bytes);
  term(out, member_meta);
}
MCall decode_mcall(const msgpack::object& o) {
  auto f = checked(o, "mcall", 6);
  return {f.u64(1), local_pid(f, 2), f.term(4), f.term(5)};
}

void encode_mcall_reply(OutBuffer& out, std::uint64_t call_id, LocalPid member, bool died, const Term& answer) {
  Packer p(out);
  p.pack_array(6);
  type(p, MsgType::mcall_reply);
  p.pack_uint64(call_id);
  local_pid(p, member);
  if (died)
    p.pack_true();
  else
    p.pack_false();
  term(out, answer);
}
MCallReply decode_mcall_reply(const msgpack::object& o) {
  auto f = checked(o, "mcall_reply", 6);
  return {f.u64(1), local_pid(f, 2), f.boolean(4), f.term(5)};
}

void encode_publish(OutBuffer& out, std::uint32_t creation, const std::vector<std::uint64_t>& ids,
                    std::string_view body_bytes) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::publish);
  p.pack_uint32(creation);
  p.pack_array(static_cast<std::uint32_t>(ids.size()));
  for (auto id : ids) p.pack_uint64(id);
  out.append(body_bytes);
}
Publish decode_publish(const msgpack::object& o) {
  auto f = checked(o, "publish", 4);
  Publish m;
  m.creation = f.u32(1);
  auto ids = f.array(2, "publish ids");
  m.ids.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) m.ids.push_back(ids.u64(i));
  m.body = f.term(3);
  return m;
}

namespace {

/// [type, kind, scope]: discover and not_here.
void encode_address_only(OutBuffer& out, MsgType message_type, const ScopeAddress& a) {
  Packer p(out);
  p.pack_array(3);
  type(p, message_type);
  address(p, a);
}
ScopeAddress decode_address_only(const msgpack::object& o, const char* what) { return address(checked(o, what, 3), 1); }

}  // namespace

void encode_discover(OutBuffer& out, const ScopeAddress& a) { encode_address_only(out, MsgType::discover, a); }
ScopeAddress decode_discover(const msgpack::object& o) { return decode_address_only(o, "discover"); }

void encode_not_here(OutBuffer& out, const ScopeAddress& a) { encode_address_only(out, MsgType::not_here, a); }
ScopeAddress decode_not_here(const msgpack::object& o) { return decode_address_only(o, "not_here"); }

void begin_ack_sync(OutBuffer& out, const ScopeAddress& a, bool last) {
  Packer p(out);
  p.pack_array(5);
  type(p, MsgType::ack_sync);
  address(p, a);
  if (last)
    p.pack_true();
  else
    p.pack_false();
}
AckSync decode_ack_sync(const msgpack::object& o) {
  auto f = checked(o, "ack_sync", 5);
  return {address(f, 1), f.boolean(3), &f.raw(4)};
}

void begin_scope_message(OutBuffer& out, const ScopeAddress& a) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::scope);
  address(p, a);
}
ScopeMessage decode_scope_message(const msgpack::object& o) {
  auto f = checked(o, "scope", 4);
  return {address(f, 1), &f.raw(3)};
}

void begin_call(OutBuffer& out, std::uint64_t request_id, const ScopeAddress& a) {
  Packer p(out);
  p.pack_array(5);
  type(p, MsgType::call);
  p.pack_uint64(request_id);
  address(p, a);
}
Call decode_call(const msgpack::object& o) {
  auto f = checked(o, "call", 5);
  return {f.u64(1), address(f, 2), &f.raw(4)};
}

void begin_reply(OutBuffer& out, std::uint64_t request_id, std::uint32_t status) {
  Packer p(out);
  p.pack_array(4);
  type(p, MsgType::reply);
  p.pack_uint64(request_id);
  p.pack_uint32(status);
}
Reply decode_reply(const msgpack::object& o) {
  auto f = checked(o, "reply", 4);
  return {f.u64(1), f.u32(2), &f.raw(3)};
}

}  // namespace syn::wire
