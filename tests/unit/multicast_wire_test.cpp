// The multicast payloads (src/wire/multicast_messages): each message reads back as what was
// written, and a peer's malformed payloads are refused with DecodeError naming the problem.
// (The fuzz replay, fuzz_replay_test.cpp, throws mutated and random bytes at the decoder.)
#include "wire/multicast_messages.hpp"
#include "wire/pid_codec.hpp"
#include "wire/term_codec.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace syn;
using namespace syn::wire::multicast;

namespace {

using syn::wire::multicast::Message;  // not syn::Message

const std::string kGroup = wire::canonical(Term::array({"orders", 7}));

std::string encoded(Body body) {
  wire::OutBuffer out;
  encode(out, Envelope{kGroup, std::move(body)});
  return out.release();
}

Envelope read_back(const std::string& bytes) {
  auto handle = msgpack::unpack(bytes.data(), bytes.size());
  return decode_envelope(handle.get());
}

template <class M>
M read_message(Body body) {
  Envelope e = read_back(encoded(std::move(body)));
  REQUIRE(e.group == kGroup);
  REQUIRE(std::holds_alternative<Message>(e.body));
  REQUIRE(std::holds_alternative<M>(std::get<Message>(e.body)));
  return std::get<M>(std::get<Message>(e.body));
}

/// A payload written by hand: [tag, group, fields...].
std::string by_hand(std::uint32_t tag, const std::function<void(msgpack::packer<wire::OutBuffer>&)>& fields,
                    std::uint32_t count) {
  wire::OutBuffer out;
  msgpack::packer<wire::OutBuffer> p(out);
  p.pack_array(2 + count);
  p.pack_uint32(tag);
  out.append(kGroup);
  fields(p);
  return out.release();
}

const Pid a("alpha", 1, 10), b("beta", 2, 20), c("gamma", 3, 30);

}  // namespace

TEST_CASE("multicast wire: view-protocol messages read back as written", "[unit][wire][multicast]") {
  InstalledView v{ViewId{a, 4}, {a, b, c}};
  InstalledView w{ViewId{c, 9}, {c}};
  Proposal p{a, 3};
  Digest d{{a.node_atom(), 12}, {b.node_atom(), 0}};

  auto prepare = read_message<Prepare>(wire::multicast::Message{Prepare{p, v, {a, b}, w}});
  CHECK(prepare.proposal == p);
  CHECK(prepare.base == v);
  CHECK(prepare.members == std::vector<Pid>{a, b});
  CHECK(prepare.other == w);

  auto ok = read_message<PrepareOk>(
      wire::multicast::Message{PrepareOk{p, std::nullopt, {{c, LeaveReason::evicted}}, d, {b}}});
  CHECK_FALSE(ok.installed);
  CHECK(ok.installed_left == std::vector<std::pair<Pid, LeaveReason>>{{c, LeaveReason::evicted}});
  CHECK(ok.digest == d);
  CHECK(ok.members == std::vector<Pid>{b});

  std::vector<StreamEnd> ends{{a.node_atom(), 12, b.node_atom()}, {b.node_atom(), 3, a.node_atom()}};
  auto flush = read_message<Flush>(wire::multicast::Message{Flush{p, ends, {{a.node_atom(), d}, {c.node_atom(), {}}}}});
  CHECK(flush.ends == ends);
  CHECK(flush.digests.at(a.node_atom()) == d);
  CHECK(flush.digests.at(c.node_atom()).empty());

  auto install = read_message<Install>(wire::multicast::Message{Install{p, v, {{b, LeaveReason::node_down}}, true}});
  CHECK(install.view == v);
  CHECK(install.left == std::vector<std::pair<Pid, LeaveReason>>{{b, LeaveReason::node_down}});
  CHECK(install.merged);

  auto leave = read_message<LeaveRequest>(wire::multicast::Message{LeaveRequest{b, LeaveReason::process_exit}});
  CHECK(leave.member == b);
  CHECK(leave.reason == LeaveReason::process_exit);

  auto refuse = read_message<Refuse>(wire::multicast::Message{Refuse{p, c, w}});
  CHECK(refuse.proposal == p);
  CHECK(refuse.following == c);
  CHECK(refuse.installed == w);
  // A node that reaches no coordinator refuses naming none (it was an empty pid, which the
  // reader refused as malformed: the link reset; found by the simulator, seed 483765170007).
  auto alone = read_message<Refuse>(wire::multicast::Message{Refuse{p, std::nullopt, std::nullopt}});
  CHECK_FALSE(alone.following);
  CHECK_FALSE(alone.installed);

  auto yield = read_message<Yield>(wire::multicast::Message{Yield{a, ViewId{c, 9}}});
  CHECK(yield.senior == a);
  CHECK(yield.view == ViewId{c, 9});

  auto cut =
      read_message<Unreachable>(wire::multicast::Message{Unreachable{ViewId{a, 4}, {b.node_atom(), c.node_atom()}}});
  CHECK(cut.view == ViewId{a, 4});
  CHECK(cut.nodes == std::vector<NodeId>{b.node_atom(), c.node_atom()});
  CHECK(read_message<Unreachable>(wire::multicast::Message{Unreachable{ViewId{a, 4}, {}}}).nodes.empty());
}

TEST_CASE("multicast wire: data, resends, acks, stable points and announcements read back", "[unit][wire][multicast]") {
  std::vector<Published> terms{{10, wire::canonical(Term(1))}, {~0ULL, wire::canonical(Term{{"k", "v"}})}};
  auto data = std::get<Data>(read_back(encoded(Data{ViewId{a, 4}, 17, terms})).body);
  CHECK(data.view == ViewId{a, 4});
  CHECK(data.first == 17);
  CHECK(data.messages == terms);

  auto resend = std::get<Resend>(read_back(encoded(Resend{ViewId{a, 4}, b.node_atom(), 3, terms})).body);
  CHECK(resend.stream == b.node_atom());
  CHECK(resend.first == 3);
  CHECK(resend.messages == terms);

  Digest held{{a.node_atom(), 5}};
  CHECK(std::get<Ack>(read_back(encoded(Ack{ViewId{a, 4}, held})).body).held == held);
  CHECK(std::get<Stable>(read_back(encoded(Stable{ViewId{a, 4}, 99})).body).seq == 99);

  InstalledView v{ViewId{a, 4}, {a, b}};
  auto announce = std::get<Announce>(read_back(encoded(Announce{v, {{c, LeaveReason::left}}})).body);
  CHECK(announce.view == v);
  CHECK(announce.left.size() == 1);
  CHECK_FALSE(std::get<Announce>(read_back(encoded(Announce{})).body).view);
}

TEST_CASE("multicast wire: malformed payloads are refused, naming the problem", "[unit][wire][multicast]") {
  auto pid = [](msgpack::packer<wire::OutBuffer>& p, const std::string& node) {
    p.pack_array(3);
    p.pack(node);
    p.pack_uint32(1);
    p.pack_uint64(1);
  };
  // An unknown tag.
  CHECK_THROWS_WITH(read_back(by_hand(
                        99, [](auto&) {}, 0)),
                    Catch::Contains("is not a multicast message"));
  // A join with a field too many.
  CHECK_THROWS_WITH(read_back(by_hand(
                        1,
                        [&](auto& p) {
                          pid(p, "alpha");
                          p.pack_uint32(0);
                        },
                        2)),
                    Catch::Contains("wrong number of fields"));
  // A leave reason that does not exist.
  CHECK_THROWS_WITH(read_back(by_hand(
                        2,
                        [&](auto& p) {
                          pid(p, "alpha");
                          p.pack_uint32(7);
                        },
                        2)),
                    Catch::Contains("is not a leave reason"));
  // Node names: empty, or longer than a node name may be.
  CHECK_THROWS_WITH(read_back(by_hand(
                        1, [&](auto& p) { pid(p, ""); }, 1)),
                    Catch::Contains("is not a node name"));
  CHECK_THROWS_WITH(read_back(by_hand(
                        1, [&](auto& p) { pid(p, std::string(wire::kMaxNodeName + 1, 'x')); }, 1)),
                    Catch::Contains("is not a node name"));
  // A data batch that starts at 0 (streams count from 1).
  CHECK_THROWS_WITH(read_back(by_hand(
                        20,
                        [&](auto& p) {
                          p.pack_array(2);
                          pid(p, "alpha");
                          p.pack_uint64(4);
                          p.pack_uint64(0);
                          p.pack_array(0);
                        },
                        3)),
                    Catch::Contains("is not a sequence number"));
  // A digest that names a stream twice.
  CHECK_THROWS_WITH(read_back(by_hand(
                        22,
                        [&](auto& p) {
                          p.pack_array(2);
                          pid(p, "alpha");
                          p.pack_uint64(4);
                          p.pack_array(4);
                          p.pack(std::string("alpha"));
                          p.pack_uint64(1);
                          p.pack(std::string("alpha"));
                          p.pack_uint64(2);
                        },
                        2)),
                    Catch::Contains("names a stream twice"));
}
