#include "wire/entry_messages.hpp"

#include "wire/pid_codec.hpp"

namespace syn::wire::entries {
namespace {

using Packer = msgpack::packer<OutBuffer>;

void raw(OutBuffer& out, std::string_view canonical_term) {
  if (canonical_term.empty()) {
    out.put(static_cast<char>(0xc0));  // nil
  } else {
    out.append(canonical_term);
  }
}

Fields exactly(const msgpack::object& o, const char* what, std::size_t n) {
  Fields f(o, what, n);
  if (f.size() != n) f.fail(f.size(), "has the wrong number of fields");
  return f;
}

}  // namespace

void encode(OutBuffer& out, const Put& m) {
  Packer p(out);
  p.pack_array(6);
  p.pack_uint32(static_cast<std::uint32_t>(Op::put));
  raw(out, m.key);
  p.pack_uint64(m.pid_id);
  p.pack_int64(m.time);
  raw(out, m.meta);
  p.pack_uint32(m.reason);
}

void encode(OutBuffer& out, const Del& m) {
  Packer p(out);
  p.pack_array(6);
  p.pack_uint32(static_cast<std::uint32_t>(Op::del));
  raw(out, m.key);
  p.pack_uint64(m.pid_id);
  p.pack_int64(m.time);
  p.pack_uint32(m.reason);
  raw(out, m.exit_reason);
}

void encode_put_many(OutBuffer& out, const std::vector<Put>& puts) {
  Packer p(out);
  p.pack_array(4);
  p.pack_uint32(static_cast<std::uint32_t>(Op::put_many));
  raw(out, puts.empty() ? std::string_view() : std::string_view(puts.front().key));
  p.pack_uint32(puts.empty() ? 0 : puts.front().reason);
  p.pack_array(static_cast<std::uint32_t>(puts.size() * 3));
  for (const auto& put : puts) {
    p.pack_uint64(put.pid_id);
    p.pack_int64(put.time);
    raw(out, put.meta);
  }
}

void encode_del_many(OutBuffer& out, const std::vector<Del>& dels) {
  Packer p(out);
  p.pack_array(4);
  p.pack_uint32(static_cast<std::uint32_t>(Op::del_many));
  raw(out, dels.empty() ? std::string_view() : std::string_view(dels.front().key));
  p.pack_uint32(dels.empty() ? 0 : dels.front().reason);
  p.pack_array(static_cast<std::uint32_t>(dels.size() * 2));
  for (const auto& del : dels) {
    p.pack_uint64(del.pid_id);
    p.pack_int64(del.time);
  }
}

void encode_none(OutBuffer& out) {
  Packer p(out);
  p.pack_array(1);
  p.pack_uint32(static_cast<std::uint32_t>(Op::none));
}

void encode_stale(OutBuffer& out, std::string_view meta, std::int64_t time) {
  Packer p(out);
  p.pack_array(3);
  p.pack_uint32(static_cast<std::uint32_t>(Op::stale));
  raw(out, meta);
  p.pack_int64(time);
}

Change decode_change(const msgpack::object& o) {
  Fields head(o, "entry change", 1);
  Change c;
  switch (static_cast<Op>(head.u32(0))) {
    case Op::none:
      exactly(o, "entry none", 1);
      c.op = Op::none;
      return c;
    case Op::put: {
      auto f = exactly(o, "entry put", 6);
      c.op = Op::put;
      c.put = {f.canonical(1), f.u64(2), f.i64(3), f.canonical(4), f.u32(5)};
      return c;
    }
    case Op::del: {
      auto f = exactly(o, "entry del", 6);
      c.op = Op::del;
      c.del = {f.canonical(1), f.u64(2), f.i64(3), f.u32(4), f.canonical(5)};
      return c;
    }
    case Op::stale: {
      auto f = exactly(o, "entry stale", 3);
      c.op = Op::stale;
      c.stale_meta = f.canonical(1);
      c.stale_time = f.i64(2);
      return c;
    }
    case Op::put_many: {
      auto f = exactly(o, "entry put_many", 4);
      c.op = Op::put_many;
      std::string key = f.canonical(1);
      std::uint32_t reason = f.u32(2);
      auto list = f.array(3, "entry put_many list");
      if (list.size() % 3 != 0) list.fail(list.size(), "is not a whole number of puts");
      c.puts.reserve(list.size() / 3);
      for (std::size_t i = 0; i < list.size(); i += 3) {
        c.puts.push_back(Put{key, list.u64(i), list.i64(i + 1), list.canonical(i + 2), reason});
      }
      return c;
    }
    case Op::del_many: {
      auto f = exactly(o, "entry del_many", 4);
      c.op = Op::del_many;
      std::string key = f.canonical(1);
      std::uint32_t reason = f.u32(2);
      auto list = f.array(3, "entry del_many list");
      if (list.size() % 2 != 0) list.fail(list.size(), "is not a whole number of dels");
      c.dels.reserve(list.size() / 2);
      for (std::size_t i = 0; i < list.size(); i += 2) {
        c.dels.push_back(Del{key, list.u64(i), list.i64(i + 1), reason, {}});
      }
      return c;
    }
  }
  head.fail(0, "is not an entry operation");
}

void encode(OutBuffer& out, const CallRequest& m) {
  Packer p(out);
  if (m.op == CallOp::put_many || m.op == CallOp::remove_many) {
    bool put = m.op == CallOp::put_many;
    p.pack_array(put ? 5 : 4);
    p.pack_uint32(static_cast<std::uint32_t>(m.op));
    raw(out, m.key);
    p.pack_uint32(m.pid_creation);
    p.pack_array(static_cast<std::uint32_t>(m.pid_ids.size()));
    for (auto id : m.pid_ids) p.pack_uint64(id);
    if (put) raw(out, m.meta);
    return;
  }
  bool update = m.op == CallOp::update;
  bool has_meta = m.op != CallOp::remove && m.op != CallOp::remove_counted;
  p.pack_array(update ? 6 : has_meta ? 5 : 4);
  p.pack_uint32(static_cast<std::uint32_t>(m.op));
  raw(out, m.key);
  p.pack_uint32(m.pid_creation);
  p.pack_uint64(m.pid_id);
  if (update) p.pack_int64(m.expected_time);
  if (has_meta) raw(out, m.meta);
}

CallRequest decode_call_request(const msgpack::object& o) {
  Fields head(o, "entry call", 1);
  CallRequest r;
  r.op = static_cast<CallOp>(head.u32(0));
  switch (r.op) {
    case CallOp::put:
    case CallOp::put_counted: {
      auto f = exactly(o, "entry put call", 5);
      r.key = f.canonical(1);
      r.pid_creation = f.u32(2);
      r.pid_id = f.u64(3);
      r.meta = f.canonical(4);
      return r;
    }
    case CallOp::remove:
    case CallOp::remove_counted: {
      auto f = exactly(o, "entry remove call", 4);
      r.key = f.canonical(1);
      r.pid_creation = f.u32(2);
      r.pid_id = f.u64(3);
      return r;
    }
    case CallOp::update: {
      auto f = exactly(o, "entry update call", 6);
      r.key = f.canonical(1);
      r.pid_creation = f.u32(2);
      r.pid_id = f.u64(3);
      r.expected_time = f.i64(4);
      r.meta = f.canonical(5);
      return r;
    }
    case CallOp::put_many:
    case CallOp::remove_many: {
      bool put = r.op == CallOp::put_many;
      auto f = exactly(o, "entry many call", put ? 5 : 4);
      r.key = f.canonical(1);
      r.pid_creation = f.u32(2);
      auto ids = f.array(3, "entry many call pids");
      r.pid_ids.reserve(ids.size());
      for (std::size_t i = 0; i < ids.size(); ++i) r.pid_ids.push_back(ids.u64(i));
      if (put) r.meta = f.canonical(4);
      return r;
    }
  }
  head.fail(0, "is not an entry call");
}

void begin_counted_reply(OutBuffer& out, std::uint64_t count) {
  Packer p(out);
  p.pack_array(2);
  p.pack_uint64(count);
}

CountedReply decode_counted_reply(const msgpack::object& o) {
  auto f = exactly(o, "counted reply", 2);
  return CountedReply{f.u64(0), decode_change(f.raw(1))};
}

void begin_many_reply(OutBuffer& out, const std::vector<std::uint32_t>& statuses) {
  Packer p(out);
  p.pack_array(2);
  p.pack_array(static_cast<std::uint32_t>(statuses.size()));
  for (auto status : statuses) p.pack_uint32(status);
}

ManyReply decode_many_reply(const msgpack::object& o) {
  auto f = exactly(o, "many reply", 2);
  auto list = f.array(0, "many reply statuses");
  ManyReply reply;
  reply.statuses.reserve(list.size());
  for (std::size_t i = 0; i < list.size(); ++i) reply.statuses.push_back(list.u32(i));
  reply.change = decode_change(f.raw(1));
  return reply;
}

void encode_holder(OutBuffer& out, const Pid& pid, std::string_view meta) {
  Packer p(out);
  p.pack_array(2);
  pack_pid(p, pid);
  raw(out, meta);
}

Holder decode_holder(const msgpack::object& o) {
  auto f = exactly(o, "holder", 2);
  return Holder{decode_pid(f, 0), f.canonical(1)};
}

void SnapshotChunker::add(std::string_view key, std::uint64_t pid_id, std::int64_t time, std::string_view meta) {
  Packer p(body_);
  raw(body_, key);
  p.pack_uint64(pid_id);
  p.pack_int64(time);
  raw(body_, meta);
  ++entries_;
  if (body_.size() >= kChunkBytes || entries_ >= kChunkEntries) finish();
}

void SnapshotChunker::finish() {
  if (entries_ == 0) return;
  OutBuffer chunk;
  Packer(chunk).pack_array(static_cast<std::uint32_t>(entries_ * 4));
  chunk.append(body_.view());
  emit_(chunk.view());
  body_.clear();
  entries_ = 0;
}

std::vector<SnapshotEntry> decode_snapshot_chunk(const msgpack::object& o) {
  Fields f(o, "entry snapshot");
  if (f.size() % 4 != 0) f.fail(f.size(), "is not a whole number of entries");
  std::vector<SnapshotEntry> out;
  out.reserve(f.size() / 4);
  for (std::size_t i = 0; i < f.size(); i += 4) {
    out.push_back({f.canonical(i), f.u64(i + 1), f.i64(i + 2), f.canonical(i + 3)});
  }
  return out;
}

}  // namespace syn::wire::entries
