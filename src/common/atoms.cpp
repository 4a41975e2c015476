// Interned node names: Pid holds a 32-bit index; the names live for the program's life.
#include <syn/pid.hpp>

#include <deque>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

namespace syn::detail {
namespace {

struct AtomTable {
  std::shared_mutex mutex;
  std::deque<std::string> names{std::string{}};  // index 0 is the empty name (null pid)
  std::unordered_map<std::string_view, std::uint32_t> index{{std::string_view{}, 0}};
};

AtomTable& table() {
  static AtomTable* instance = new AtomTable;  // never destroyed: pids may outlive statics
  return *instance;
}

}  // namespace

std::uint32_t intern_node_name(std::string_view name) {
  auto& t = table();
  {
    std::shared_lock lock(t.mutex);
    if (auto it = t.index.find(name); it != t.index.end()) return it->second;
  }
  std::unique_lock lock(t.mutex);
  if (auto it = t.index.find(name); it != t.index.end()) return it->second;
  auto atom = static_cast<std::uint32_t>(t.names.size());
  const std::string& stored = t.names.emplace_back(name);  // deque: references stay valid
  t.index.emplace(std::string_view(stored), atom);
  return atom;
}

const std::string& node_name_of(std::uint32_t atom) {
  auto& t = table();
  std::shared_lock lock(t.mutex);
  return atom < t.names.size() ? t.names[atom] : t.names[0];
}

}  // namespace syn::detail
