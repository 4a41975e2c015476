#pragma once
// The checker of a nemesis run (issue 10, "Real networks", scenario 2): given the history of
// the clients' operations and what every node holds once the network healed and the cluster
// went quiet, it tells which of these properties fail, with the history entries concerned:
//
//   (a) every node holds the same registry (name -> pid, meta) and the same groups
//       (group -> pid -> meta);
//   (b) no name maps to two pids: the nodes agree on the pid of every name, and a node holds
//       no entry beyond those its lookups show (its count says so);
//   (c) no entry or member refers to a process that is dead (or that no client spawned);
//   (d) every register (and join) acknowledged ok whose process is still alive, and that
//       nothing could have undone, is present; the rule for "could have undone" is at
//       check_acknowledged_writes;
//   (e) each node's callbacks, replayed in order from an empty state, make sense one by one
//       and give exactly what the node holds.
//
// The checker only reads: the test collects the observation (see nemesis_test.cpp).
#include "net/history.hpp"

#include <syn/term.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace syn::test::net {

/// A registry entry as the tests see it.
struct RegEntry {
  std::string pid;
  Term meta;
  friend bool operator==(const RegEntry&, const RegEntry&) = default;
};

/// A registry replica: name -> entry.
using RegistryState = std::map<Term, RegEntry>;
/// A groups replica: group -> pid -> meta (only groups with members).
using GroupsState = std::map<Term, std::map<std::string, Term>>;

/// What one node holds at the end, and the callbacks it ran.
struct NodeView {
  std::string node;          ///< "h1", ...
  RegistryState registry;    ///< the names of the test's name space that it looks up to an entry
  std::size_t count = 0;     ///< the number of entries it counts in the scope
  GroupsState groups;        ///< every group it lists, with its members
  std::vector<Term> events;  ///< its registry and groups callbacks for the scope, in order (the
                             ///< event lines of syn-node, see tools/syn-node/event_printer.hpp)
};

/// What the cluster holds at the end.
struct Observation {
  std::vector<NodeView> nodes;
  /// Every process the clients spawned, with whether it is alive (exact: asked of the node
  /// that runs it).
  std::map<std::string, bool> processes;
};

/// One property that does not hold.
struct Violation {
  std::string property;          ///< "(a) same state on every node", ...
  std::string detail;            ///< what is wrong, where
  std::vector<std::size_t> ops;  ///< the history entries concerned (the offending one first)
};

/// How many acknowledged writes property (d) could check, and why the others were excused.
struct AcknowledgedStats {
  std::size_t acknowledged = 0;  ///< registers and joins acknowledged ok
  std::size_t dead = 0;          ///< excused: the process is dead at the end
  std::size_t undoable = 0;      ///< excused: another operation could have undone it
  std::size_t checked = 0;       ///< checked for presence (all the others)
  std::size_t meta_checked = 0;  ///< ... and for their meta too (nothing could have changed it)
};

/// The state a node's callbacks give, replayed in order from empty, and the callbacks that did
/// not fit the state they found (a registration of a held name, an update or removal of an
/// entry that was not there or held something else, a join of a present member, ...).
struct Replayed {
  RegistryState registry;
  GroupsState groups;
  std::vector<std::string> errors;
};
Replayed replay_callbacks(const std::vector<Term>& events);

/// (a) Every node holds the same registry and groups as the first one.
std::vector<Violation> check_same_state(const Observation& observation);
/// (b) No name maps to two pids: across the nodes, and within each (count = lookups found).
std::vector<Violation> check_unique_names(const Observation& observation);
/// (c) No entry or member refers to a dead or unknown process. `history` only supplies the
/// operations that mention the pid, for the reader.
std::vector<Violation> check_no_dead_entries(const std::vector<Op>& history, const Observation& observation);
/// (d) Every acknowledged register and join whose process is alive and that nothing could
/// have undone is present on every node (with its meta, when nothing could have changed it).
std::vector<Violation> check_acknowledged_writes(const std::vector<Op>& history, const Observation& observation,
                                                 AcknowledgedStats* stats = nullptr);
/// (e) Each node's callbacks replay without error to exactly its state.
std::vector<Violation> check_callback_replay(const Observation& observation);

/// All of the above, in order.
std::vector<Violation> check_all(const std::vector<Op>& history, const Observation& observation,
                                 AcknowledgedStats* stats = nullptr);

/// The violations for people: each property, what is wrong, and up to `max_ops` of the
/// history entries concerned.
std::string report(const std::vector<Violation>& violations, const std::vector<Op>& history, std::size_t max_ops = 12);

}  // namespace syn::test::net
