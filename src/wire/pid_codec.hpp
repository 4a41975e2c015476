#pragma once
// A pid on the wire whole, [node name, creation, id], for messages that name pids of other
// nodes than the sender's: multicast views, and the holder of a name a registration found
// taken. (A node's own pids travel as their local id alone.)
#include "wire/buffer.hpp"
#include "wire/fields.hpp"

#include <syn/pid.hpp>

#include <msgpack.hpp>

#include <cstddef>
#include <cstdint>

namespace syn::wire {

/// The longest node name a pid on the wire may carry (names are interned on receipt).
inline constexpr std::size_t kMaxNodeName = 255;

void pack_pid(msgpack::packer<OutBuffer>& p, const Pid& pid);
/// Field `i` of `f` as a node name, interned for good (the table is bounded: past its bound
/// the message is refused). Throws DecodeError.
std::uint32_t decode_node(const Fields& f, std::size_t i);
/// Field `i` of `f` as a whole pid. Throws DecodeError.
Pid decode_pid(const Fields& f, std::size_t i);

}  // namespace syn::wire
