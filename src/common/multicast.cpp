// The multicast value types' functions (include/syn/multicast.hpp).
#include <syn/multicast.hpp>

namespace syn {

std::string_view to_string(LeaveReason reason) {
  switch (reason) {
    case LeaveReason::left: return "left";
    case LeaveReason::process_exit: return "process_exit";
    case LeaveReason::node_down: return "node_down";
    case LeaveReason::evicted: return "evicted";
  }
  return "unknown";
}

}  // namespace syn
