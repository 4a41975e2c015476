#include <syn/pid.hpp>

#include <charconv>
#include <ostream>

namespace syn {

std::string Pid::to_string() const {
  std::string out;
  out.reserve(node().size() + 24);
  out.append("<")
      .append(node())
      .append(".")
      .append(std::to_string(creation_))
      .append(".")
      .append(std::to_string(id_))
      .append(">");
  return out;
}

namespace {
template <class Int>
bool parse_number(std::string_view text, Int& value) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc() && end == text.data() + text.size();
}
}  // namespace

std::optional<Pid> Pid::parse(std::string_view text) {
  if (text.size() < 5 || text.front() != '<' || text.back() != '>') return std::nullopt;
  text = text.substr(1, text.size() - 2);
  // Node names may contain dots: the last two dots separate creation and id.
  auto id_dot = text.rfind('.');
  if (id_dot == std::string_view::npos || id_dot == 0) return std::nullopt;
  auto creation_dot = text.rfind('.', id_dot - 1);
  if (creation_dot == std::string_view::npos) return std::nullopt;
  std::uint32_t creation = 0;
  std::uint64_t id = 0;
  if (!parse_number(text.substr(creation_dot + 1, id_dot - creation_dot - 1), creation) ||
      !parse_number(text.substr(id_dot + 1), id)) {
    return std::nullopt;
  }
  return Pid(text.substr(0, creation_dot), creation, id);
}

std::ostream& operator<<(std::ostream& out, const Pid& pid) { return out << pid.to_string(); }

void to_json(Term& term, const Pid& pid) { term = pid.to_string(); }

void from_json(const Term& term, Pid& pid) {
  if (term.is_string()) {
    if (auto parsed = Pid::parse(term.get_ref<const std::string&>())) {
      pid = *parsed;
      return;
    }
  }
  throw nlohmann::json::type_error::create(302, "not a pid: " + term.dump(), &term);
}

}  // namespace syn
