#include "wire/pid_codec.hpp"

#include <stdexcept>
#include <string_view>

namespace syn::wire {

void pack_pid(msgpack::packer<OutBuffer>& p, const Pid& pid) {
  p.pack_array(3);
  const std::string& node = pid.node();
  p.pack_str(static_cast<std::uint32_t>(node.size()));
  p.pack_str_body(node.data(), static_cast<std::uint32_t>(node.size()));
  p.pack_uint32(pid.creation());
  p.pack_uint64(pid.id());
}

std::uint32_t decode_node(const Fields& f, std::size_t i) {
  std::string_view name = f.str(i);
  if (name.empty() || name.size() > kMaxNodeName) f.fail(i, "is not a node name");
  // Interned for good (a view names members of nodes this one may never have linked with).
  try {
    return syn::detail::intern_node_name(name);
  } catch (const std::length_error&) { f.fail(i, "is one node name too many"); }
}

Pid decode_pid(const Fields& f, std::size_t i) {
  Fields p = f.array(i, "pid");
  if (p.size() != 3) p.fail(p.size(), "has the wrong number of fields");
  std::uint32_t atom = decode_node(p, 0);
  return Pid::from_atom(atom, p.u32(1), p.u64(2));
}

}  // namespace syn::wire
