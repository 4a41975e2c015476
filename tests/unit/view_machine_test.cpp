// The multicast view machine (src/multicast/view_machine) driven by hand: a few machines
// exchange their messages over FIFO links that the test delivers, cuts and kills. Data
// streams are empty here (the flush has nothing to carry); the simulator tests the rest.
#include "multicast/streams.hpp"
#include "multicast/view_machine.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <deque>
#include <iostream>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace syn;
using namespace syn::detail::multicast;

namespace {

using syn::wire::multicast::Message;  // not syn::Message

/// No data published: every digest is empty and every flush is held at once.
class NoStreams final : public StreamState {
 public:
  Digest digest() const override { return {}; }
  bool holds(const std::vector<StreamEnd>&) const override { return true; }
};

struct Seen {
  std::vector<InstallView> installs;
  std::vector<Digest> held_at_install;  ///< what the node's streams held when it installed each
  std::vector<LocalLeft> left;
};

/// Machines named by node, linked to each other, with what each one's host was asked to do.
class Net {
 public:
  /// With `with_streams`, every node keeps real streams (src/multicast/streams) and the net
  /// carries retransmissions; without, nothing is published.
  /// With `creation_delay`, a first join waits that long for news of the group (as in nodes).
  explicit Net(const std::vector<std::string>& names, bool with_streams = false,
               std::chrono::milliseconds creation_delay = std::chrono::milliseconds(0)) {
    for (const auto& name : names) {
      NodeId id = node(name);
      const StreamState* state = &streams_;
      if (with_streams) state = &node_streams_[id];
      machines_.emplace(id, ViewMachine(id, std::chrono::milliseconds(100), *state, creation_delay));
    }
    for (auto& [id, machine] : machines_) {
      for (auto& [other, unused] : machines_) {
        if (other != id) take(id, machine.peer_up(other, now_));
      }
    }
  }

  static NodeId node(const std::string& name) { return Pid(name, 1, 0).node_atom(); }
  static Pid member(const std::string& name, std::uint64_t id = 1) { return Pid(name, 1, id); }

  ViewMachine& at(const std::string& name) { return machines_.at(node(name)); }
  Streams& streams(const std::string& name) { return node_streams_.at(node(name)); }
  Seen& seen(const std::string& name) { return seen_[node(name)]; }

  /// `wait`: how long the join may wait for the view's nodes to be reached (0: not at all).
  void join(const std::string& name, std::uint64_t id = 1, Micros wait = 0) {
    take(node(name), at(name).join(member(name, id), now_, wait == 0 ? 0 : now_ + wait));
  }
  void leave(const std::string& name, std::uint64_t id = 1) {
    take(node(name), at(name).leave(member(name, id), LeaveReason::left, now_));
  }
  /// Every machine of `names` learns the view `from` installed (an announcement).
  void announce(const std::string& from, const std::vector<std::string>& names) {
    for (const auto& name : names) take(node(name), at(name).learn(node(from), at(from).installed(), {}, now_));
  }
  /// Every machine of `names` learns that `from` is about to start the group (its view 0).
  void announce_creating(const std::string& from, const std::vector<std::string>& names) {
    for (const auto& name : names) take(node(name), at(name).learn(node(from), at(from).creating(), {}, now_));
  }
  /// The node dies: its peers see it down; nothing reaches it or comes from it any more.
  void kill(const std::string& name) {
    NodeId dead = node(name);
    dead_.insert(dead);
    for (auto& [id, machine] : machines_) {
      if (id != dead && !dead_.count(id)) take(id, machine.peer_down(dead, now_));
    }
  }
  /// Every node of `side` stops reaching every other node, both ways (links reset).
  void split(const std::vector<std::string>& side) {
    std::set<NodeId> a;
    for (const auto& name : side) a.insert(node(name));
    for (auto& [x, mx] : machines_) {
      for (auto& [y, my] : machines_) {
        if (x == y || a.count(x) == 0 || a.count(y) != 0) continue;
        take(x, mx.peer_down(y, now_));
        take(y, my.peer_down(x, now_));
        std::erase_if(links_, [&](const auto& link) {
          auto [f, t, m] = link;
          return (f == x && t == y) || (f == y && t == x);
        });
      }
    }
    cut_ = a;
  }
  /// The link between two nodes goes down both ways (each side's other links stay up).
  void cut_link(const std::string& x, const std::string& y) {
    NodeId nx = node(x), ny = node(y);
    take(nx, at(x).peer_down(ny, now_));
    take(ny, at(y).peer_down(nx, now_));
    std::erase_if(links_, [&](const auto& link) {
      auto [f, t, m] = link;
      return (f == nx && t == ny) || (f == ny && t == nx);
    });
  }
  /// The link between two nodes comes back both ways (as after cut_link).
  void link_up(const std::string& x, const std::string& y) {
    take(node(x), at(x).peer_up(node(y), now_));
    take(node(y), at(y).peer_up(node(x), now_));
  }
  /// `x` sees its link to `y` go while `y`, slower to notice, does not: frames between them
  /// vanish both ways until half_up.
  void half_down(const std::string& x, const std::string& y) {
    take(node(x), at(x).peer_down(node(y), now_));
    silent_.emplace(node(x), node(y));
    silent_.emplace(node(y), node(x));
  }
  /// The link of half_down is back (`x` sees it up again).
  void half_up(const std::string& x, const std::string& y) {
    silent_.erase({node(x), node(y)});
    silent_.erase({node(y), node(x)});
    take(node(x), at(x).peer_up(node(y), now_));
  }
  /// The split is over: links up again, and every node announces its view to every other.
  void heal() {
    for (auto& [x, mx] : machines_) {
      for (auto& [y, my] : machines_) {
        if (x != y && cut_.count(x) != 0 && cut_.count(y) == 0) {
          take(x, mx.peer_up(y, now_));
          take(y, my.peer_up(x, now_));
        }
      }
    }
    cut_.clear();
    for (auto& [x, mx] : machines_) {
      for (auto& [y, my] : machines_) {
        if (x != y) take(y, my.learn(x, mx.installed(), {}, now_));
      }
    }
  }
  /// Frames to `name` vanish while the link stays up (a node too busy to answer).
  void mute(const std::string& name) { muted_.insert(node(name)); }
  void unmute(const std::string& name) { muted_.erase(node(name)); }
  /// The machine of `name` gives up waiting for `id`'s leave (a leave() past its deadline).
  void give_up_leave(const std::string& name, std::uint64_t id = 1) {
    take(node(name), at(name).give_up_leave(member(name, id), now_));
  }
  /// The next INSTALL to `name` vanishes (its coordinator dies before it gets there, say).
  void lose_next_install_to(const std::string& name) { installs_lost_.insert(node(name)); }
  void advance(Micros by) {
    now_ += by;
    for (auto& [id, machine] : machines_) {
      if (!dead_.count(id)) take(id, machine.tick(now_));
    }
  }
  /// Delivers until nothing is in flight.
  void settle() {
    for (int steps = 0; !links_.empty(); ++steps) {
      REQUIRE(steps < 10'000);
      auto [from, to, message] = links_.front();
      links_.pop_front();
      if (dead_.count(to) || dead_.count(from) || muted_.count(to) || silent_.count({from, to})) continue;
      if (std::holds_alternative<Install>(message) && installs_lost_.erase(to)) continue;
      take(to, machines_.at(to).receive(from, message, now_));
    }
  }

 private:
  void take(NodeId self, std::vector<Action> actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<Send>(&action)) {
        links_.emplace_back(self, send->to, send->message);
      } else if (auto* install = std::get_if<InstallView>(&action)) {
        seen_[self].installs.push_back(*install);
        if (auto it = node_streams_.find(self); it != node_streams_.end()) {
          seen_[self].held_at_install.push_back(it->second.digest());
          it->second.reset(self, nodes_of(install->view.members));
        }
      } else if (auto* left = std::get_if<LocalLeft>(&action)) {
        seen_[self].left.push_back(*left);
      } else if (auto* resend = std::get_if<Retransmit>(&action)) {
        if (holding_.count(self)) {
          held_.emplace_back(self, *resend);
          continue;
        }
        retransmit(self, *resend);
      }
    }
  }

  /// What the handler does: the missing messages go to that node, which stores them.
  void retransmit(NodeId self, const Retransmit& resend) {
    auto messages = node_streams_.at(self).range(resend.stream, resend.after, resend.last);
    REQUIRE(messages.size() == resend.last - resend.after);
    if (dead_.count(resend.to) || dead_.count(self)) return;
    auto& theirs = node_streams_.at(resend.to);
    std::uint64_t seq = resend.after;
    for (auto& bytes : messages) theirs.receive(resend.stream, ++seq, std::move(bytes));
    take(resend.to, machines_.at(resend.to).streams_advanced(now_));
  }

 public:
  /// The retransmissions `name` is asked for wait (a slow link) until released; its death
  /// loses them.
  void hold_retransmits_from(const std::string& name) { holding_.insert(node(name)); }
  /// Sends the held retransmissions to `to` (the others stay held).
  void release_retransmits_to(const std::string& to) {
    std::vector<std::pair<NodeId, Retransmit>> now;
    std::erase_if(held_, [&](const auto& held) {
      if (held.second.to != node(to)) return false;
      now.push_back(held);
      return true;
    });
    for (const auto& [from, resend] : now) retransmit(from, resend);
  }
  std::size_t held_retransmits() const { return held_.size(); }

 private:
  std::set<NodeId> holding_;
  std::vector<std::pair<NodeId, Retransmit>> held_;

  NoStreams streams_;
  std::map<NodeId, Streams> node_streams_;
  Micros now_ = 0;
  std::map<NodeId, ViewMachine> machines_;
  std::map<NodeId, Seen> seen_;
  std::deque<std::tuple<NodeId, NodeId, Message>> links_;
  std::set<NodeId> dead_, muted_, installs_lost_, cut_;
  std::set<std::pair<NodeId, NodeId>> silent_;  ///< (from, to) links whose frames vanish
};

std::vector<Pid> members(std::initializer_list<const char*> names) {
  std::vector<Pid> out;
  for (const char* name : names) out.push_back(Net::member(name));
  return out;
}

/// Three nodes with one member each, in the view [a, b, c].
Net three_members(bool with_streams = false) {
  Net net({"a", "b", "c"}, with_streams);
  net.join("a");
  net.announce("a", {"b", "c"});
  net.join("b");
  net.settle();
  net.join("c");
  net.settle();
  return net;
}

}  // namespace

TEST_CASE("view machine: the first member starts the group alone", "[unit][multicast]") {
  Net net({"a"});
  net.join("a");
  REQUIRE(net.seen("a").installs.size() == 1);
  const auto& first = net.seen("a").installs[0];
  CHECK(first.view.id == ViewId{Net::member("a"), 1});
  CHECK(first.view.members == members({"a"}));
  CHECK(first.joined == members({"a"}));
  CHECK(net.at("a").coordinating());
}

TEST_CASE("view machine: two nodes starting a group at once make one view, whichever heard of the other first",
          "[unit][multicast]") {
  // MULTICAST.md scenario 11: the node with the higher first member defers to the other,
  // also when it heard of the other's start before its own member came (CI caught that case).
  Net net({"a", "b"}, false, std::chrono::milliseconds(10));
  bool a_lower = Net::member("a") < Net::member("b");
  const std::string low = a_lower ? "a" : "b";
  const std::string high = a_lower ? "b" : "a";
  const std::string first = GENERATE(as<std::string>{}, "low", "high");
  const std::string& early = first == "low" ? low : high;
  const std::string& late = first == "low" ? high : low;
  INFO("the node with the " << first << " member joins first");
  net.join(early);
  REQUIRE(net.at(early).creating());
  net.announce_creating(early, {late});  // heard before the other's member joins
  net.join(late);
  REQUIRE(net.at(late).creating());
  net.announce_creating(late, {early});
  net.advance(10'001);  // both creation delays are over: only the lower one starts
  REQUIRE(net.seen(low).installs.size() == 1);
  CHECK(net.seen(high).installs.empty());
  net.announce(low, {high});
  net.settle();
  for (int i = 0; i < 5 && net.seen(high).installs.empty(); ++i) {
    net.advance(100'000);  // (a join request waits for the next tick at most)
    net.settle();
  }
  REQUIRE(net.seen(high).installs.size() == 1);
  const auto& joined = net.seen(high).installs[0];
  CHECK(joined.view.id.number == 2);
  CHECK_FALSE(joined.merged);
  CHECK(joined.view.members == std::vector<Pid>{Net::member(low), Net::member(high)});
  CHECK(net.seen(low).installs.back().view == joined.view);
}

TEST_CASE("view machine: joins go through the coordinator, every node installs the same views in order",
          "[unit][multicast]") {
  Net net = three_members();
  for (const char* name : {"a", "b", "c"}) {
    INFO("node " << name);
    REQUIRE(net.at(name).installed());
    CHECK(net.at(name).installed()->members == members({"a", "b", "c"}));
    CHECK(net.at(name).installed()->id == ViewId{Net::member("a"), 3});
    CHECK(net.at(name).coordinator() == Net::member("a"));
  }
  // a saw three views, b two (its first is [a, b]), c one.
  CHECK(net.seen("a").installs.size() == 3);
  REQUIRE(net.seen("b").installs.size() == 2);
  CHECK(net.seen("b").installs[0].view.members == members({"a", "b"}));
  CHECK(net.seen("b").installs[1].joined == members({"c"}));
  CHECK(net.seen("c").installs.size() == 1);
  CHECK_FALSE(net.at("b").changing());
}

TEST_CASE("view machine: a node's death is one view change, node_down, on every survivor", "[unit][multicast]") {
  Net net = three_members();
  net.kill("b");
  net.settle();
  for (const char* name : {"a", "c"}) {
    INFO("node " << name);
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"a", "c"}));
    CHECK(last.view.id == ViewId{Net::member("a"), 4});
    REQUIRE(last.left.size() == 1);
    CHECK(last.left[0] == std::pair{Net::member("b"), LeaveReason::node_down});
  }
}

TEST_CASE(
    "view machine: a coordinator that loses its link to a node the others still reach keeps it for "
    "view_change_timeout, then evicts it (SPEC 8.3.5)",
    "[unit][multicast]") {
  Net net = three_members();
  net.cut_link("a", "c");
  net.settle();
  // b still reaches c: partial connectivity, not (yet) a split. No view change before the
  // timeout (100 ms here).
  net.advance(60'000);
  net.settle();
  for (const char* name : {"a", "b"}) {
    INFO("node " << name);
    CHECK(net.at(name).installed()->members == members({"a", "b", "c"}));
    CHECK(net.at(name).installed()->id.number == 3);
  }
  net.advance(60'000);
  net.settle();
  for (const char* name : {"a", "b"}) {
    INFO("node " << name);
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"a", "b"}));
    REQUIRE(last.left.size() == 1);
    CHECK(last.left[0] == std::pair{Net::member("c"), LeaveReason::evicted});
  }
}

TEST_CASE(
    "view machine: a split reported by every node the coordinator reaches drops the other side at once, "
    "node_down",
    "[unit][multicast]") {
  Net net = three_members();
  net.split({"c"});
  net.settle();  // no clock: b's report that it lost c too ends a's wait
  for (const char* name : {"a", "b"}) {
    INFO("node " << name);
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"a", "b"}));
    REQUIRE(last.left.size() == 1);
    CHECK(last.left[0] == std::pair{Net::member("c"), LeaveReason::node_down});
  }
}

namespace {
/// Nodes a, b and d; the view is [a, b], and d, which knows it, reaches a but not b.
Net view_half_reached_from_d() {
  Net net({"a", "b", "d"});
  net.join("a");
  net.announce("a", {"b", "d"});
  net.join("b");
  net.settle();
  net.cut_link("d", "b");
  net.settle();
  net.announce("a", {"d"});
  return net;
}
}  // namespace

TEST_CASE("view machine: a join while some nodes of the view are not reached yet waits, and goes in once they are",
          "[unit][multicast]") {
  Net net = view_half_reached_from_d();
  net.join("d", 1, 50'000);
  net.settle();
  CHECK(net.seen("d").left.empty());
  CHECK(net.seen("d").installs.empty());
  net.advance(20'000);  // within its wait
  net.settle();
  CHECK(net.seen("d").left.empty());
  net.link_up("d", "b");  // a node that just connected: its scope synced now
  net.settle();
  CHECK(net.seen("d").left.empty());
  REQUIRE(net.at("d").installed());
  CHECK(net.at("d").installed()->members == members({"a", "b", "d"}));
  CHECK(net.at("a").installed()->members == members({"a", "b", "d"}));
}

TEST_CASE("view machine: a join whose view stays half reached past its wait leaves as node_down, and runs nothing",
          "[unit][multicast]") {
  Net net = view_half_reached_from_d();
  net.join("d", 1, 50'000);
  net.advance(60'000);
  net.settle();
  REQUIRE(net.seen("d").left.size() == 1);
  CHECK(net.seen("d").left[0].member == Net::member("d"));
  CHECK(net.seen("d").left[0].reason == LeaveReason::node_down);
  CHECK(net.seen("d").installs.empty());
  CHECK(net.at("a").installed()->members == members({"a", "b"}));
  // Without a wait it is out at once; a leave while it waits takes it out as asked.
  net.join("d", 2);
  REQUIRE(net.seen("d").left.size() == 2);
  CHECK(net.seen("d").left[1].reason == LeaveReason::node_down);
  net.join("d", 3, 50'000);
  net.leave("d", 3);
  REQUIRE(net.seen("d").left.size() == 3);
  CHECK(net.seen("d").left[2].member == Net::member("d", 3));
  CHECK(net.seen("d").left[2].reason == LeaveReason::left);
}

TEST_CASE("view machine: when the coordinator's node dies the next member takes over", "[unit][multicast]") {
  Net net = three_members();
  net.kill("a");
  net.settle();
  for (const char* name : {"b", "c"}) {
    INFO("node " << name);
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"b", "c"}));
    CHECK(last.view.id == ViewId{Net::member("b"), 4});
    CHECK(net.at(name).coordinator() == Net::member("b"));
  }
  CHECK(net.at("b").coordinating());
}

TEST_CASE(
    "view machine: a split makes two views, at the heal they merge, numbered above both, each side "
    "flushed within itself",
    "[unit][multicast]") {
  Net net({"a", "b", "c", "d", "e"}, true);
  net.join("a");
  net.announce("a", {"b", "c", "d", "e"});
  for (const char* name : {"b", "c", "d", "e"}) {
    net.join(name);
    net.settle();
  }
  net.split({"a", "b"});
  net.settle();
  CHECK(net.at("a").installed()->members == members({"a", "b"}));
  CHECK(net.at("c").installed()->members == members({"c", "d", "e"}));
  // Each side publishes; d's message reaches c only (e lags): the merge's flush of the
  // c-d-e side must give it to e, and nothing of one side to the other.
  net.streams("a").publish(Published{1, "from a"});
  net.streams("b").receive(Net::node("a"), 1, Published{1, "from a"});
  net.streams("d").publish(Published{1, "from d"});
  net.streams("c").receive(Net::node("d"), 1, Published{1, "from d"});
  std::uint64_t side_ab = net.at("a").installed()->id.number;
  std::uint64_t side_cde = net.at("c").installed()->id.number;

  net.heal();
  net.settle();
  auto merged = members({"a", "b", "c", "d", "e"});
  for (const char* name : {"a", "b", "c", "d", "e"}) {
    INFO("node " << name);
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == merged);
    CHECK(last.merged);
    CHECK(last.view.id.number > std::max(side_ab, side_cde));
    CHECK(last.left.empty());
    CHECK_FALSE(net.at(name).changing());
  }
  CHECK(net.seen("a").installs.back().joined == members({"c", "d", "e"}));
  CHECK(net.seen("d").installs.back().joined == members({"a", "b"}));
  // What each node held when it installed the merged view: its own side's streams only.
  CHECK(net.seen("e").held_at_install.back() == Digest{{Net::node("d"), 1}});
  CHECK(net.seen("b").held_at_install.back() == Digest{{Net::node("a"), 1}});
}

TEST_CASE("view machine: the flush gives every survivor the longest prefix of a dead node's stream",
          "[unit][multicast]") {
  Net net = three_members(true);
  std::uint32_t c = Net::node("c");
  // c published 1..5 before it died; a got all five, b only the first three.
  for (int i = 1; i <= 5; ++i) {
    Published bytes{1, "m" + std::to_string(i)};
    REQUIRE(net.streams("c").publish(bytes) == static_cast<std::uint64_t>(i));
    REQUIRE(net.streams("a").receive(c, i, bytes) == Streams::Received::next);
    if (i <= 3) REQUIRE(net.streams("b").receive(c, i, bytes) == Streams::Received::next);
  }
  net.kill("c");
  net.settle();
  for (const char* name : {"a", "b"}) {
    INFO("node " << name);
    const auto& seen = net.seen(name);
    CHECK(seen.installs.back().view.members == members({"a", "b"}));
    REQUIRE_FALSE(seen.held_at_install.empty());
    CHECK(seen.held_at_install.back().at(c) == 5);  // b got 4 and 5 from a before the view changed
  }
}

TEST_CASE("view machine: the node retransmitting a dead node's messages dies in the middle of the flush",
          "[unit][multicast]") {
  // d published 1..6 and died; a holds all six, b four, c two. a, the longest, retransmits in
  // the flush, and dies before all of it arrived: the next round (b coordinates) gives c what
  // b holds, so b and c still install with the same prefix of d's stream (SPEC 8.2.5).
  Net net({"a", "b", "c", "d"}, true);
  for (const char* name : {"a", "b", "c", "d"}) {
    net.join(name);
    if (std::string(name) == "a") net.announce("a", {"b", "c", "d"});
    net.settle();
  }
  REQUIRE(net.seen("d").installs.back().view.members == members({"a", "b", "c", "d"}));
  std::uint32_t d = Net::node("d");
  for (int i = 1; i <= 6; ++i) {
    Published bytes{1, "m" + std::to_string(i)};
    REQUIRE(net.streams("d").publish(bytes) == static_cast<std::uint64_t>(i));
    REQUIRE(net.streams("a").receive(d, i, bytes) == Streams::Received::next);
    if (i <= 4) REQUIRE(net.streams("b").receive(d, i, bytes) == Streams::Received::next);
    if (i <= 2) REQUIRE(net.streams("c").receive(d, i, bytes) == Streams::Received::next);
  }
  const bool b_got_them = GENERATE(false, true);  // whether a's retransmission reached b first
  INFO("a's retransmission reached b before a died: " << b_got_them);
  net.hold_retransmits_from("a");
  net.kill("d");
  net.settle();
  REQUIRE(net.held_retransmits() == 2);  // to b and to c: the round waits for them
  for (const char* name : {"a", "b", "c"}) CHECK(net.seen(name).installs.back().view.members.size() == 4);
  if (b_got_them) net.release_retransmits_to("b");
  net.kill("a");
  net.settle();
  for (int i = 0; i < 5 && net.seen("c").installs.back().view.members.size() != 2; ++i) {
    net.advance(100'000);  // (a round restarts at once on a death; ticks only for what waits)
    net.settle();
  }
  const std::uint64_t expected = b_got_them ? 6 : 4;  // what none of the survivors got is lost
  for (const char* name : {"b", "c"}) {
    INFO("node " << name);
    const auto& seen = net.seen(name);
    CHECK(seen.installs.back().view.members == members({"b", "c"}));
    REQUIRE_FALSE(seen.held_at_install.empty());
    CHECK(seen.held_at_install.back().at(d) == expected);
  }
}

namespace {
/// Two nodes, each alone in its view after a split; at the heal the senior runs the merge and
/// its INSTALL to the junior is lost (the senior dies right after sending it, say). Returns
/// the junior's name.
std::string merge_with_lost_install(Net& net) {
  net.join("a");
  net.announce("a", {"b"});
  net.join("b");
  net.settle();
  net.split({"a"});
  net.settle();
  REQUIRE(net.at("a").installed()->members == members({"a"}));
  REQUIRE(net.at("b").installed()->members == members({"b"}));
  net.lose_next_install_to("a");
  net.lose_next_install_to("b");
  net.heal();
  net.settle();
  const std::string junior = net.at("a").flush_answered() ? "a" : "b";
  REQUIRE(net.at(junior).flush_answered());  // the merge was answered, its INSTALL never came
  REQUIRE(net.at(junior == "a" ? "b" : "a").installed()->members.size() == 2);
  return junior;
}
}  // namespace

TEST_CASE(
    "view machine: a junior coordinator that answered a merge's FLUSH gives it up once the senior's node restarted",
    "[unit][multicast]") {
  Net net({"a", "b"});
  const std::string junior = merge_with_lost_install(net), senior = junior == "a" ? "b" : "a";
  INFO("junior " << junior);
  const ViewId before = net.at(junior).installed()->id;
  // Its link goes and comes back (the same incarnation): nothing changes, it may hold the
  // merged view.
  (void)net.at(junior).peer_down(Net::node(senior), 0);
  (void)net.at(junior).peer_up(Net::node(senior), 0, 1);
  CHECK(net.at(junior).flush_answered());
  // A new incarnation of it (a restart) holds nothing of the round: the junior goes on in its
  // view, without a round.
  (void)net.at(junior).peer_down(Net::node(senior), 0);
  (void)net.at(junior).peer_up(Net::node(senior), 0, 2);
  CHECK_FALSE(net.at(junior).flush_answered());
  CHECK_FALSE(net.at(junior).promised());
  CHECK(net.at(junior).installed()->id == before);
  CHECK(net.at(junior).installed()->members == members({junior.c_str()}));
}

TEST_CASE(
    "view machine: a junior coordinator that answered a merge's FLUSH settles it with a view of its own once the "
    "senior's node is out of reach",
    "[unit][multicast]") {
  // Before, it stayed paused until the senior's node came back: for ever after a SIGKILL.
  Net net({"a", "b"});
  const std::string junior = merge_with_lost_install(net), senior = junior == "a" ? "b" : "a";
  INFO("junior " << junior);
  const ViewId before = net.at(junior).installed()->id;
  const std::size_t installs = net.seen(junior).installs.size();
  net.kill(senior);
  net.settle();
  CHECK(net.at(junior).flush_answered());  // a view_change_timeout first: its link may come back
  net.advance(100'001);
  net.settle();
  CHECK_FALSE(net.at(junior).flush_answered());
  CHECK_FALSE(net.at(junior).changing());
  REQUIRE(net.at(junior).installed());
  CHECK(net.at(junior).installed()->members == members({junior.c_str()}));
  CHECK(net.at(junior).installed()->id.number > before.number);
  REQUIRE(net.seen(junior).installs.size() == installs + 1);  // one view: nobody joined or left
  CHECK(net.seen(junior).installs.back().joined.empty());
  CHECK(net.seen(junior).installs.back().left.empty());
}

TEST_CASE("view machine: a junior whose link to the senior comes back within the timeout runs no round of its own",
          "[unit][multicast]") {
  Net net({"a", "b"});
  const std::string junior = merge_with_lost_install(net), senior = junior == "a" ? "b" : "a";
  INFO("junior " << junior);
  const std::size_t installs = net.seen(junior).installs.size();
  net.cut_link(junior, senior);
  net.advance(60'000);  // most of a view_change_timeout
  net.settle();
  CHECK(net.at(junior).flush_answered());
  // Back for a moment (nothing said on it), then cut again: the wait starts over.
  net.link_up(junior, senior);
  net.cut_link(junior, senior);
  net.advance(60'000);
  net.settle();
  CHECK(net.at(junior).flush_answered());
  REQUIRE(net.seen(junior).installs.size() == installs);
  net.link_up(junior, senior);
  net.announce(senior, {junior});  // (an announcement comes with every new link)
  net.settle();
  // The senior's side went on (the merged view, then alone, then merged again): the junior
  // installed only the senior's views, the last of them merged, and none of its own.
  CHECK_FALSE(net.at(junior).flush_answered());
  REQUIRE(net.at(junior).installed());
  CHECK(net.at(junior).installed()->id == net.at(senior).installed()->id);
  CHECK(net.at(junior).installed()->members == members({"a", "b"}));
  REQUIRE(net.seen(junior).installs.size() == installs + 1);
  CHECK(net.seen(junior).installs.back().merged);
}

TEST_CASE(
    "view machine: a junior side whose follower installed the merged view before the senior died goes on from that "
    "view",
    "[unit][multicast]") {
  Net net({"a", "b", "c"});
  net.join("a");
  net.announce("a", {"b", "c"});
  net.join("b");
  net.join("c");
  net.settle();
  REQUIRE(net.at("a").installed()->members == members({"a", "b", "c"}));
  net.split({"a"});
  net.settle();
  net.advance(150'000);  // past view_change_timeout: each side goes on alone
  net.settle();
  REQUIRE(net.at("a").installed()->members == members({"a"}));
  REQUIRE(net.at("b").installed()->members == members({"b", "c"}));
  net.lose_next_install_to("b");  // c gets the merged view, b (the junior coordinator) does not
  net.heal();
  net.settle();
  REQUIRE(net.at("b").flush_answered());
  REQUIRE(net.at("c").installed()->members.size() == 3);
  const ViewId merged = net.at("c").installed()->id;
  net.kill("a");
  net.settle();
  for (int i = 0; i < 3; ++i) {
    net.advance(100'001);
    net.settle();
  }
  // b's round asked c, which held the merged view: b took it, then the view without a.
  for (const char* name : {"b", "c"}) {
    INFO("node " << name);
    CHECK_FALSE(net.at(name).flush_answered());
    REQUIRE(net.at(name).installed());
    CHECK(net.at(name).installed()->members == members({"b", "c"}));
    CHECK(net.at(name).installed()->id.number > merged.number);
    const auto& installs = net.seen(name).installs;
    auto in_merged =
        std::find_if(installs.begin(), installs.end(), [&](const InstallView& v) { return v.view.id == merged; });
    REQUIRE(in_merged != installs.end());
    CHECK(in_merged->merged);  // on b too, which took it from c's answer
    CHECK(in_merged->joined == members({"a"}));
  }
  CHECK(net.at("b").installed()->id == net.at("c").installed()->id);
}

TEST_CASE(
    "view machine: a senior's follower that missed the merged view and went on alone after the senior died does not "
    "stay the junior side's coordinator",
    "[unit][multicast]") {
  // Found by reading (docs/internals.md, 2026-12-06): b missed the INSTALL of the merge a ran,
  // a died, b's links to the junior side were down during its hold of a, so b settled the
  // merge with a view of its own. The junior side holds the merged view, in which b comes
  // next after a: it waited for b's rounds for ever, b's member in two views.
  Net net({"a", "b", "c", "d"});
  net.join("a");
  net.announce("a", {"b", "c", "d"});
  for (const char* name : {"b", "c", "d"}) {
    net.join(name);
    net.settle();
  }
  REQUIRE(net.at("d").installed()->members == members({"a", "b", "c", "d"}));
  net.split({"a", "b"});
  net.settle();
  net.advance(150'000);  // past view_change_timeout: each side goes on alone
  net.settle();
  REQUIRE(net.at("b").installed()->members == members({"a", "b"}));
  REQUIRE(net.at("d").installed()->members == members({"c", "d"}));
  for (int i = 0; i < 3; ++i) {  // the junior side's views run ahead in number
    net.join("d", 2);
    net.settle();
    net.leave("d", 2);
    net.settle();
  }
  REQUIRE(net.at("d").installed()->id.number > net.at("b").installed()->id.number + 2);
  net.lose_next_install_to("b");
  bool learned = false;
  SECTION("d got the merged view's INSTALL") {}
  SECTION("d learned the merged view from c's announcement, its INSTALL late") {
    // (It knows the round that made the view all the same: it answered that round.)
    net.lose_next_install_to("d");
    learned = true;
  }
  net.heal();
  net.settle();
  if (learned) {
    REQUIRE(net.at("d").flush_answered());
    net.announce("c", {"d"});
    net.settle();
  }
  REQUIRE(net.at("b").flush_answered());
  const ViewId merged = net.at("c").installed()->id;
  for (const char* name : {"c", "d"}) {
    REQUIRE(net.at(name).installed()->members == members({"a", "b", "c", "d"}));
    REQUIRE(net.at(name).installed()->id == merged);
  }
  // b loses its links to c and d for a while; c and d, slower to notice, never see them go
  // (what b says meanwhile is lost with them).
  net.half_down("b", "c");
  net.half_down("b", "d");
  net.kill("a");
  net.settle();
  for (int i = 0; i < 3; ++i) {
    net.advance(100'001);
    net.settle();
  }
  REQUIRE(net.at("b").installed()->members == members({"b"}));  // it settled the merge alone
  REQUIRE(net.at("c").installed()->id == merged);
  REQUIRE(net.at("c").coordinator() == Net::member("b"));
  net.half_up("b", "c");
  net.half_up("b", "d");
  net.announce("b", {"c", "d"});
  net.announce("c", {"b", "d"});
  net.announce("d", {"b", "c"});
  net.settle();
  for (int i = 0; i < 5; ++i) {
    net.advance(100'001);
    net.settle();
    for (const char* name : {"b", "c", "d"}) {
      std::vector<std::string> others;
      for (const char* other : {"b", "c", "d"}) {
        if (std::string(other) != name) others.emplace_back(other);
      }
      if (net.at(name).installed()) net.announce(name, others);
    }
    net.settle();
  }
  // c and d went on without b (it left their view, evicted), then merged with b's view, b the
  // senior. b's member stayed in b's view all along.
  CHECK(net.seen("b").left.empty());
  for (const char* name : {"c", "d"}) {
    INFO("node " << name);
    const auto& installs = net.seen(name).installs;
    auto in_merged =
        std::find_if(installs.begin(), installs.end(), [&](const InstallView& v) { return v.view.id == merged; });
    auto without_b = std::find_if(in_merged, installs.end(), [&](const InstallView& v) {
      return v.view.members == members({"c", "d"});
    });
    REQUIRE(without_b != installs.end());
    CHECK(std::find(without_b->left.begin(), without_b->left.end(),
                    std::pair<Pid, LeaveReason>{Net::member("b"), LeaveReason::evicted}) != without_b->left.end());
  }
  for (const char* name : {"b", "c", "d"}) {
    INFO("node " << name << ": " << net.at(name).describe());
    REQUIRE(net.at(name).installed());
    CHECK(net.at(name).installed()->id == net.at("b").installed()->id);
    CHECK(net.at(name).installed()->members.size() == 3);
  }
}

TEST_CASE("view machine: a leaver is in the view until the change, then gets on_left", "[unit][multicast]") {
  Net net = three_members();
  net.leave("c");
  net.settle();
  REQUIRE(net.seen("c").left.size() == 1);
  CHECK(net.seen("c").left[0].member == Net::member("c"));
  CHECK(net.seen("c").left[0].reason == LeaveReason::left);
  CHECK_FALSE(net.at("c").installed());
  for (const char* name : {"a", "b"}) {
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"a", "b"}));
    REQUIRE(last.left.size() == 1);
    CHECK(last.left[0] == std::pair{Net::member("c"), LeaveReason::left});
  }
}

TEST_CASE("view machine: a lost leave request goes again, and a leave given up is out at once, out of the view later",
          "[unit][multicast]") {
  Net net = three_members();
  net.mute("a");  // the coordinator's node hears nothing for a while: c's request is lost
  net.leave("c");
  net.settle();
  CHECK(net.seen("c").left.empty());
  const bool give_up = GENERATE(false, true);
  if (give_up) {
    // leave() waited past its deadline: c's member is out on its node now, in the view still.
    net.give_up_leave("c");
    REQUIRE(net.seen("c").left.size() == 1);
    CHECK(net.seen("c").left[0].reason == LeaveReason::left);
    CHECK(net.seen("a").installs.back().view.members == members({"a", "b", "c"}));
  }
  net.unmute("a");
  net.announce("a", {"b", "c"});  // (a coordinator announces its view every view_change_timeout)
  net.advance(100'001);           // one view_change_timeout: the request goes again
  net.settle();
  CHECK(net.seen("c").left.size() == 1);
  for (const char* name : {"a", "b"}) {
    const auto& last = net.seen(name).installs.back();
    CHECK(last.view.members == members({"a", "b"}));
    REQUIRE(last.left.size() == 1);
    CHECK(last.left[0] == std::pair{Net::member("c"), LeaveReason::left});
  }
  CHECK_FALSE(net.at("c").installed());
}

TEST_CASE("view machine: a member that joins again after a leave given up waits for the view without it",
          "[unit][multicast]") {
  // Found by the simulator (seed 970000026571): the pid was still in the view, so the join
  // asked for nothing, and the view that took the old leave out told the new join it had left.
  Net net = three_members();
  const std::size_t before = net.seen("a").installs.size();
  net.mute("a");  // the coordinator hears nothing for a while: c's leave is not taken
  net.leave("c");
  net.settle();
  net.give_up_leave("c");
  REQUIRE(net.seen("c").left.size() == 1);
  net.join("c");  // the same pid again, while the view still names it
  net.settle();
  CHECK(net.seen("c").installs.size() == 1);  // not in a view yet: its old leave goes first
  net.unmute("a");
  net.announce("a", {"b", "c"});
  for (int i = 0; i < 3; ++i) {
    net.advance(100'001);  // a view_change_timeout: requests go again
    net.settle();
  }
  // Out in one view (with the reason of its old leave), in again in a later one.
  const auto& views = net.seen("a").installs;
  auto out = std::find_if(views.begin() + static_cast<std::ptrdiff_t>(before), views.end(), [](const InstallView& v) {
    return v.view.members == members({"a", "b"});
  });
  REQUIRE(out != views.end());
  REQUIRE(out->left.size() == 1);
  CHECK(out->left[0] == std::pair{Net::member("c"), LeaveReason::left});
  CHECK(views.back().view.members == members({"a", "b", "c"}));
  CHECK(views.back().joined == members({"c"}));
  REQUIRE(net.at("c").installed());
  CHECK(net.at("c").installed()->members == members({"a", "b", "c"}));
  CHECK(net.seen("c").left.size() == 1);  // the rejoined member was never told it left
}

TEST_CASE("view machine: a node silent in a view change is evicted after the timeout", "[unit][multicast]") {
  Net net = three_members();
  net.mute("c");
  net.leave("b");  // a change that needs c's answer
  net.settle();
  CHECK(net.at("a").changing());  // waiting for c
  CHECK(net.at("a").installed()->members == members({"a", "b", "c"}));
  net.advance(150'000);  // past view_change_timeout
  net.settle();
  const auto& last = net.seen("a").installs.back();
  CHECK(last.view.members == members({"a"}));
  std::map<Pid, LeaveReason> left(last.left.begin(), last.left.end());
  CHECK(left ==
        std::map<Pid, LeaveReason>{{Net::member("b"), LeaveReason::left}, {Net::member("c"), LeaveReason::evicted}});
  CHECK(net.seen("b").left.size() == 1);
}

TEST_CASE("view machine: a member that missed an INSTALL of a dead coordinator installs it before the next view",
          "[unit][multicast]") {
  Net net({"a", "b", "c", "d"});
  net.join("a");
  net.announce("a", {"b", "c", "d"});
  net.join("b");
  net.settle();
  net.join("c");
  net.settle();
  net.lose_next_install_to("c");
  net.join("d");  // view 4 [a, b, c, d] reaches b and d, not c
  net.settle();
  REQUIRE(net.at("b").installed()->id.number == 4);
  REQUIRE(net.at("c").installed()->id.number == 3);
  net.kill("a");
  net.settle();
  // c saw view 4 (d joined) before view 5 (a left): no member skips a view it belongs to.
  const auto& installs = net.seen("c").installs;
  REQUIRE(installs.size() >= 2);
  const auto& fourth = installs[installs.size() - 2];
  const auto& fifth = installs.back();
  CHECK(fourth.view.id == ViewId{Net::member("a"), 4});
  CHECK(fourth.joined == members({"d"}));
  CHECK(fifth.view.id == ViewId{Net::member("b"), 5});
  CHECK(fifth.view.members == members({"b", "c", "d"}));
  for (const char* name : {"b", "d"}) CHECK(net.seen(name).installs.back().view == fifth.view);
}

namespace {

/// A seeded random run: joins, leaves, node deaths, splits and heals, and the clock, with
/// messages delivered in a random order across links and in order within each (a cut link
/// loses what it carried, as a reset ZeroMQ link does). Every install is announced to every
/// node it reaches, and the quiet phase announces every view again (what the scope's periodic
/// announcements do).
class RandomRun {
 public:
  explicit RandomRun(std::uint64_t seed) : state_(seed) {
    for (int i = 0; i < kNodes; ++i) {
      std::string name = "r" + std::to_string(i);
      names_.push_back(name);
      machines_.emplace(Net::node(name), ViewMachine(Net::node(name), std::chrono::milliseconds(100), streams_));
    }
    for (auto& [id, machine] : machines_) {
      for (auto& [other, unused] : machines_) {
        if (other != id) take(id, machine.peer_up(other, now_));
      }
    }
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      auto roll = below(100);
      if (roll < 12) {
        join_random();
      } else if (roll < 18) {
        leave_random();
      } else if (roll < 20 && dead_.size() < 2) {
        kill(names_[below(kNodes)]);
      } else if (roll < 21 && cut_.empty()) {
        split();
      } else if (roll < 22 && !cut_.empty()) {
        heal();
      } else if (roll < 25) {
        now_ += static_cast<Micros>(below(60'000));
        for (auto& [id, machine] : machines_) {
          if (!dead_.count(id)) take(id, machine.tick(now_));
        }
      } else {
        deliver_one();
      }
    }
    // Quiet: heal, deliver everything, let every round finish or time out, announce again.
    heal();
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 100'000 && !links_.empty(); ++i) deliver_one();
      now_ += 200'000;
      for (auto& [id, machine] : machines_) {
        if (!dead_.count(id)) take(id, machine.tick(now_));
      }
      if (round % 5 == 4) announce_all();
    }
  }

  /// Every living machine's view and coordinator, for a failing seed's trace.
  std::string state() const {
    std::string out;
    for (const auto& [id, machine] : machines_) {
      if (dead_.count(id)) continue;
      out += node_name_of(id) + ": " + machine.describe() + "\n";
    }
    return out;
  }

  /// SPEC 8.1's rules over what every node installed. One line per broken rule.
  std::vector<std::string> check() const {
    std::vector<std::string> broken;
    std::map<ViewId, std::vector<Pid>> views;
    for (const auto& [node, installs] : installs_) {
      // Per member (SPEC 8.1.2): the views it is in come in growing order. (A node whose
      // members all left may later join another lineage of the group, numbered lower.)
      std::map<Pid, std::uint64_t> last;
      for (const auto& install : installs) {
        auto [it, fresh] = views.emplace(install.view.id, install.view.members);
        if (!fresh && it->second != install.view.members) {
          broken.push_back("view " + std::to_string(install.view.id.number) + " has two member lists");
        }
        for (const auto& member : install.view.members) {
          if (member.node_atom() != node) continue;
          auto [seen, first] = last.try_emplace(member, install.view.id.number);
          if (!first && install.view.id.number <= seen->second) {
            broken.push_back(member.to_string() + " got views out of order");
          }
          seen->second = install.view.id.number;
        }
      }
    }
    // Every living node with a member ends in the same view, and it is not changing.
    std::optional<InstalledView> final;
    for (const auto& [id, machine] : machines_) {
      if (dead_.count(id) || !machine.installed()) continue;
      if (machine.changing()) broken.push_back(node_name_of(id) + " is still changing its view");
      if (!final) final = machine.installed();
      if (*machine.installed() != *final) broken.push_back(node_name_of(id) + " ended in another view");
      for (const auto& member : machine.installed()->members) {
        if (dead_.count(member.node_atom())) broken.push_back("a dead node's member is in the final view");
      }
    }
    for (const auto& [node, left] : left_) {
      for (const auto& gone : left) {
        if (final && std::find(final->members.begin(), final->members.end(), gone) != final->members.end()) {
          broken.push_back("a member that left is in the final view");
        }
      }
    }
    return broken;
  }

 private:
  static constexpr int kNodes = 5;
  static std::string node_name_of(NodeId id) { return syn::detail::node_name_of(id); }

  std::uint64_t below(std::uint64_t n) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state_ >> 33) % n;
  }

  void join_random() {
    const auto& name = names_[below(kNodes)];
    NodeId id = Net::node(name);
    if (dead_.count(id)) return;
    Pid member(name, 1, ++next_member_);
    trace.push_back("join " + member.to_string());
    local_[id].push_back(member);
    take(id, machines_.at(id).join(member, now_));
  }

  void leave_random() {
    const auto& name = names_[below(kNodes)];
    NodeId id = Net::node(name);
    if (dead_.count(id) || local_[id].empty()) return;
    auto& mine = local_[id];
    auto index = below(mine.size());
    Pid member = mine[index];
    mine.erase(mine.begin() + static_cast<std::ptrdiff_t>(index));
    trace.push_back("leave " + member.to_string());
    take(id, machines_.at(id).leave(member, LeaveReason::left, now_));
  }

  void kill(const std::string& name) {
    NodeId dead = Net::node(name);
    if (!dead_.insert(dead).second) return;
    trace.push_back("kill " + name);
    for (auto& [id, machine] : machines_) {
      if (!dead_.count(id)) take(id, machine.peer_down(dead, now_));
    }
  }

  bool cut(NodeId a, NodeId b) const { return cut_.count({std::min(a, b), std::max(a, b)}) != 0; }

  /// A random side of the nodes stops reaching the rest, both ways.
  void split() {
    std::set<NodeId> side;
    for (const auto& name : names_) {
      if (below(2) == 0) side.insert(Net::node(name));
    }
    if (side.empty() || side.size() == names_.size()) return;
    trace.push_back("split");
    for (auto& [a, machine_a] : machines_) {
      for (auto& [b, machine_b] : machines_) {
        if (a >= b || side.count(a) == side.count(b)) continue;
        cut_.insert({a, b});
        links_.erase({a, b});
        links_.erase({b, a});
        if (!dead_.count(a)) take(a, machine_a.peer_down(b, now_));
        if (!dead_.count(b)) take(b, machine_b.peer_down(a, now_));
      }
    }
  }

  void heal() {
    if (cut_.empty()) return;
    trace.push_back("heal");
    auto healed = std::move(cut_);
    cut_.clear();
    for (auto [a, b] : healed) {
      if (dead_.count(a) || dead_.count(b)) continue;
      take(a, machines_.at(a).peer_up(b, now_));
      take(b, machines_.at(b).peer_up(a, now_));
    }
    announce_all();
  }

  void announce_all() {
    for (auto& [id, machine] : machines_) {
      if (!dead_.count(id)) announce(id, machine.installed(), {});
    }
  }

  /// Announcements travel the links like every other frame (in order with them).
  void announce(NodeId from, const std::optional<InstalledView>& view,
                const std::vector<std::pair<Pid, LeaveReason>>& left) {
    for (auto& [id, machine] : machines_) {
      if (id != from && !dead_.count(id) && !cut(id, from)) links_[{from, id}].push_back(Announcement{view, left});
    }
  }

  void deliver_one() {
    if (links_.empty()) return;
    auto it = links_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(below(links_.size())));
    auto [from, to] = it->first;
    Carried carried = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) links_.erase(it);
    if (dead_.count(to) || dead_.count(from)) return;
    if (auto* announcement = std::get_if<Announcement>(&carried)) {
      take(to, machines_.at(to).learn(from, announcement->view, announcement->left, now_));
      return;
    }
    const auto& message = std::get<Message>(carried);
    trace.push_back(node_name_of(from) + " -> " + node_name_of(to) + ": " + describe(message));
    take(to, machines_.at(to).receive(from, message, now_));
  }

  void take(NodeId self, std::vector<Action> actions) {
    for (auto& action : actions) {
      if (auto* send = std::get_if<Send>(&action)) {
        links_[{self, send->to}].push_back(send->message);
      } else if (auto* install = std::get_if<InstallView>(&action)) {
        std::string members;
        for (const auto& m : install->view.members) members += " " + m.to_string();
        trace.push_back(node_name_of(self) + " installs v" + std::to_string(install->view.id.number) + members);
        installs_[self].push_back(*install);
        announce(self, install->view, install->left);
      } else if (auto* left = std::get_if<LocalLeft>(&action)) {
        left_[self].push_back(left->member);
      }
    }
  }

  static std::string describe(const Message& m) {
    static const char* names[] = {"JOIN",     "LEAVE",   "PREPARE", "PREPARE_OK", "REFUSE", "FLUSH",
                                  "FLUSH_OK", "INSTALL", "EVICTED", "MERGE_REQ",  "YIELD",  "UNREACHABLE"};
    std::string out = names[m.index()];
    std::visit(
        [&](const auto& x) {
          using M = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<M, JoinRequest> || std::is_same_v<M, LeaveRequest>) {
            out += " " + x.member.to_string();
          } else if constexpr (std::is_same_v<M, MergeRequest>) {
            out += " v" + std::to_string(x.view.id.number);
          } else if constexpr (std::is_same_v<M, Yield>) {
            out += " to " + x.senior.to_string();
          } else if constexpr (std::is_same_v<M, Unreachable>) {
            out += " " + std::to_string(x.nodes.size()) + " node(s)";
          } else {
            out += " " + x.proposal.coordinator.to_string() + "#" + std::to_string(x.proposal.attempt);
          }
          if constexpr (std::is_same_v<M, Install>) out += " v" + std::to_string(x.view.id.number);
        },
        m);
    return out;
  }

 public:
  std::vector<std::string> trace;

 private:
  std::uint64_t state_;
  NoStreams streams_;
  Micros now_ = 0;
  std::vector<std::string> names_;
  std::map<NodeId, ViewMachine> machines_;
  struct Announcement {
    std::optional<InstalledView> view;
    std::vector<std::pair<Pid, LeaveReason>> left;
  };
  using Carried = std::variant<Message, Announcement>;
  std::map<std::pair<NodeId, NodeId>, std::deque<Carried>> links_;
  std::map<NodeId, std::vector<InstallView>> installs_;
  std::map<NodeId, std::vector<Pid>> left_;
  std::map<NodeId, std::vector<Pid>> local_;
  std::set<NodeId> dead_;
  std::set<std::pair<NodeId, NodeId>> cut_;  ///< (lower, higher) node pairs that do not reach each other
  std::uint64_t next_member_ = 0;
};

}  // namespace

// Seeds 1..30000 pass (2026-12-04, announcements in order with the other frames of a link);
// seed 60419 does not converge yet (docs/internals.md).
// SYN_VIEW_SEEDS=N runs more, SYN_VIEW_FIRST=F from seed F; SYN_VIEW_TRACE=1 prints a failing seed's steps and every
// machine's state.
TEST_CASE("view machine: random joins, leaves, deaths, splits and heals keep SPEC 8.1's view rules",
          "[unit][multicast]") {
  // SYN_VIEW_SEEDS=N runs seeds 1..N (default 2000; CI runs the default); SYN_VIEW_FIRST=F
  // starts at F instead (F..F+N-1), to replay one seed.
  std::uint64_t seeds = 2000, first = 1;
  if (const char* n = std::getenv("SYN_VIEW_SEEDS")) seeds = std::strtoull(n, nullptr, 10);
  if (const char* f = std::getenv("SYN_VIEW_FIRST")) first = std::strtoull(f, nullptr, 10);
  for (std::uint64_t seed = first; seed < first + seeds; ++seed) {
    RandomRun run(seed);
    run.run(400);
    auto broken = run.check();
    INFO("seed " << seed);
    if (!broken.empty() && std::getenv("SYN_VIEW_TRACE")) {
      for (const auto& line : run.trace) std::cout << line << "\n";
      std::cout << run.state();
    }
    for (const auto& line : broken) FAIL_CHECK(line);
    if (!broken.empty()) break;
  }
}
