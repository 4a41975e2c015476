#pragma once
/// \file
/// Pid: the cluster-wide identity of a process.

#include <syn/term.hpp>

#include <compare>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace syn {

namespace detail {
/// Interned node names: a Pid stores a small index instead of a heap string.
std::uint32_t intern_node_name(std::string_view name);
/// The name behind an interned index; the reference stays valid for the program's life.
const std::string& node_name_of(std::uint32_t atom);
}  // namespace detail

/// A process identity: the node it runs on, that node's incarnation, and a local number.
///
/// A regular value type (copy, ==, <=>, std::hash), two machine words. Pids of a node that
/// restarted under the same name differ in their creation, so old pids stay dead.
class Pid {
 public:
  /// The null pid: node "", creation 0, id 0. Never alive.
  Pid() = default;
  /// A pid from its parts (used by the runtime and by Pid::parse).
  Pid(std::string_view node, std::uint32_t creation, std::uint64_t id)
      : atom_(detail::intern_node_name(node)), creation_(creation), id_(id) {}

  /// Name of the node the process runs on.
  const std::string& node() const { return detail::node_name_of(atom_); }
  /// Incarnation of that node (changes when a node restarts under the same name).
  std::uint32_t creation() const { return creation_; }
  /// Number of the process on its node.
  std::uint64_t id() const { return id_; }
  /// True for a default-constructed pid.
  bool is_null() const { return atom_ == 0 && creation_ == 0 && id_ == 0; }

  /// "<node.creation.id>", e.g. "<alpha.7.42>"; Pid::parse reads it back.
  std::string to_string() const;
  /// Reads the form written by to_string(); nullopt when malformed. Node names may contain dots.
  static std::optional<Pid> parse(std::string_view text);

  friend bool operator==(const Pid& a, const Pid& b) = default;
  /// Orders by node name, then creation, then id: the same order on every node.
  friend std::strong_ordering operator<=>(const Pid& a, const Pid& b) {
    if (a.atom_ != b.atom_) {
      int c = a.node().compare(b.node());
      if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    }
    if (a.creation_ != b.creation_) return a.creation_ <=> b.creation_;
    return a.id_ <=> b.id_;
  }

  /// The interned index of node(): internal, stable only within one OS process.
  std::uint32_t node_atom() const { return atom_; }
  /// Internal: a pid from an interned node index (see node_atom()).
  static Pid from_atom(std::uint32_t atom, std::uint32_t creation, std::uint64_t id) {
    Pid pid;
    pid.atom_ = atom;
    pid.creation_ = creation;
    pid.id_ = id;
    return pid;
  }

 private:
  std::uint32_t atom_ = 0;
  std::uint32_t creation_ = 0;
  std::uint64_t id_ = 0;
};

/// Prints to_string().
std::ostream& operator<<(std::ostream& out, const Pid& pid);

/// A Pid in a Term is its string form, so pids travel inside messages and metadata.
void to_json(Term& term, const Pid& pid);
/// Reads a Pid written by to_json; throws nlohmann::json::type_error when not a pid string.
void from_json(const Term& term, Pid& pid);

}  // namespace syn

template <>
struct std::hash<syn::Pid> {
  std::size_t operator()(const syn::Pid& pid) const noexcept {
    std::uint64_t h = pid.id() * 0x9E3779B97F4A7C15ULL;
    h ^= (static_cast<std::uint64_t>(pid.node_atom()) << 32 | pid.creation()) + 0x7F4A7C15ULL + (h << 6) + (h >> 2);
    return static_cast<std::size_t>(h);
  }
};
