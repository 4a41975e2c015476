#pragma once
// The message streams of one multicast group on one node, for the view installed there: one
// stream per publishing node of the view, numbered from 1 in each view. This node keeps every
// message of every stream (its own and the others') until it is stable (every node of the view
// has it), so that any survivor can retransmit what another lacks when the view changes (the
// flush). Pure bookkeeping: no threads, no sockets; the handler calls it on the engine thread.
//
// What it answers: the next number of this node's stream and the bytes not yet stable (flow
// control, SPEC 8.3.3); whether a received message is the next of its stream, a duplicate or
// a gap (a protocol error: links are FIFO and lossless while up); the digest and the flush
// check the view machine reads (StreamState); the messages a retransmission sends; the
// cumulative acknowledgements and the stable point of each stream.
//
// Memory (MULTICAST.md: at most 32 bytes beside the term per buffered message): a stream keeps
// the bytes of its messages one after the other in a single byte log, and per message only a
// 16-byte record (where its bytes end, when it came to the millisecond, and its member as an
// index in the stream's few members). A string per message
// would cost a heap block of its own, about 80 bytes for a 64-byte term, beside a 48-byte
// record: 131 bytes over the term, measured (docs/benchmarks.md).
#include "common/byte_log.hpp"
#include "multicast/view_machine.hpp"

#include <algorithm>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace syn::detail::multicast {

using wire::multicast::Published;

class Streams final : public StreamState {
 public:
  /// A new view: every stream starts empty, numbered from 1. `nodes` are the view's nodes
  /// (this one included); stability waits for each of them.
  void reset(NodeId self, std::vector<NodeId> nodes);

  /// This node publishes `message` (a member's, encoded) at time `now`: its number in this
  /// node's stream.
  std::uint64_t publish(const Published& message, Micros now = 0);

  /// What receive() found.
  enum class Received { next, duplicate, gap };
  /// A message of `stream` numbered `seq`: kept when it is the next one, a duplicate when
  /// already held (a retransmission overlapping what arrived), a gap otherwise (nothing kept).
  /// `now`: when it arrived (waited()).
  Received receive(NodeId stream, std::uint64_t seq, const Published& message, Micros now = 0);

  /// This node's members received (their callbacks ran) `stream` up to `upto`: what this node
  /// acknowledges. Receipt alone is not enough: a message is stable, and its broadcast
  /// confirmed, once every member of the view received it (SPEC 8.3.2), so a slow member
  /// holds its publisher back (flow control) instead of piling messages up unseen.
  void processed(NodeId stream, std::uint64_t upto);
  /// What this node acknowledges: per stream, the highest number its members received.
  Digest processed_digest() const;

  /// Node `from` received `stream` up to `upto` (cumulative; an older acknowledgement changes
  /// nothing). Returns true when the stream's stable point moved.
  bool acknowledge(NodeId from, NodeId stream, std::uint64_t upto);
  /// Every node of the view received `stream` up to this number; what is at or below it is gone
  /// from this node's buffers.
  std::uint64_t stable(NodeId stream) const;
  /// What node `from` acknowledged of `stream` (0 when nothing).
  std::uint64_t acked_by(NodeId from, NodeId stream) const;
  /// Drops what every node holds (the buffers of stable messages).
  void collect();

  /// Messages of `stream` after `after` up to `last`, in order (a retransmission). Empty when
  /// this node no longer holds them all.
  std::vector<Published> range(NodeId stream, std::uint64_t after, std::uint64_t last) const;
  /// How long message `seq` of `stream` has been here at `now` since it was published or
  /// received, to the millisecond (as long as that is under 49 days); none once it is stable
  /// and collected, or not held yet (how long a node has left it unacknowledged). `now` comes
  /// from the same monotonic clock as the times given to publish and receive: an earlier one
  /// would wrap to 49 days.
  std::optional<Micros> waited(NodeId stream, std::uint64_t seq, Micros now) const;
  /// This node's stream to `node`, as far as a send window allows: from where it went (or what
  /// `node` acknowledged, when more), the next messages while the bytes past its
  /// acknowledgement stay within `window` (one goes all the same when none is on its way).
  /// Returns (from, to): numbers from + 1 to to are now counted as sent; none when equal.
  std::pair<std::uint64_t, std::uint64_t> advance_sent(NodeId node, std::size_t window);
  /// This node's stream went to `node` up to `upto` (a link that came back: what it
  /// acknowledged).
  void set_sent(NodeId node, std::uint64_t upto);
  /// Bytes of this node's own messages not yet stable (flow control): its stream's log.
  std::size_t own_unstable_bytes() const;
  /// The nodes of the view (this one included), as reset() gave them.
  const std::vector<NodeId>& nodes() const { return nodes_; }
  bool has_node(NodeId node) const { return std::find(nodes_.begin(), nodes_.end(), node) != nodes_.end(); }
  /// The highest number held without a gap, 0 when none.
  std::uint64_t held(NodeId stream) const;

  // ---- StreamState (the view machine) ----
  Digest digest() const override;
  bool holds(const std::vector<StreamEnd>& ends) const override;

 private:
  /// A message kept until it is stable, in 16 bytes. Its bytes are in its stream's `bytes`,
  /// from where the message before it ends (or the stream's `base`) up to `end`.
  struct Kept {
    std::uint64_t end = 0;      ///< position in the stream's byte log just after this message
    std::uint32_t arrived = 0;  ///< when it came, in milliseconds, modulo 2^32 (millis())
    std::uint32_t member = 0;   ///< its member: an index in the stream's `members`
  };
  static_assert(sizeof(Kept) == 16, "a kept message's record stays at 16 bytes (MULTICAST.md memory target)");
  /// `t` in milliseconds, modulo 2^32: Kept::arrived. Differences of two stay right for 49 days.
  static std::uint32_t millis(Micros t) { return static_cast<std::uint32_t>(static_cast<std::uint64_t>(t) / 1000); }
  struct Stream {
    std::uint64_t held = 0;  ///< contiguous from 1
    /// Not yet stable, in order: numbers held - kept.size() + 1 up to held (a stream grows by
    /// its next number only, and shrinks from its oldest: a flat buffer, no node per message).
    std::deque<Kept> kept;
    /// The bytes of the kept messages, oldest first; `bytes[0]` is at position `base` of the
    /// stream's byte log (every byte the stream ever kept, counted from 0).
    ByteLog bytes;
    std::uint64_t base = 0;
    /// The members whose messages it holds (their ids), each once: few per node and view,
    /// where a record per message would repeat an 8-byte id.
    std::vector<std::uint64_t> members;
    std::map<NodeId, std::uint64_t> acked;  ///< per node of the view
    std::map<NodeId, std::uint64_t> sent;   ///< this node's own stream: how far it went to each node

    /// Where message `seq`'s bytes end in the stream's byte log (`base` for one collected).
    std::uint64_t end_of(std::uint64_t seq) const {
      auto i = index(seq);
      if (i) return kept[*i].end;
      return seq > held ? base + bytes.size() : base;
    }

    /// The index in `kept` of message `seq`, or none when it is not held.
    std::optional<std::size_t> index(std::uint64_t seq) const {
      std::uint64_t first = held - kept.size() + 1;
      if (seq < first || seq > held) return std::nullopt;
      return static_cast<std::size_t>(seq - first);
    }
    /// Appends a message: its bytes to the log, its record to `kept`.
    void keep(const Published& message, Micros now);
    /// The index of member `id` in `members`, added when new.
    std::uint32_t member_index(std::uint64_t id);
    /// Drops the oldest message, its bytes with it.
    void drop_oldest();
    /// The message at index `i` of `kept`, copied out.
    Published message(std::size_t i) const;
  };
  Stream& stream(NodeId node) { return streams_[node]; }

  NodeId self_ = 0;
  std::vector<NodeId> nodes_;
  std::map<NodeId, Stream> streams_;
};

}  // namespace syn::detail::multicast
