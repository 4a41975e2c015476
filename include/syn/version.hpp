#pragma once
/// \file
/// Library and protocol versions.

namespace syn {

/// Version of the library.
inline constexpr const char* version = "0.1.0";
/// Newest version of the wire protocol this build speaks. Two nodes link over the highest
/// version both speak (the handshake carries each node's range), so a cluster can be upgraded
/// one node at a time; nodes without a version in common refuse each other.
///
/// 1: the first protocol. 2: the hello carries the sender's range of versions; a discover
/// for a scope the receiver does not run is answered with not_here (readiness stops waiting).
/// 3: counted group calls (Groups::join_counted / leave_counted). 4: heartbeats go on the
/// connection the peer dialled, where no data queues before them (a node far behind on its
/// input still hears that its peers live). 5: those heartbeats say how many bytes the node has
/// read from the peer, which bounds what waits unread between them (NodeOptions::max_link_backlog).
/// 6: a multicast node acknowledges each view once its members' callbacks of the views before
/// it ran, so a broadcast confirmed across a view change reached every callback (SPEC 8.3.2).
inline constexpr unsigned protocol_version = 6;
/// Oldest version of the wire protocol this build still speaks.
inline constexpr unsigned oldest_protocol_version = 1;

}  // namespace syn
