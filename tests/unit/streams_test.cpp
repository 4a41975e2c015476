// The multicast streams of one node (src/multicast/streams): numbering, duplicates and gaps,
// cumulative acknowledgements and stability, what a flush reads and retransmits.
#include "multicast/streams.hpp"

#include <syn/pid.hpp>

#include <catch2/catch.hpp>

using namespace syn;
using namespace syn::detail::multicast;

namespace {

Published msg(const std::string& text) { return Published{7, text}; }
std::vector<Published> msgs(std::initializer_list<const char*> texts) {
  std::vector<Published> out;
  for (const char* t : texts) out.push_back(msg(t));
  return out;
}

NodeId node(const char* name) { return Pid(name, 1, 0).node_atom(); }

Streams three_nodes() {
  Streams s;
  s.reset(node("a"), {node("a"), node("b"), node("c")});
  return s;
}

}  // namespace

TEST_CASE("streams: this node's messages are numbered from 1 and kept until every node's members received them",
          "[unit][multicast]") {
  Streams s = three_nodes();
  CHECK(s.publish(msg("one")) == 1);
  CHECK(s.publish(msg("two")) == 2);
  CHECK(s.publish(msg("three")) == 3);
  CHECK(s.own_unstable_bytes() == 11);
  CHECK(s.stable(node("a")) == 0);
  CHECK(s.acknowledge(node("b"), node("a"), 3) == false);
  CHECK(s.acknowledge(node("c"), node("a"), 3) == false);  // this node's own members have not run yet
  CHECK(s.processed_digest().empty());
  s.processed(node("a"), 2);
  CHECK(s.processed_digest() == Digest{{node("a"), 2}});
  CHECK(s.stable(node("a")) == 2);
  s.processed(node("a"), 3);
  CHECK(s.stable(node("a")) == 3);
  s = three_nodes();
  s.publish(msg("one"));
  s.publish(msg("two"));
  s.publish(msg("three"));
  s.processed(node("a"), 3);
  CHECK_FALSE(s.acknowledge(node("b"), node("a"), 3));  // c holds none yet
  CHECK(s.acknowledge(node("c"), node("a"), 2));
  CHECK(s.stable(node("a")) == 2);
  CHECK_FALSE(s.acknowledge(node("c"), node("a"), 1));  // older: nothing moves
  CHECK(s.stable(node("a")) == 2);
  s.collect();
  CHECK(s.own_unstable_bytes() == 5);       // "three" is left
  CHECK(s.range(node("a"), 0, 3).empty());  // 1 and 2 are gone: every node has them
  CHECK(s.range(node("a"), 2, 3) == msgs({"three"}));
}

TEST_CASE("streams: a received message is the next one, a duplicate, or a gap that keeps nothing",
          "[unit][multicast]") {
  Streams s = three_nodes();
  CHECK(s.receive(node("b"), 1, msg("b1")) == Streams::Received::next);
  CHECK(s.receive(node("b"), 2, msg("b2")) == Streams::Received::next);
  CHECK(s.receive(node("b"), 2, msg("b2")) == Streams::Received::duplicate);
  CHECK(s.receive(node("b"), 1, msg("b1")) == Streams::Received::duplicate);
  CHECK(s.receive(node("b"), 4, msg("b4")) == Streams::Received::gap);
  CHECK(s.held(node("b")) == 2);
  CHECK(s.range(node("b"), 0, 4).empty());  // not held up to 4
  CHECK(s.range(node("b"), 0, 2) == msgs({"b1", "b2"}));
  CHECK(s.receive(node("b"), 3, msg("b3")) == Streams::Received::next);
  CHECK(s.held(node("b")) == 3);
}

TEST_CASE("streams: acknowledgements of nodes outside the view count for nothing", "[unit][multicast]") {
  Streams s = three_nodes();
  s.publish(msg("x"));
  s.processed(node("a"), 1);
  CHECK_FALSE(s.acknowledge(node("stranger"), node("a"), 1));
  s.acknowledge(node("b"), node("a"), 1);
  CHECK(s.stable(node("a")) == 0);
  CHECK(s.acknowledge(node("c"), node("a"), 1));
  CHECK(s.stable(node("a")) == 1);
}

TEST_CASE("streams: the digest and the flush check follow what is held", "[unit][multicast]") {
  Streams s = three_nodes();
  s.publish(msg("a1"));
  s.receive(node("b"), 1, msg("b1"));
  s.receive(node("b"), 2, msg("b2"));
  CHECK(s.digest() == Digest{{node("a"), 1}, {node("b"), 2}});
  CHECK(s.holds({StreamEnd{node("b"), 2, node("b")}, StreamEnd{node("a"), 1, node("a")}}));
  CHECK_FALSE(s.holds({StreamEnd{node("b"), 3, node("c")}}));
  CHECK_FALSE(s.holds({StreamEnd{node("c"), 1, node("c")}}));
  s.reset(node("a"), {node("a"), node("b")});  // a new view: every stream starts again
  CHECK(s.digest().empty());
  CHECK(s.publish(msg("again")) == 1);
}

TEST_CASE("streams: each message kept remembers when it arrived, until it is stable", "[unit][multicast]") {
  Streams s = three_nodes();
  constexpr Micros ms = 1000;
  s.publish(msg("one"), 100 * ms);
  s.publish(msg("two"), 200 * ms);
  CHECK(s.receive(node("b"), 1, msg("b1"), 300 * ms) == Streams::Received::next);
  CHECK(s.waited(node("a"), 1, 1000 * ms) == 900 * ms);
  CHECK(s.waited(node("a"), 2, 1000 * ms) == 800 * ms);
  CHECK(s.waited(node("b"), 1, 1000 * ms) == 700 * ms);
  CHECK_FALSE(s.waited(node("a"), 3, 1000 * ms));  // not published yet
  CHECK_FALSE(s.waited(node("c"), 1, 1000 * ms));  // nothing of c
  s.processed(node("a"), 1);
  s.acknowledge(node("b"), node("a"), 1);
  s.acknowledge(node("c"), node("a"), 2);
  s.collect();
  CHECK_FALSE(s.waited(node("a"), 1, 1000 * ms));  // stable: gone
  CHECK(s.waited(node("a"), 2, 1000 * ms) == 800 * ms);
  CHECK(s.waited(node("b"), 1, 1000 * ms) == 700 * ms);
}

TEST_CASE("streams: a message's wait is right across the wrap of its 32-bit millisecond clock", "[unit][multicast]") {
  Streams s = three_nodes();
  constexpr Micros ms = 1000;
  const Micros wrap = (Micros{1} << 32) * ms;  // where millis() wraps to 0
  s.publish(msg("one"), wrap - 5 * ms);
  CHECK(s.waited(node("a"), 1, wrap + 20 * ms) == 25 * ms);
}

TEST_CASE("streams: each message comes back with its own member, several members interleaved", "[unit][multicast]") {
  Streams s = three_nodes();
  std::vector<std::uint64_t> members{7, 7, 9, 7, 11, 9, 9};
  for (std::size_t i = 0; i < members.size(); ++i) { s.publish(Published{members[i], "m" + std::to_string(i)}); }
  auto back = s.range(node("a"), 0, members.size());
  REQUIRE(back.size() == members.size());
  for (std::size_t i = 0; i < members.size(); ++i) {
    INFO("message " << i);
    CHECK(back[i].member == members[i]);
    CHECK(back[i].message == "m" + std::to_string(i));
  }
}

TEST_CASE("streams: messages of any size come back byte for byte after older ones were collected",
          "[unit][multicast]") {
  // The kept bytes of a stream are one log and each record knows only where it ends: an
  // off-by-one there shifts every later message. Sizes cross the log's internal blocks.
  Streams s = three_nodes();
  std::vector<Published> sent;
  for (std::size_t i = 0; i < 40; ++i) {
    std::string text(i * 37 % 700, static_cast<char>('a' + i % 26));
    if (!text.empty()) text.back() = static_cast<char>(i % 3 == 0 ? 0 : i);  // zero bytes in some
    sent.push_back(Published{1000 + i, text});
    CHECK(s.receive(node("b"), i + 1, sent.back()) == Streams::Received::next);
  }
  CHECK(s.range(node("b"), 0, 40) == sent);
  s.processed(node("b"), 40);
  s.acknowledge(node("b"), node("b"), 40);
  s.acknowledge(node("c"), node("b"), 17);
  s.collect();
  CHECK(s.range(node("b"), 16, 40).empty());  // 17 is gone
  CHECK(s.range(node("b"), 17, 40) == std::vector<Published>(sent.begin() + 17, sent.end()));
  CHECK(s.range(node("b"), 30, 31) == std::vector<Published>{sent[30]});
  CHECK(s.receive(node("b"), 41, msg("after")) == Streams::Received::next);
  CHECK(s.range(node("b"), 39, 41) == std::vector<Published>{sent[39], msg("after")});
  s.acknowledge(node("c"), node("b"), 41);
  s.processed(node("b"), 41);
  s.acknowledge(node("b"), node("b"), 41);
  s.collect();
  CHECK(s.range(node("b"), 40, 41).empty());
  CHECK(s.held(node("b")) == 41);
}

TEST_CASE("streams: the send window lets a node have only so many bytes past its acknowledgement",
          "[unit][multicast]") {
  Streams s = three_nodes();
  for (int i = 0; i < 10; ++i) s.publish(msg("0123456789"));  // 10 bytes each
  using Range = std::pair<std::uint64_t, std::uint64_t>;
  CHECK(s.advance_sent(node("b"), 35) == Range{0, 3});  // 30 bytes: a fourth would make 40
  CHECK(s.advance_sent(node("b"), 35) == Range{3, 3});  // nothing acknowledged: nothing more
  CHECK(s.advance_sent(node("c"), 0) == Range{0, 1});   // one goes all the same
  s.acknowledge(node("b"), node("a"), 2);
  CHECK(s.advance_sent(node("b"), 35) == Range{3, 5});  // 2 acknowledged: up to 5
  s.acknowledge(node("b"), node("a"), 7);               // more than it was sent (a flush)
  CHECK(s.advance_sent(node("b"), 1000) == Range{7, 10});
  s.set_sent(node("c"), 0);  // its link came back: from what it acknowledged
  CHECK(s.advance_sent(node("c"), 1000) == Range{0, 10});
  Streams quiet = three_nodes();  // never published: nothing to send, no stream made
  CHECK(quiet.advance_sent(node("b"), 1000) == Range{0, 0});
  CHECK(quiet.digest().empty());
}
