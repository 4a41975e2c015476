#include "multicast/streams.hpp"

#include <algorithm>
#include <limits>

namespace syn::detail::multicast {

void Streams::reset(NodeId self, std::vector<NodeId> nodes) {
  self_ = self;
  nodes_ = std::move(nodes);
  streams_.clear();
}

void Streams::Stream::keep(const Published& message, Micros now) {
  bytes.append(message.message);
  kept.push_back(Kept{base + bytes.size(), millis(now), member_index(message.member)});
}

std::uint32_t Streams::Stream::member_index(std::uint64_t id) {
  // A burst comes from one member mostly: the latest first.
  if (!kept.empty() && members[kept.back().member] == id) return kept.back().member;
  auto it = std::find(members.begin(), members.end(), id);
  if (it != members.end()) return static_cast<std::uint32_t>(it - members.begin());
  members.push_back(id);
  return static_cast<std::uint32_t>(members.size() - 1);
}

void Streams::Stream::drop_oldest() {
  bytes.drop_front(static_cast<std::size_t>(kept.front().end - base));
  base = kept.front().end;
  kept.pop_front();
}

Published Streams::Stream::message(std::size_t i) const {
  std::uint64_t start = i == 0 ? base : kept[i - 1].end;
  return Published{members[kept[i].member],
                   bytes.copy(static_cast<std::size_t>(start - base), static_cast<std::size_t>(kept[i].end - start))};
}

std::uint64_t Streams::publish(const Published& message, Micros now) {
  Stream& own = stream(self_);
  std::uint64_t seq = ++own.held;
  own.keep(message, now);
  return seq;
}

Streams::Received Streams::receive(NodeId from, std::uint64_t seq, const Published& message, Micros now) {
  Stream& s = stream(from);
  if (seq <= s.held) return Received::duplicate;
  if (seq != s.held + 1) return Received::gap;
  s.held = seq;
  s.keep(message, now);
  return Received::next;
}

std::optional<Micros> Streams::waited(NodeId stream_node, std::uint64_t seq, Micros now) const {
  auto it = streams_.find(stream_node);
  if (it == streams_.end()) return std::nullopt;
  auto i = it->second.index(seq);
  if (!i) return std::nullopt;
  std::uint32_t elapsed = millis(now) - it->second.kept[*i].arrived;  // modulo 2^32, as stored
  return static_cast<Micros>(elapsed) * 1000;
}

bool Streams::acknowledge(NodeId from, NodeId stream_node, std::uint64_t upto) {
  if (std::find(nodes_.begin(), nodes_.end(), from) == nodes_.end()) return false;
  Stream& s = stream(stream_node);
  std::uint64_t before = stable(stream_node);
  auto& acked = s.acked[from];
  acked = std::max(acked, upto);
  return stable(stream_node) != before;
}

void Streams::processed(NodeId stream_node, std::uint64_t upto) {
  Stream& s = stream(stream_node);
  auto& acked = s.acked[self_];
  acked = std::max(acked, std::min(upto, s.held));
}

Digest Streams::processed_digest() const {
  Digest out;
  for (const auto& [node, s] : streams_) {
    auto a = s.acked.find(self_);
    if (a != s.acked.end() && a->second > 0) out[node] = a->second;
  }
  return out;
}

std::uint64_t Streams::stable(NodeId stream_node) const {
  auto it = streams_.find(stream_node);
  if (it == streams_.end() || nodes_.empty()) return 0;
  std::uint64_t low = std::numeric_limits<std::uint64_t>::max();
  for (NodeId node : nodes_) {
    auto a = it->second.acked.find(node);
    low = std::min(low, a == it->second.acked.end() ? 0 : a->second);
  }
  return low;
}

std::uint64_t Streams::acked_by(NodeId from, NodeId stream_node) const {
  auto it = streams_.find(stream_node);
  if (it == streams_.end()) return 0;
  auto a = it->second.acked.find(from);
  return a == it->second.acked.end() ? 0 : a->second;
}

void Streams::collect() {
  for (auto& [node, s] : streams_) {
    std::uint64_t upto = stable(node);
    while (!s.kept.empty() && s.held - s.kept.size() + 1 <= upto) s.drop_oldest();
  }
}

std::size_t Streams::own_unstable_bytes() const {
  auto it = streams_.find(self_);
  return it == streams_.end() ? 0 : it->second.bytes.size();
}

std::pair<std::uint64_t, std::uint64_t> Streams::advance_sent(NodeId node, std::size_t window) {
  // Not stream(self_): a node that never published in this view has no stream to make (an
  // empty one costs its deque's first block, about 600 bytes, per group and node at each tick).
  auto it = streams_.find(self_);
  if (it == streams_.end()) return {0, 0};
  Stream& own = it->second;
  auto a = own.acked.find(node);
  const std::uint64_t acked = a == own.acked.end() ? 0 : a->second;
  std::uint64_t& sent = own.sent[node];
  const std::uint64_t from = std::max(sent, acked);
  const std::uint64_t acked_end = own.end_of(acked);
  std::uint64_t to = from;
  while (to < own.held && (own.end_of(to) == acked_end || own.end_of(to + 1) - acked_end <= window)) ++to;
  sent = to;
  return {from, to};
}

void Streams::set_sent(NodeId node, std::uint64_t upto) {
  auto it = streams_.find(self_);
  if (it != streams_.end()) it->second.sent[node] = upto;  // (none: nothing published, nothing sent)
}

std::vector<Published> Streams::range(NodeId stream_node, std::uint64_t after, std::uint64_t last) const {
  std::vector<Published> out;
  auto it = streams_.find(stream_node);
  if (it == streams_.end() || last > it->second.held) return {};
  for (std::uint64_t seq = after + 1; seq <= last; ++seq) {
    auto i = it->second.index(seq);
    if (!i) return {};  // already collected: every node held it
    out.push_back(it->second.message(*i));
  }
  return out;
}

std::uint64_t Streams::held(NodeId stream_node) const {
  auto it = streams_.find(stream_node);
  return it == streams_.end() ? 0 : it->second.held;
}

Digest Streams::digest() const {
  Digest out;
  for (const auto& [node, s] : streams_) {
    if (s.held > 0) out[node] = s.held;
  }
  return out;
}

bool Streams::holds(const std::vector<StreamEnd>& ends) const {
  return std::all_of(ends.begin(), ends.end(), [&](const StreamEnd& end) { return held(end.stream) >= end.last; });
}

}  // namespace syn::detail::multicast
