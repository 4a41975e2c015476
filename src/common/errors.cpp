#include <syn/errors.hpp>

#include <ostream>

namespace syn {

std::string_view to_string(Errc code) {
  switch (code) {
    case Errc::taken: return "taken";
    case Errc::not_alive: return "not_alive";
    case Errc::undefined: return "undefined";
    case Errc::race_condition: return "race_condition";
    case Errc::not_self: return "not_self";
    case Errc::not_in_group: return "not_in_group";
    case Errc::invalid_scope: return "invalid_scope";
    case Errc::invalid_remote_scope: return "invalid_remote_scope";
    case Errc::timeout: return "timeout";
    case Errc::node_down: return "node_down";
    case Errc::bad_argument: return "bad_argument";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& out, Errc code) { return out << to_string(code); }

Error::Error(Errc code, const std::string& message)
    : std::runtime_error(std::string(to_string(code)) + ": " + message), code_(code) {}

}  // namespace syn
