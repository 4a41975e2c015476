#include "wire/multicast_messages.hpp"

#include "wire/pid_codec.hpp"

namespace syn::wire::multicast {
namespace {

using Packer = msgpack::packer<OutBuffer>;

// Tags: the view protocol's messages in the order of Message's alternatives, then the data path.
constexpr std::uint32_t kFirstProtocolTag = 1;
enum class DataTag : std::uint32_t { data = 20, resend = 21, ack = 22, stable = 23, announce = 24 };

// ---- writing ------------------------------------------------------------------------------------

class Writer {
 public:
  explicit Writer(OutBuffer& out) : out_(out), p_(out) {}

  void u32(std::uint32_t v) { p_.pack_uint32(v); }
  void u64(std::uint64_t v) { p_.pack_uint64(v); }
  void array(std::size_t n) { p_.pack_array(static_cast<std::uint32_t>(n)); }
  void nil() { p_.pack_nil(); }
  void boolean(bool v) { v ? p_.pack_true() : p_.pack_false(); }
  void str(std::string_view s) {
    p_.pack_str(static_cast<std::uint32_t>(s.size()));
    p_.pack_str_body(s.data(), static_cast<std::uint32_t>(s.size()));
  }
  /// Canonical term bytes, written as they are (they are one msgpack value).
  void term(std::string_view canonical) {
    if (canonical.empty()) {
      nil();
    } else {
      out_.append(canonical);
    }
  }
  void node(NodeId node) { str(syn::detail::node_name_of(node)); }
  void pid(const Pid& pid) { pack_pid(p_, pid); }
  void pids(const std::vector<Pid>& pids) {
    array(pids.size());
    for (const auto& p : pids) pid(p);
  }
  void view_id(const ViewId& id) {
    array(2);
    pid(id.coordinator);
    u64(id.number);
  }
  void view(const InstalledView& view) {
    array(2);
    view_id(view.id);
    pids(view.members);
  }
  void optional_view(const std::optional<InstalledView>& v) { v ? view(*v) : nil(); }
  void proposal(const Proposal& proposal) {
    array(2);
    pid(proposal.coordinator);
    u64(proposal.attempt);
  }
  void left(const std::vector<std::pair<Pid, LeaveReason>>& left) {
    array(left.size());
    for (const auto& [member, reason] : left) {
      array(2);
      pid(member);
      u32(static_cast<std::uint32_t>(reason));
    }
  }
  void digest(const Digest& digest) {
    array(digest.size() * 2);
    for (const auto& [stream, seq] : digest) {
      node(stream);
      u64(seq);
    }
  }
  void messages(const std::vector<Published>& messages) {
    array(messages.size() * 2);
    for (const auto& m : messages) {
      u64(m.member);
      term(m.message);
    }
  }

 private:
  OutBuffer& out_;
  Packer p_;
};

/// Writes the fields of one protocol message after its tag and group.
struct ProtocolWriter {
  Writer& w;
  void operator()(const JoinRequest& m) { w.pid(m.member); }
  void operator()(const LeaveRequest& m) {
    w.pid(m.member);
    w.u32(static_cast<std::uint32_t>(m.reason));
  }
  void operator()(const Prepare& m) {
    w.proposal(m.proposal);
    w.optional_view(m.base);
    w.pids(m.members);
    w.optional_view(m.other);
  }
  void operator()(const PrepareOk& m) {
    w.proposal(m.proposal);
    w.optional_view(m.installed);
    w.left(m.installed_left);
    w.digest(m.digest);
    w.pids(m.members);
  }
  void operator()(const Refuse& m) {
    w.proposal(m.proposal);
    m.following ? w.pid(*m.following) : w.nil();
    w.optional_view(m.installed);
  }
  void operator()(const Flush& m) {
    w.proposal(m.proposal);
    w.array(m.ends.size());
    for (const auto& end : m.ends) {
      w.array(3);
      w.node(end.stream);
      w.u64(end.last);
      w.node(end.retransmitter);
    }
    w.array(m.digests.size() * 2);
    for (const auto& [node, digest] : m.digests) {
      w.node(node);
      w.digest(digest);
    }
  }
  void operator()(const FlushOk& m) { w.proposal(m.proposal); }
  void operator()(const Install& m) {
    w.proposal(m.proposal);
    w.view(m.view);
    w.left(m.left);
    w.boolean(m.merged);
  }
  void operator()(const Evicted& m) {
    w.proposal(m.proposal);
    w.view_id(m.view);
  }
  void operator()(const MergeRequest& m) { w.view(m.view); }
  void operator()(const Yield& m) {
    w.pid(m.senior);
    w.view_id(m.view);
  }
  void operator()(const Unreachable& m) {
    w.view_id(m.view);
    w.array(m.nodes.size());
    for (NodeId n : m.nodes) w.node(n);
  }
};

/// How many fields each protocol message has after its tag and group.
constexpr std::size_t kProtocolFields[] = {1, 2, 4, 5, 3, 3, 1, 4, 2, 1, 2, 2};
static_assert(std::size(kProtocolFields) == std::variant_size_v<Message>);

// ---- reading ------------------------------------------------------------------------------------

/// Checked readers of the nested values; each throws DecodeError naming what was wrong.
NodeId node(const Fields& f, std::size_t i) { return decode_node(f, i); }

Pid pid(const Fields& f, std::size_t i) { return decode_pid(f, i); }

std::vector<Pid> pids(const Fields& f, std::size_t i) {
  Fields list = f.array(i, "multicast pids");
  std::vector<Pid> out;
  out.reserve(list.size());
  for (std::size_t k = 0; k < list.size(); ++k) out.push_back(pid(list, k));
  return out;
}

ViewId view_id(const Fields& f, std::size_t i) {
  Fields v = f.array(i, "multicast view id");
  if (v.size() != 2) v.fail(v.size(), "has the wrong number of fields");
  return ViewId{pid(v, 0), v.u64(1)};
}

InstalledView view(const Fields& f, std::size_t i) {
  Fields v = f.array(i, "multicast view");
  if (v.size() != 2) v.fail(v.size(), "has the wrong number of fields");
  return InstalledView{view_id(v, 0), pids(v, 1)};
}

std::optional<Pid> optional_pid(const Fields& f, std::size_t i) {
  if (f.raw(i).type == msgpack::type::NIL) return std::nullopt;
  return pid(f, i);
}

std::optional<InstalledView> optional_view(const Fields& f, std::size_t i) {
  if (f.raw(i).type == msgpack::type::NIL) return std::nullopt;
  return view(f, i);
}

Proposal proposal(const Fields& f, std::size_t i) {
  Fields p = f.array(i, "multicast proposal");
  if (p.size() != 2) p.fail(p.size(), "has the wrong number of fields");
  return Proposal{pid(p, 0), p.u64(1)};
}

LeaveReason reason(const Fields& f, std::size_t i) {
  std::uint32_t r = f.u32(i);
  if (r > static_cast<std::uint32_t>(LeaveReason::evicted)) f.fail(i, "is not a leave reason");
  return static_cast<LeaveReason>(r);
}

std::vector<std::pair<Pid, LeaveReason>> left(const Fields& f, std::size_t i) {
  Fields list = f.array(i, "multicast left");
  std::vector<std::pair<Pid, LeaveReason>> out;
  out.reserve(list.size());
  for (std::size_t k = 0; k < list.size(); ++k) {
    Fields entry = list.array(k, "multicast left entry");
    if (entry.size() != 2) entry.fail(entry.size(), "has the wrong number of fields");
    out.emplace_back(pid(entry, 0), reason(entry, 1));
  }
  return out;
}

Digest digest(const Fields& f, std::size_t i) {
  Fields list = f.array(i, "multicast digest");
  if (list.size() % 2 != 0) list.fail(list.size(), "is not a list of pairs");
  Digest out;
  for (std::size_t k = 0; k < list.size(); k += 2) {
    if (!out.emplace(node(list, k), list.u64(k + 1)).second) list.fail(k, "names a stream twice");
  }
  return out;
}

std::vector<Published> messages(const Fields& f, std::size_t i) {
  Fields list = f.array(i, "multicast messages");
  if (list.size() % 2 != 0) list.fail(list.size(), "is not a list of (member, message) pairs");
  std::vector<Published> out;
  out.reserve(list.size() / 2);
  for (std::size_t k = 0; k < list.size(); k += 2) out.push_back(Published{list.u64(k), list.canonical(k + 1)});
  return out;
}

/// The number of a batch's first message: streams count from 1, and a batch must not wrap.
std::uint64_t first_seq(const Fields& f, std::size_t i) {
  std::uint64_t first = f.u64(i);
  if (first == 0 || first > (std::uint64_t{1} << 62)) f.fail(i, "is not a sequence number");
  return first;
}

Message protocol(std::size_t index, const Fields& f) {
  constexpr std::size_t b = 2;  // after the tag and the group
  switch (index) {
    case 0: return JoinRequest{pid(f, b)};
    case 1: return LeaveRequest{pid(f, b), reason(f, b + 1)};
    case 2: return Prepare{proposal(f, b), optional_view(f, b + 1), pids(f, b + 2), optional_view(f, b + 3)};
    case 3: return PrepareOk{proposal(f, b), optional_view(f, b + 1), left(f, b + 2), digest(f, b + 3), pids(f, b + 4)};
    case 4: return Refuse{proposal(f, b), optional_pid(f, b + 1), optional_view(f, b + 2)};
    case 5: {
      Flush flush{proposal(f, b), {}, {}};
      Fields ends = f.array(b + 1, "multicast flush ends");
      for (std::size_t k = 0; k < ends.size(); ++k) {
        Fields end = ends.array(k, "multicast stream end");
        if (end.size() != 3) end.fail(end.size(), "has the wrong number of fields");
        flush.ends.push_back(StreamEnd{node(end, 0), end.u64(1), node(end, 2)});
      }
      Fields digests = f.array(b + 2, "multicast flush digests");
      if (digests.size() % 2 != 0) digests.fail(digests.size(), "is not a list of pairs");
      for (std::size_t k = 0; k < digests.size(); k += 2) {
        if (!flush.digests.emplace(node(digests, k), digest(digests, k + 1)).second) {
          digests.fail(k, "names a node twice");
        }
      }
      return flush;
    }
    case 6: return FlushOk{proposal(f, b)};
    case 7: return Install{proposal(f, b), view(f, b + 1), left(f, b + 2), f.boolean(b + 3)};
    case 8: return Evicted{proposal(f, b), view_id(f, b + 1)};
    case 9: return MergeRequest{view(f, b)};
    case 10: return Yield{pid(f, b), view_id(f, b + 1)};
    case 11: {
      Unreachable m{view_id(f, b), {}};
      Fields list = f.array(b + 1, "multicast unreachable nodes");
      for (std::size_t k = 0; k < list.size(); ++k) m.nodes.push_back(node(list, k));
      return m;
    }
  }
  f.fail(0, "is not a multicast message");
}

Fields exactly(const msgpack::object& o, std::size_t n) {
  Fields f(o, "multicast message", n);
  if (f.size() != n) f.fail(f.size(), "has the wrong number of fields");
  return f;
}

}  // namespace

void encode(OutBuffer& out, const Envelope& envelope) {
  Writer w(out);
  if (const auto* message = std::get_if<Message>(&envelope.body)) {
    w.array(2 + kProtocolFields[message->index()]);
    w.u32(kFirstProtocolTag + static_cast<std::uint32_t>(message->index()));
    w.term(envelope.group);
    std::visit(ProtocolWriter{w}, *message);
  } else if (const auto* data = std::get_if<Data>(&envelope.body)) {
    w.array(5);
    w.u32(static_cast<std::uint32_t>(DataTag::data));
    w.term(envelope.group);
    w.view_id(data->view);
    w.u64(data->first);
    w.messages(data->messages);
  } else if (const auto* resend = std::get_if<Resend>(&envelope.body)) {
    w.array(6);
    w.u32(static_cast<std::uint32_t>(DataTag::resend));
    w.term(envelope.group);
    w.view_id(resend->view);
    w.node(resend->stream);
    w.u64(resend->first);
    w.messages(resend->messages);
  } else if (const auto* ack = std::get_if<Ack>(&envelope.body)) {
    w.array(4);
    w.u32(static_cast<std::uint32_t>(DataTag::ack));
    w.term(envelope.group);
    w.view_id(ack->view);
    w.digest(ack->held);
  } else if (const auto* stable = std::get_if<Stable>(&envelope.body)) {
    w.array(4);
    w.u32(static_cast<std::uint32_t>(DataTag::stable));
    w.term(envelope.group);
    w.view_id(stable->view);
    w.u64(stable->seq);
  } else {
    const auto& announce = std::get<Announce>(envelope.body);
    w.array(4);
    w.u32(static_cast<std::uint32_t>(DataTag::announce));
    w.term(envelope.group);
    w.optional_view(announce.view);
    w.left(announce.left);
  }
}

Envelope decode_envelope(const msgpack::object& o) {
  Fields head(o, "multicast message", 2);
  std::uint32_t tag = head.u32(0);
  Envelope envelope;
  envelope.group = head.canonical(1);
  if (tag >= kFirstProtocolTag && tag < kFirstProtocolTag + std::variant_size_v<Message>) {
    std::size_t index = tag - kFirstProtocolTag;
    Fields f = exactly(o, 2 + kProtocolFields[index]);
    envelope.body = protocol(index, f);
    return envelope;
  }
  switch (static_cast<DataTag>(tag)) {
    case DataTag::data: {
      Fields f = exactly(o, 5);
      envelope.body = Data{view_id(f, 2), first_seq(f, 3), messages(f, 4)};
      return envelope;
    }
    case DataTag::resend: {
      Fields f = exactly(o, 6);
      envelope.body = Resend{view_id(f, 2), node(f, 3), first_seq(f, 4), messages(f, 5)};
      return envelope;
    }
    case DataTag::ack: {
      Fields f = exactly(o, 4);
      envelope.body = Ack{view_id(f, 2), digest(f, 3)};
      return envelope;
    }
    case DataTag::stable: {
      Fields f = exactly(o, 4);
      envelope.body = Stable{view_id(f, 2), f.u64(3)};
      return envelope;
    }
    case DataTag::announce: {
      Fields f = exactly(o, 4);
      envelope.body = Announce{optional_view(f, 2), left(f, 3)};
      return envelope;
    }
  }
  head.fail(0, "is not a multicast message");
}

}  // namespace syn::wire::multicast
