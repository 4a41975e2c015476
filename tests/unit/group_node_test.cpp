// One multicast group over a few nodes (src/multicast/group_node): the view machine, the
// streams and the data path together, driven by hand over FIFO links that the test delivers,
// holds and cuts. What the handler will do with the effects, the harness does: frames go on
// the links, announcements to every node, acks once per step, member events into a log.
#include "multicast/group_node.hpp"
#include "wire/term_codec.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
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

/// What the members of one node saw, in order, as text: "joined v2", "view v3", "m <a.1.1> 7",
/// "left evicted", "confirmed 3", "unconfirmed 3".
using Log = std::vector<std::string>;

/// The members' callbacks ran at once (as the handler reports them after they ran).
void report_processed(GroupNode& node, const Effects& fx) {
  for (const auto& event : fx.events) {
    if (const auto* d = std::get_if<Delivered>(&event)) node.processed(d->view, d->stream, d->seq);
    if (const auto* s = std::get_if<Settle>(&event)) node.settled(s->view);
  }
}

class Cluster {
 public:
  /// `send_window`: see GroupNode.
  explicit Cluster(const std::vector<std::string>& names, std::size_t send_window = kMaxSendWindowBytes) {
    for (const auto& name : names) {
      nodes_.try_emplace(node(name), node(name), std::chrono::milliseconds(100), std::chrono::milliseconds(0),
                         std::chrono::milliseconds(0), send_window);
    }
    for (auto& [id, group] : nodes_) {
      for (auto& [other, unused] : nodes_) {
        if (other != id) take(id, group.peer_up(other, now_));
      }
    }
  }

  static NodeId node(const std::string& name) { return Pid(name, 1, 0).node_atom(); }
  static Pid member(const std::string& name, std::uint64_t id = 1) { return Pid(name, 1, id); }
  GroupNode& at(const std::string& name) { return nodes_.at(node(name)); }
  Log& log(const std::string& name) { return logs_[node(name)]; }

  void join(const std::string& name, std::uint64_t id = 1) { take(node(name), at(name).join(member(name, id), now_)); }
  /// A member of `name`'s node joins under a pid of its own (another incarnation's, say).
  void join(const std::string& name, const Pid& pid) { take(node(name), at(name).join(pid, now_)); }
  std::uint64_t broadcast(const std::string& name, int value, std::uint64_t id = 1) {
    Effects fx;
    auto token = at(name).broadcast(member(name, id), wire::canonical(Term(value)), fx);
    take(node(name), std::move(fx));
    return token;
  }
  void leave(const std::string& name, std::uint64_t id) {
    take(node(name), at(name).leave(member(name, id), LeaveReason::left, now_));
  }
  /// A broadcast of a string of `size` bytes.
  void broadcast_text(const std::string& name, std::size_t size) {
    Effects fx;
    at(name).broadcast(member(name), wire::canonical(Term(std::string(size, 'x'))), fx);
    take(node(name), std::move(fx));
  }
  void kill(const std::string& name) {
    NodeId dead = node(name);
    dead_.insert(dead);
    // What it had sent and nobody received yet is lost with it (one of the outcomes a real
    // network allows).
    std::erase_if(links_, [&](const auto& link) { return std::get<0>(link) == dead || std::get<1>(link) == dead; });
    for (auto& [id, group] : nodes_) {
      if (!dead_.count(id)) take(id, group.peer_down(dead, now_));
    }
  }
  /// The link between a and b closes and comes back at once (too soon for a view change):
  /// what was on it is lost; each side sees the other down, then up, then its announcement
  /// (what the handler's snapshot carries on every new link).
  void reset_link(const std::string& a, const std::string& b) {
    drop_link(a, b);
    restore_link(a, b);
  }
  /// The link between a and b closes: what was on it is lost, each side sees the other down.
  void drop_link(const std::string& a, const std::string& b) {
    NodeId x = node(a), y = node(b);
    std::erase_if(links_, [&](const auto& l) {
      return (std::get<0>(l) == x && std::get<1>(l) == y) || (std::get<0>(l) == y && std::get<1>(l) == x);
    });
    take(x, at(a).peer_down(y, now_));
    take(y, at(b).peer_down(x, now_));
  }
  /// The link comes back: each side sees the other up, then its announcement.
  void restore_link(const std::string& a, const std::string& b) {
    NodeId x = node(a), y = node(b);
    take(x, at(a).peer_up(y, now_));
    take(y, at(b).peer_up(x, now_));
    links_.emplace_back(x, y, at(a).announcement());
    links_.emplace_back(y, x, at(b).announcement());
  }
  /// `name` crashed and a new incarnation (creation 2) runs under the same name, where a
  /// member joins at once (it starts a group of its own: it knows of no view yet) unless
  /// `join_at_once` is false; its peers see it go down and come up again before any view change.
  void restart(const std::string& name, bool join_at_once = true) {
    NodeId id = node(name);
    std::erase_if(links_, [&](const auto& l) { return std::get<0>(l) == id || std::get<1>(l) == id; });
    nodes_.erase(id);
    nodes_.try_emplace(id, id, std::chrono::milliseconds(100));
    logs_[id].clear();
    slow_.erase(id);  // the crashed incarnation's callbacks went with it
    late_.erase(id);
    if (join_at_once) take(id, at(name).join(Pid(name, 2, 1), now_));
    for (auto& [other, group] : nodes_) {
      if (other == id || dead_.count(other)) continue;
      take(other, group.peer_down(id, now_));
      take(other, group.peer_up(id, now_, 2));
      take(id, at(name).peer_up(other, now_, 1));
      links_.emplace_back(other, id, group.announcement());
    }
  }
  /// The callbacks of `name`'s members run late: what they received (and the views they
  /// settled) is reported only at catch_up.
  void slow(const std::string& name) { slow_.insert(node(name)); }
  void catch_up(const std::string& name) {
    slow_.erase(node(name));
    Effects late;
    late.events = std::exchange(late_[node(name)], {});
    report_processed(at(name), late);
    take(node(name), at(name).send_acks());
  }
  /// `seen_by` learns that `name` runs a build that does not settle views (an older protocol).
  void older_build(const std::string& name, const std::string& seen_by) {
    take(node(seen_by), at(seen_by).peer_up(node(name), now_, 0, false));
  }
  /// Frames to `name` stay in flight until released.
  void hold(const std::string& name) { held_.insert(node(name)); }
  void release(const std::string& name) { held_.erase(node(name)); }

  /// Delivers until nothing deliverable is in flight; acks go out after every frame.
  void settle() {
    for (int steps = 0;; ++steps) {
      REQUIRE(steps < 100'000);
      auto it = std::find_if(links_.begin(), links_.end(), [&](const auto& l) { return !held_.count(std::get<1>(l)); });
      if (it == links_.end()) return;
      auto [from, to, body] = std::move(*it);
      links_.erase(it);
      if (dead_.count(to)) continue;
      Effects fx = nodes_.at(to).receive(from, body, now_);
      REQUIRE(fx.protocol_error.empty());
      take(to, std::move(fx));
      take(to, nodes_.at(to).send_acks());
    }
  }
  void advance(Micros by) {
    now_ += by;
    for (auto& [id, group] : nodes_) {
      if (!dead_.count(id)) take(id, group.tick(now_));
    }
  }

  /// The messages of `from`'s stream in Data frames on their way to `to`.
  std::size_t data_in_flight(const std::string& from, const std::string& to) const {
    std::size_t n = 0;
    for (const auto& [src, dst, body] : links_) {
      const auto* data = std::get_if<wire::multicast::Data>(&body);
      if (data && src == node(from) && dst == node(to)) n += data->messages.size();
    }
    return n;
  }

  /// The most messages and bytes one Resend frame carried so far, and how many went.
  struct ResendStats {
    std::size_t frames = 0, most_bytes = 0;
  };
  const ResendStats& resends() const { return resends_; }

  /// Acknowledgements are counted from now on.
  void forget_acks() { acks_.clear(); }
  /// How many acknowledgements `from` sent `to` so far.
  int acks(const std::string& from, const std::string& to) const {
    auto it = acks_.find({node(from), node(to)});
    return it == acks_.end() ? 0 : it->second;
  }

  /// A frame from `from` to `to`, as a peer would send it (for the protocol-error tests).
  Effects inject(const std::string& from, const std::string& to, const Body& body) {
    return at(to).receive(node(from), body, now_);
  }

 private:
  void take(NodeId self, Effects fx) {
    for (auto& out : fx.out) {
      if (std::holds_alternative<wire::multicast::Ack>(out.body)) ++acks_[{self, out.to}];
      if (const auto* resend = std::get_if<wire::multicast::Resend>(&out.body)) {
        std::size_t bytes = 0;
        for (const auto& m : resend->messages) bytes += m.message.size();
        ++resends_.frames;
        resends_.most_bytes = std::max(resends_.most_bytes, bytes);
      }
      links_.emplace_back(self, out.to, std::move(out.body));
    }
    for (const auto& event : fx.events) {
      if (!std::holds_alternative<Settle>(event)) logs_[self].push_back(describe(event));  // the handler's business
    }
    if (slow_.count(self)) {
      for (auto& event : fx.events) late_[self].push_back(std::move(event));
    } else {
      report_processed(nodes_.at(self), fx);
    }
    if (fx.announce) {
      for (auto& [id, unused] : nodes_) {
        if (id != self && !dead_.count(id)) links_.emplace_back(self, id, nodes_.at(self).announcement());
      }
    }
  }

  static std::string describe(const Event& event) {
    if (const auto* j = std::get_if<Joined>(&event)) return "joined v" + std::to_string(j->view.id.number);
    if (const auto* v = std::get_if<ViewChanged>(&event)) return "view v" + std::to_string(v->change.view.id.number);
    if (const auto* d = std::get_if<Delivered>(&event)) {
      return "m " + d->from.to_string() + " " + wire::decode_canonical(d->message).dump();
    }
    if (const auto* l = std::get_if<Left>(&event)) return "left " + std::string(to_string(l->reason));
    if (const auto* i = std::get_if<Installed>(&event)) {
      return "installed " + (i->view ? "v" + std::to_string(i->view->id.number) : std::string("none"));
    }
    const auto& c = std::get<Confirmed>(event);
    return (c.ok ? "confirmed " : "unconfirmed ") + std::to_string(c.token);
  }

  Micros now_ = 0;
  std::map<NodeId, GroupNode> nodes_;
  std::map<NodeId, Log> logs_;
  std::deque<std::tuple<NodeId, NodeId, Body>> links_;
  std::set<NodeId> dead_, held_, slow_;
  std::map<NodeId, std::vector<Event>> late_;      // a slow node's events, reported at catch_up
  std::map<std::pair<NodeId, NodeId>, int> acks_;  // (from, to) -> acknowledgements sent
  ResendStats resends_;
};

/// The messages of one publisher a node's members got, in order.
std::vector<int> received_from(const Log& log, const Pid& from) {
  std::vector<int> out;
  std::string prefix = "m " + from.to_string() + " ";
  for (const auto& line : log) {
    if (line.rfind(prefix, 0) == 0) out.push_back(std::stoi(line.substr(prefix.size())));
  }
  return out;
}

std::vector<int> one_to(int n) {
  std::vector<int> out;
  for (int i = 1; i <= n; ++i) out.push_back(i);
  return out;
}

/// A log on one line, for a failing check's message.
std::string one_line(const Log& log) {
  std::string out;
  for (const auto& line : log) out += (out.empty() ? "" : " | ") + line;
  return out;
}

bool contains(const Log& log, const std::string& line) { return std::find(log.begin(), log.end(), line) != log.end(); }

Cluster three(std::size_t send_window = kMaxSendWindowBytes) {
  Cluster c({"a", "b", "c"}, send_window);
  for (const char* name : {"a", "b", "c"}) {
    c.join(name);
    c.settle();
  }
  return c;
}

}  // namespace

TEST_CASE("group node: every member gets every broadcast in order, and the publisher's are confirmed",
          "[unit][multicast]") {
  Cluster c = three();
  std::vector<std::uint64_t> tokens;
  for (int i = 1; i <= 20; ++i) tokens.push_back(c.broadcast("a", i));
  c.settle();
  for (const char* name : {"a", "b", "c"}) {
    INFO("node " << name);
    CHECK(received_from(c.log(name), Cluster::member("a")) == one_to(20));
  }
  for (auto token : tokens) CHECK(contains(c.log("a"), "confirmed " + std::to_string(token)));
  CHECK(c.at("a").idle());
  CHECK(c.at("a").unconfirmed_bytes() == 0);
}

TEST_CASE(
    "group node: an acknowledgement goes at once to the publisher and the coordinator, to the others every 64 "
    "messages or at the next tick",
    "[unit][multicast]") {
  Cluster c({"a", "b", "c", "d"});
  for (const char* name : {"a", "b", "c", "d"}) {
    c.join(name);
    c.settle();
  }
  REQUIRE(c.at("c").machine().coordinator().node_atom() == Cluster::node("a"));
  // Each node acknowledges each view once to every node of it (it settled the views before):
  // a tick sends what is left of those, and they are not counted here.
  c.advance(1000);
  c.settle();
  c.forget_acks();
  auto token = c.broadcast("b", 1);
  c.settle();
  CHECK(contains(c.log("b"), "confirmed " + std::to_string(token)));
  for (const char* name : {"a", "c", "d"}) {
    INFO("from " << name);
    CHECK(c.acks(name, "b") == 1);  // the publisher waits for them
  }
  for (const char* name : {"b", "c", "d"}) {
    INFO("from " << name);
    CHECK(c.acks(name, "a") == 1);  // the coordinator watches for laggards
  }
  // Neither publisher nor coordinator: nothing yet.
  CHECK(c.acks("c", "d") == 0);
  CHECK(c.acks("d", "c") == 0);
  CHECK(c.acks("a", "c") == 0);
  CHECK(c.acks("b", "c") == 0);
  for (int i = 2; i <= 63; ++i) c.broadcast("b", i);
  c.settle();
  CHECK(c.acks("c", "d") == 0);  // 63 messages: not yet
  c.broadcast("b", 64);
  c.settle();
  CHECK(c.acks("c", "d") == 1);  // the 64th message
  CHECK(c.acks("d", "c") == 1);
  c.broadcast("b", 65);
  c.settle();
  CHECK(c.acks("c", "d") == 1);
  c.advance(1000);  // a tick: what was left for later goes
  c.settle();
  CHECK(c.acks("c", "d") == 2);
  CHECK(c.acks("a", "c") >= 1);
  c.advance(1000);  // nothing new: nothing more
  c.settle();
  CHECK(c.acks("c", "d") == 2);
  for (const char* name : {"a", "b", "c", "d"}) {
    INFO("node " << name);
    CHECK(received_from(c.log(name), Cluster::member("b")) == one_to(65));
  }
}

TEST_CASE("group node: an acknowledgement lost with a link that came back goes again at the next tick",
          "[unit][multicast]") {
  Cluster c = three();
  c.hold("a");
  auto token = c.broadcast("a", 1);
  c.settle();              // b and c have it; their acknowledgements wait on the way to a
  c.reset_link("a", "b");  // b's is lost with the link; a sends the message again, b had it
  c.release("a");
  c.settle();
  const std::string confirmed = "confirmed " + std::to_string(token);
  CHECK_FALSE(contains(c.log("a"), confirmed));
  c.advance(1000);
  c.settle();
  CHECK(contains(c.log("a"), confirmed));
  CHECK(c.at("a").unconfirmed_bytes() == 0);
}

TEST_CASE("group node: a burst of broadcasts goes to each node in few Data frames, none over 64 kB",
          "[unit][multicast]") {
  Cluster c = three();
  auto bursts = [&](std::size_t count, std::size_t size) {
    Effects fx;
    for (std::size_t i = 0; i < count; ++i) {
      c.at("a").broadcast(Cluster::member("a"), wire::canonical(Term(std::string(size, 'x'))), fx);
    }
    std::map<NodeId, std::vector<std::pair<std::uint64_t, std::size_t>>> frames;  // node -> (first, bytes)
    for (const auto& out : fx.out) {
      const auto* data = std::get_if<wire::multicast::Data>(&out.body);
      REQUIRE(data);
      std::size_t bytes = 0;
      for (const auto& m : data->messages) bytes += m.message.size();
      CHECK(bytes == out.data_bytes);
      CHECK(bytes <= kMaxDataFrameBytes);
      frames[out.to].emplace_back(data->first, data->messages.size());
    }
    return frames;
  };
  // 100 small terms: one frame per other node, numbered from 1.
  auto small = bursts(100, 8);
  REQUIRE(small.size() == 2);
  for (const auto& [node, list] : small) {
    INFO("to node " << node);
    REQUIRE(list.size() == 1);
    CHECK(list[0] == std::pair<std::uint64_t, std::size_t>{1, 100});
  }
  // 100 terms of 2 kB: frames of at most 64 kB, in order, without a gap.
  auto big = bursts(100, 2000);
  for (const auto& [node, list] : big) {
    INFO("to node " << node);
    CHECK(list.size() > 1);
    std::uint64_t next = 101;
    for (const auto& [first, count] : list) {
      CHECK(first == next);
      next = first + count;
    }
    CHECK(next == 201);
  }
}

TEST_CASE("group node: across a view change, a broadcast is confirmed once every node of both views ran its callbacks",
          "[unit][multicast]") {
  Cluster c({"a", "b", "c", "d"});
  for (const char* name : {"a", "b", "c"}) {
    c.join(name);
    c.settle();
  }
  c.slow("b");
  auto token = c.broadcast("a", 1);
  c.settle();
  const std::string confirmed = "confirmed " + std::to_string(token);
  CHECK_FALSE(contains(c.log("a"), confirmed));  // b's callbacks have not run
  SECTION("a node that settles is waited for") {
    // d joins: the flush gives b the message, but b's callback of it still has not run.
    c.join("d");
    c.settle();
    REQUIRE(c.at("a").view()->members.size() == 4);
    CHECK_FALSE(contains(c.log("a"), confirmed));
    // A second view change before b catches up: still waited for (b's acknowledgement of the
    // newest view says it settled them all).
    c.leave("d", 1);
    c.settle();
    REQUIRE(c.at("a").view()->members.size() == 3);
    CHECK_FALSE(contains(c.log("a"), confirmed));
    CHECK_FALSE(c.at("a").idle());
    c.catch_up("b");
    c.settle();
    CHECK(contains(c.log("a"), confirmed));
    CHECK(c.at("a").idle());
  }
  SECTION("a node that leaves the view is not waited for") {
    c.leave("b", 1);
    c.settle();
    REQUIRE(c.at("a").view()->members.size() == 2);
    CHECK(contains(c.log("a"), confirmed));
  }
  SECTION("a node of an older build, which never says it settled, is not waited for") {
    c.older_build("b", "a");
    c.join("d");
    c.settle();
    CHECK(contains(c.log("a"), confirmed));
  }
}

TEST_CASE("group node: a broadcast that waits for a node that restarts is confirmed once its old member is out",
          "[unit][multicast]") {
  Cluster c = three();
  c.slow("c");  // the old incarnation never runs its callbacks of the message
  auto token = c.broadcast("a", 1);
  c.settle();
  const std::string confirmed = "confirmed " + std::to_string(token);
  CHECK_FALSE(contains(c.log("a"), confirmed));
  const Pid new_c("c", 2, 1);
  SECTION("its new member joins the group") {
    c.restart("c", false);
    c.settle();
    c.join("c", new_c);
  }
  SECTION("its new member starts a group of its own, which merges") { c.restart("c"); }
  for (int i = 0; i < 20; ++i) {
    c.settle();
    c.advance(50'000);
  }
  c.settle();
  const auto& members = c.at("a").view()->members;
  REQUIRE(std::find(members.begin(), members.end(), new_c) != members.end());
  REQUIRE(std::find(members.begin(), members.end(), Cluster::member("c")) == members.end());
  INFO(one_line(c.log("a")));
  CHECK(contains(c.log("a"), confirmed));
}

TEST_CASE("group node: a broadcast is not confirmed while a member has not got it", "[unit][multicast]") {
  Cluster c = three();
  c.hold("c");
  auto token = c.broadcast("a", 1);
  c.settle();
  CHECK(received_from(c.log("b"), Cluster::member("a")) == std::vector<int>{1});
  CHECK_FALSE(contains(c.log("a"), "confirmed " + std::to_string(token)));
  CHECK(c.at("a").unconfirmed_bytes() > 0);
  c.release("c");
  c.settle();
  CHECK(contains(c.log("a"), "confirmed " + std::to_string(token)));
}

TEST_CASE(
    "group node: a node that takes nothing has at most a send window of the stream on its way, the rest comes "
    "from the log as it acknowledges",
    "[unit][multicast]") {
  // Small integers: one byte each in canonical form, so a window of 8 bytes is 8 messages.
  for (std::size_t window : {std::size_t{8}, kMaxSendWindowBytes}) {
    INFO("window " << window);
    Cluster c = three(window);
    c.hold("c");
    for (int i = 1; i <= 50; ++i) c.broadcast("a", i);
    c.settle();
    CHECK(received_from(c.log("b"), Cluster::member("a")) == one_to(50));  // b keeps up: its window moves
    CHECK(c.data_in_flight("a", "c") == std::min<std::size_t>(window, 50));
    c.release("c");
    c.settle();
    CHECK(received_from(c.log("c"), Cluster::member("a")) == one_to(50));
    CHECK(c.at("a").idle());  // every one confirmed
  }
}

TEST_CASE(
    "group node: what a node lacks when the publisher dies comes in Resend frames of at most 64 kB, all of it in "
    "order",
    "[unit][multicast]") {
  Cluster c = three(1000);  // c is behind by a window of about one message
  c.hold("c");
  for (int i = 0; i < 300; ++i) c.broadcast_text("a", 1000);  // 300 kB
  c.settle();
  REQUIRE(c.data_in_flight("a", "c") == 1);
  c.kill("a");  // b has it all, c one message: b retransmits the rest
  c.release("c");
  c.settle();
  std::size_t got = 0;
  for (const auto& line : c.log("c")) got += line.rfind("m " + Cluster::member("a").to_string(), 0) == 0;
  CHECK(got == 300);
  CHECK(c.resends().frames >= 5);
  CHECK(c.resends().most_bytes <= kMaxDataFrameBytes);
}

TEST_CASE("group node: a message bigger than the send window still goes, one at a time", "[unit][multicast]") {
  Cluster c = three(1);
  c.hold("c");
  for (int i = 1000; i < 1010; ++i) c.broadcast("a", i);  // 3 bytes each
  c.settle();
  CHECK(c.data_in_flight("a", "c") == 1);
  c.release("c");
  c.settle();
  CHECK(received_from(c.log("c"), Cluster::member("a")).size() == 10);
  CHECK(c.at("a").idle());
}

TEST_CASE(
    "group node: after a link came back, all the peer has not acknowledged goes again at once, past the send window",
    "[unit][multicast]") {
  // (In a view change the peer holds its deliveries and acknowledges nothing: a window that
  // waited for acknowledgements would not move, and what the flush retransmitted over the old
  // link is lost with it.) b publishes, neither b nor c coordinates: the view stays.
  Cluster c = three(8);
  c.hold("c");
  for (int i = 1; i <= 50; ++i) c.broadcast("b", i);
  c.settle();
  REQUIRE(c.data_in_flight("b", "c") == 8);
  c.reset_link("b", "c");
  CHECK(c.data_in_flight("b", "c") == 50);
  c.release("c");
  c.settle();
  CHECK(received_from(c.log("c"), Cluster::member("b")) == one_to(50));
  CHECK(c.at("b").idle());
}

TEST_CASE(
    "group node: broadcasts of two members interleaved are each confirmed once and in order, with a member leaving "
    "while they are unconfirmed",
    "[unit][multicast]") {
  Cluster c({"a", "b", "c"});
  for (auto [name, id] : std::vector<std::pair<std::string, std::uint64_t>>{{"a", 1}, {"a", 2}, {"b", 1}, {"c", 1}}) {
    c.join(name, id);
    c.settle();
  }
  // Runs of each member's broadcasts, interleaved: 1, 2 | 3 | 4, 5 | 6, 7, 8 | 9.
  std::vector<std::pair<std::uint64_t, std::uint64_t>> sent;  // (member id, token)
  for (std::uint64_t id : {1, 1, 2, 1, 1, 2, 2, 2, 1}) {
    sent.emplace_back(id, c.broadcast("a", static_cast<int>(sent.size()) + 1, id));
  }
  // c holds back: only b's and a's own acks come; nothing is stable, nothing confirmed.
  c.hold("c");
  c.settle();
  auto outcomes = [&] {
    std::vector<std::string> out;
    for (const auto& line : c.log("a")) {
      if (line.rfind("confirmed ", 0) == 0 || line.rfind("unconfirmed ", 0) == 0) out.push_back(line);
    }
    return out;
  };
  REQUIRE(outcomes().empty());
  c.leave("a", 2);  // (c acknowledges them before it answers the round: all are confirmed)
  c.release("c");
  c.settle();
  // One outcome per token (each run split and popped as its messages became stable); member
  // 1's confirmed, in token order.
  std::vector<std::string> got = outcomes();
  CHECK(got.size() == sent.size());
  std::vector<std::string> of_member_1, expected_of_member_1;
  for (const auto& line : got) {
    auto token = std::stoull(line.substr(line.find(' ') + 1));
    auto it = std::find_if(sent.begin(), sent.end(), [&](const auto& s) { return s.second == token; });
    REQUIRE(it != sent.end());
    if (it->first == 1) of_member_1.push_back(line);
  }
  for (const auto& [id, token] : sent) {
    if (id == 1) expected_of_member_1.push_back("confirmed " + std::to_string(token));
  }
  CHECK(of_member_1 == expected_of_member_1);
  for (const auto& [id, token] : sent) {
    INFO("token " << token);
    auto count = std::count_if(got.begin(), got.end(), [&, t = token](const std::string& line) {
      return line == "confirmed " + std::to_string(t) || line == "unconfirmed " + std::to_string(t);
    });
    CHECK(count == 1);
  }
  CHECK(c.at("a").idle());
}

TEST_CASE(
    "group node: when the publisher's node dies the survivors end its stream at the same prefix, "
    "before the view without it",
    "[unit][multicast]") {
  Cluster c = three();
  c.hold("b");
  for (int i = 1; i <= 10; ++i) c.broadcast("c", i);
  c.settle();  // a has all ten; b none yet
  REQUIRE(received_from(c.log("a"), Cluster::member("c")) == one_to(10));
  c.kill("c");  // what was in flight to b is lost with c
  c.release("b");
  c.settle();
  for (const char* name : {"a", "b"}) {
    INFO("node " << name);
    const auto& log = c.log(name);
    CHECK(received_from(log, Cluster::member("c")) == one_to(10));
    // The messages come before the view that says c went.
    auto last_message = std::find(log.begin(), log.end(), "m " + Cluster::member("c").to_string() + " 10");
    auto view = std::find_if(last_message, log.end(), [](const std::string& l) { return l.rfind("view", 0) == 0; });
    CHECK(view != log.end());
  }
}

TEST_CASE(
    "group node: a broadcast during a view change waits for the next view, a joiner gets nothing from "
    "before its first view",
    "[unit][multicast]") {
  Cluster c({"a", "b", "c"});
  c.join("a");
  c.settle();
  c.join("b");
  c.settle();
  c.broadcast("a", 1);
  c.settle();
  c.hold("b");
  c.join("c");
  c.hold("c");
  c.settle();           // the JOIN reaches a, whose round starts: publishing pauses...
  c.broadcast("a", 2);  // ...so this one waits for the view with c
  c.release("b");
  c.release("c");
  c.settle();
  CHECK(received_from(c.log("b"), Cluster::member("a")) == std::vector<int>{1, 2});
  CHECK(received_from(c.log("c"), Cluster::member("a")) == std::vector<int>{2});
  auto first = std::find_if(c.log("c").begin(), c.log("c").end(),
                            [](const std::string& l) { return l.rfind("installed", 0) != 0; });
  REQUIRE(first != c.log("c").end());
  CHECK(first->rfind("joined", 0) == 0);
}

TEST_CASE("group node: after a link came back within a view, the publisher sends again what the peer lacks",
          "[unit][multicast]") {
  // b publishes; its link to c drops and comes back (neither is the coordinator, a: the view
  // does not change).
  Cluster c = three();
  c.broadcast("b", 1);
  c.settle();
  c.hold("c");
  c.broadcast("b", 2);  // on its way to c when the link drops: lost with it
  c.broadcast("b", 3);
  c.reset_link("b", "c");
  c.release("c");
  c.broadcast("b", 4);
  c.settle();  // (a gap would fail here: settle requires no protocol error)
  for (const char* name : {"a", "c"}) {
    INFO("node " << name);
    CHECK(received_from(c.log(name), Cluster::member("b")) == one_to(4));
    CHECK(c.at(name).view()->members.size() == 3);
  }
  CHECK(c.at("b").idle());  // every one confirmed
}

TEST_CASE(
    "group node: a follower that answered the FLUSH and lost its coordinator before the INSTALL goes on with "
    "nothing of the old view (virtual synchrony)",
    "[unit][multicast]") {
  // The round may have installed without it knowing: until it knows, it neither publishes nor
  // delivers past the flush in the old view. (The storm found a node that did: its members
  // received in a view messages that the others, who installed the same next view, never got.)
  Cluster c = three();
  c.join("a", 2);  // a round: a second member on a
  c.hold("a");
  c.settle();  // the PREPAREs are answered (the answers wait at a)
  c.release("a");
  c.hold("c");
  c.settle();  // the FLUSH: b answers, c's waits
  c.hold("a");
  c.release("c");
  c.settle();  // c answers its FLUSH (the answer waits at a)
  c.hold("c");
  c.release("a");
  c.settle();  // a and b install v4; the INSTALL to c waits
  REQUIRE(c.at("a").view()->id.number == 4);
  REQUIRE(c.at("c").view()->id.number == 3);
  c.drop_link("a", "c");  // the INSTALL is lost with the link
  c.release("c");
  c.broadcast("c", 1);  // c's member publishes while c cannot tell whether v4 installed
  c.settle();
  c.restore_link("a", "c");
  c.settle();
  for (int i = 0; i < 5 && c.at("c").view()->id.number < 4; ++i) {
    c.advance(100'000);
    c.settle();
  }
  for (const char* name : {"a", "b", "c"}) {
    INFO("node " << name << ": " << one_line(c.log(name)));
    const auto& log = c.log(name);
    auto v4 = std::find_if(log.begin(), log.end(), [](const std::string& l) { return l == "installed v4"; });
    REQUIRE(v4 != log.end());
    auto m1 = std::find(log.begin(), log.end(), "m " + Cluster::member("c").to_string() + " 1");
    CHECK((m1 != log.end() && m1 > v4));  // received in v4, by every member alike
  }
}

TEST_CASE("group node: a coordinator's node restarted under the same name is not taken for its old self",
          "[unit][multicast]") {
  Cluster c = three();
  REQUIRE(c.at("a").view()->members.size() == 3);
  c.restart("a");  // the coordinator's node, down and up again (creation 2) with a member of its own
  for (int i = 0; i < 20; ++i) {
    c.settle();
    c.advance(50'000);
  }
  c.settle();
  // The dead incarnation's member is out; the new one's is in, by a merge: one view on all.
  const Pid old_a = Cluster::member("a"), new_a("a", 2, 1);
  for (const char* name : {"a", "b", "c"}) {
    INFO("node " << name);
    REQUIRE(c.at(name).view());
    const auto& members = c.at(name).view()->members;
    CHECK(std::find(members.begin(), members.end(), old_a) == members.end());
    CHECK(std::find(members.begin(), members.end(), new_a) != members.end());
    CHECK(c.at(name).view()->id == c.at("b").view()->id);
  }
}

TEST_CASE("group node: a gap in a stream or a stranger's message is a protocol error", "[unit][multicast]") {
  Cluster c = three();
  ViewId view = c.at("b").view()->id;
  wire::multicast::Data gap{view, 2, {{1, wire::canonical(Term(1))}}};
  CHECK(c.inject("a", "b", gap).protocol_error == "a gap in a stream");
  wire::multicast::Data stranger{view, 1, {{99, wire::canonical(Term(1))}}};
  CHECK(c.inject("a", "b", stranger).protocol_error == "a message of a member not in the view");
  // The next message of the stream is fine (nothing was kept of the bad ones).
  wire::multicast::Data next{view, 1, {{1, wire::canonical(Term(1))}}};
  CHECK(c.inject("a", "b", next).protocol_error.empty());
}

TEST_CASE("group node: its own stream resent to a node is no error and delivers nothing (a flush's stale digest)",
          "[unit][multicast]") {
  Cluster c = three();
  c.broadcast("b", 1);
  c.settle();
  ViewId view = c.at("b").view()->id;
  wire::multicast::Resend own{view, Cluster::node("b"), 1, {{1, wire::canonical(Term(1))}}};
  Effects fx = c.inject("a", "b", own);
  CHECK(fx.protocol_error.empty());
  CHECK(fx.events.empty());
}

namespace {

/// A seeded random run of the data path: members join and leave, publish numbered messages,
/// nodes die, links deliver in a random order across links and in order within each. Every
/// node's log is checked for SPEC 8.2: per publisher, messages in publish order and each at
/// most once; two nodes that installed the same view and then the same next view delivered the
/// same messages in it (virtual synchrony).
class RandomGroupRun {
 public:
  explicit RandomGroupRun(std::uint64_t seed) : state_(seed) {
    // SYN_GROUP_TRACE=seed prints that seed's frames, installs and deliveries.
    if (const char* t = std::getenv("SYN_GROUP_TRACE")) trace_ = std::strtoull(t, nullptr, 10) == seed;
    for (int i = 0; i < kNodes; ++i) {
      names_.push_back("g" + std::to_string(i));
      NodeId id = Cluster::node(names_.back());
      nodes_.try_emplace(id, id, std::chrono::milliseconds(100));
    }
    for (auto& [id, group] : nodes_) {
      for (auto& [other, unused] : nodes_) {
        if (other != id) take(id, group.peer_up(other, now_));
      }
    }
  }

  void run(int steps) {
    for (int step = 0; step < steps; ++step) {
      auto roll = below(100);
      NodeId id = Cluster::node(names_[below(kNodes)]);
      if (dead_.count(id)) continue;
      auto& group = nodes_.at(id);
      if (roll < 8) {
        Pid member(node_name(id), 1, ++next_member_);
        local_[id].push_back(member);
        take(id, group.join(member, now_));
      } else if (roll < 11 && !local_[id].empty()) {
        Pid member = local_[id][below(local_[id].size())];
        std::erase(local_[id], member);
        take(id, group.leave(member, LeaveReason::left, now_));
      } else if (roll < 12 && dead_.empty()) {
        kill(id);
      } else if (roll < 40 && !local_[id].empty()) {
        Pid member = local_[id][below(local_[id].size())];
        Effects fx;
        group.broadcast(member, wire::canonical(Term(++published_[member])), fx);
        take(id, std::move(fx));
      } else if (roll < 45) {
        now_ += static_cast<Micros>(below(60'000));
        for (auto& [n, g] : nodes_) {
          if (!dead_.count(n)) take(n, g.tick(now_));
        }
      } else {
        deliver_one();
      }
    }
    for (int round = 0; round < 50; ++round) {
      for (int i = 0; i < 100'000 && !links_.empty(); ++i) deliver_one();
      now_ += 200'000;
      for (auto& [n, g] : nodes_) {
        if (!dead_.count(n)) take(n, g.tick(now_));
      }
    }
  }

  std::vector<std::string> check() const {
    std::vector<std::string> broken = no_view_deliveries_;
    // Per node: per publisher, strictly increasing.
    for (const auto& [node, segments] : delivered_) {
      std::map<Pid, std::int64_t> last;
      for (const auto& [view, messages] : segments) {
        for (const auto& [from, value] : messages) {
          auto& l = last[from];
          if (value <= l) broken.push_back(node_name(node) + " got " + from.to_string() + "'s messages out of order");
          l = value;
        }
      }
    }
    // Virtual synchrony: the same view followed by the same next view, the same messages.
    for (const auto& [a, sa] : delivered_) {
      for (const auto& [b, sb] : delivered_) {
        if (a >= b) continue;
        for (std::size_t i = 0; i + 1 < sa.size(); ++i) {
          for (std::size_t j = 0; j + 1 < sb.size(); ++j) {
            // (A node that holds no view next left the group: nothing is promised about it.)
            if (sa[i].first != sb[j].first || sa[i + 1].first != sb[j + 1].first || sa[i].first.number == 0 ||
                sa[i + 1].first.number == 0) {
              continue;
            }
            auto ma = sa[i].second, mb = sb[j].second;
            std::sort(ma.begin(), ma.end());
            std::sort(mb.begin(), mb.end());
            if (ma != mb && trace_) {
              for (const auto& [f, v] : sa[i].second) std::cout << "a " << f << " " << v << "\n";
              for (const auto& [f, v] : sb[j].second) std::cout << "b " << f << " " << v << "\n";
            }
            if (ma != mb) {
              broken.push_back(node_name(a) + " and " + node_name(b) + " got different messages in view " +
                               std::to_string(sa[i].first.number));
            }
          }
        }
      }
    }
    return broken;
  }

 private:
  static constexpr int kNodes = 4;
  static std::string node_name(NodeId id) { return syn::detail::node_name_of(id); }
  std::uint64_t below(std::uint64_t n) {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state_ >> 33) % n;
  }

  void kill(NodeId dead) {
    if (trace_) std::cout << "kill " << node_name(dead) << "\n";
    dead_.insert(dead);
    std::erase_if(links_, [&](const auto& l) { return l.first.first == dead || l.first.second == dead; });
    for (auto& [id, group] : nodes_) {
      if (!dead_.count(id)) take(id, group.peer_down(dead, now_));
    }
  }

  void deliver_one() {
    if (links_.empty()) return;
    auto it = links_.begin();
    std::advance(it, static_cast<std::ptrdiff_t>(below(links_.size())));
    auto [from, to] = it->first;
    Body body = std::move(it->second.front());
    it->second.pop_front();
    if (it->second.empty()) links_.erase(it);
    if (dead_.count(to)) return;
    if (trace_) {
      static const char* kinds[] = {"protocol", "data", "resend", "ack", "stable", "announce"};
      std::string what = kinds[body.index()];
      if (const auto* m = std::get_if<wire::multicast::Message>(&body)) what += " #" + std::to_string(m->index());
      if (const auto* d = std::get_if<wire::multicast::Data>(&body)) {
        what += " v" + std::to_string(d->view.number) + " from " + std::to_string(d->first) + " n " +
                std::to_string(d->messages.size());
      }
      if (const auto* r = std::get_if<wire::multicast::Resend>(&body)) {
        what += " v" + std::to_string(r->view.number) + " from " + std::to_string(r->first) + " n " +
                std::to_string(r->messages.size());
      }
      std::cout << node_name(from) << " -> " << node_name(to) << ": " << what << "\n";
    }
    Effects fx = nodes_.at(to).receive(from, body, now_);
    INFO(node_name(from) << " -> " << node_name(to) << ": " << fx.protocol_error);
    REQUIRE(fx.protocol_error.empty());
    take(to, std::move(fx));
    take(to, nodes_.at(to).send_acks());
  }

  void take(NodeId self, Effects fx) {
    if (trace_) {
      for (const auto& event : fx.events) {
        if (const auto* i = std::get_if<Installed>(&event)) {
          std::cout << node_name(self) << " installs "
                    << (i->view ? "v" + std::to_string(i->view->id.number) : std::string("none")) << "\n";
        } else if (const auto* d = std::get_if<Delivered>(&event)) {
          std::cout << node_name(self) << " delivers " << d->from << " " << wire::decode_canonical(d->message) << "\n";
        }
      }
    }
    for (auto& out : fx.out) links_[{self, out.to}].push_back(std::move(out.body));
    report_processed(nodes_.at(self), fx);
    auto& segments = delivered_[self];
    for (const auto& event : fx.events) {
      if (const auto* installed = std::get_if<Installed>(&event)) {
        // A new view here: what follows belongs to it.
        segments.emplace_back(installed->view ? installed->view->id : ViewId{},
                              std::vector<std::pair<Pid, std::int64_t>>{});
      }
      const auto* d = std::get_if<Delivered>(&event);
      if (!d) continue;
      REQUIRE_FALSE(segments.empty());  // nothing is delivered before a first view
      if (segments.back().first.number == 0)
        no_view_deliveries_.push_back(node_name(self) + " delivered without a view");
      segments.back().second.emplace_back(d->from, wire::decode_canonical(d->message).get<std::int64_t>());
    }
    if (fx.announce) {
      for (auto& [id, unused] : nodes_) {
        if (id != self && !dead_.count(id)) links_[{self, id}].push_back(nodes_.at(self).announcement());
      }
    }
  }

  std::uint64_t state_;
  bool trace_ = false;
  Micros now_ = 0;
  std::vector<std::string> names_;
  std::map<NodeId, GroupNode> nodes_;
  std::map<std::pair<NodeId, NodeId>, std::deque<Body>> links_;
  std::map<NodeId, std::vector<Pid>> local_;
  std::map<Pid, std::int64_t> published_;
  /// Per node, the messages delivered in each view it installed, in order.
  std::map<NodeId, std::vector<std::pair<ViewId, std::vector<std::pair<Pid, std::int64_t>>>>> delivered_;
  std::set<NodeId> dead_;
  std::uint64_t next_member_ = 0;
  std::vector<std::string> no_view_deliveries_;
};

}  // namespace

TEST_CASE("group node: random joins, leaves, broadcasts and a death keep per-publisher order and virtual synchrony",
          "[unit][multicast]") {
  std::uint64_t seeds = 300;
  if (const char* n = std::getenv("SYN_GROUP_SEEDS")) seeds = std::strtoull(n, nullptr, 10);
  for (std::uint64_t seed = 1; seed <= seeds; ++seed) {
    INFO("seed " << seed);
    RandomGroupRun run(seed);
    run.run(600);
    auto broken = run.check();
    for (const auto& line : broken) FAIL_CHECK(line);
    if (!broken.empty()) break;
  }
}
