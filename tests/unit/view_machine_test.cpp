// The multicast view machine (src/multicast/view_machine) driven by hand: a few machines
// exchange their messages over FIFO links that the test delivers, cuts and kills. Data
// streams are empty here (the flush has nothing to carry); the simulator tests the rest.
#include "multicast/view_machine.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

using namespace syn;
using namespace syn::detail::multicast;

namespace {

/// No data published: every digest is empty and every flush is held at once.
class NoStreams final : public StreamState {
 public:
  Digest digest() const override { return {}; }
  bool holds(const std::vector<StreamEnd>&) const override { return true; }
};

struct Seen {
  std::vector<InstallView> installs;
  std::vector<LocalLeft> left;
};

/// Machines named by node, linked to each other, with what each one's host was asked to do.
class Net {
 public:
  explicit Net(const std::vector<std::string>& names) {
    for (const auto& name : names) {
      NodeId id = node(name);
      machines_.emplace(id, ViewMachine(id, std::chrono::milliseconds(100), streams_));
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
  Seen& seen(const std::string& name) { return seen_[node(name)]; }

  void join(const std::string& name, std::uint64_t id = 1) { take(node(name), at(name).join(member(name, id), now_)); }
  void leave(const std::string& name, std::uint64_t id = 1) {
    take(node(name), at(name).leave(member(name, id), LeaveReason::left, now_));
  }
  /// Every machine of `names` learns the view `from` installed (an announcement).
  void announce(const std::string& from, const std::vector<std::string>& names) {
    for (const auto& name : names) take(node(name), at(name).learn(*at(from).installed(), now_));
  }
  /// The node dies: its peers see it down; nothing reaches it or comes from it any more.
  void kill(const std::string& name) {
    NodeId dead = node(name);
    dead_.insert(dead);
    for (auto& [id, machine] : machines_) {
      if (id != dead && !dead_.count(id)) take(id, machine.peer_down(dead, now_));
    }
  }
  /// Frames to `name` vanish while the link stays up (a node too busy to answer).
  void mute(const std::string& name) { muted_.insert(node(name)); }
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
      if (dead_.count(to) || dead_.count(from) || muted_.count(to)) continue;
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
      } else if (auto* left = std::get_if<LocalLeft>(&action)) {
        seen_[self].left.push_back(*left);
      }
    }
  }

  NoStreams streams_;
  Micros now_ = 0;
  std::map<NodeId, ViewMachine> machines_;
  std::map<NodeId, Seen> seen_;
  std::deque<std::tuple<NodeId, NodeId, Message>> links_;
  std::set<NodeId> dead_, muted_, installs_lost_;
};

std::vector<Pid> members(std::initializer_list<const char*> names) {
  std::vector<Pid> out;
  for (const char* name : names) out.push_back(Net::member(name));
  return out;
}

/// Three nodes with one member each, in the view [a, b, c].
Net three_members() {
  Net net({"a", "b", "c"});
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

TEST_CASE("view machine: joins go through the coordinator; every node installs the same views in order",
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
