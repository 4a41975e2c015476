#include "net/nemesis_checker.hpp"

#include <algorithm>
#include <set>

namespace syn::test::net {

namespace {

const char* const kSameState = "(a) the same registry and groups on every node";
const char* const kUniqueNames = "(b) no name maps to two pids";
const char* const kNoDead = "(c) no entry refers to a dead process";
const char* const kAcknowledged = "(d) acknowledged registrations and joins are present";
const char* const kReplay = "(e) callbacks replayed from empty give the final state";

/// At most this many lines of differences per pair of nodes.
constexpr std::size_t kMaxDiffLines = 10;

std::string show(const RegEntry& entry) { return entry.pid + " " + entry.meta.dump(); }

/// The differences between two registries, as "name: h1 has X, h2 has Y" lines.
std::vector<std::string> diff(const RegistryState& left, const RegistryState& right, const std::string& left_name,
                              const std::string& right_name) {
  std::vector<std::string> out;
  std::set<Term> names;
  for (const auto& [name, _] : left) names.insert(name);
  for (const auto& [name, _] : right) names.insert(name);
  for (const auto& name : names) {
    auto l = left.find(name);
    auto r = right.find(name);
    if (l != left.end() && r != right.end() && l->second == r->second) continue;
    out.push_back("name " + name.dump() + ": " + left_name + " has " + (l == left.end() ? "none" : show(l->second)) +
                  ", " + right_name + " has " + (r == right.end() ? "none" : show(r->second)));
  }
  return out;
}

/// The differences between two groups replicas, member by member.
std::vector<std::string> diff(const GroupsState& left, const GroupsState& right, const std::string& left_name,
                              const std::string& right_name) {
  std::vector<std::string> out;
  std::set<Term> groups;
  for (const auto& [group, _] : left) groups.insert(group);
  for (const auto& [group, _] : right) groups.insert(group);
  static const std::map<std::string, Term> none;
  for (const auto& group : groups) {
    auto l = left.find(group);
    auto r = right.find(group);
    const auto& lm = l == left.end() ? none : l->second;
    const auto& rm = r == right.end() ? none : r->second;
    std::set<std::string> pids;
    for (const auto& [pid, _] : lm) pids.insert(pid);
    for (const auto& [pid, _] : rm) pids.insert(pid);
    for (const auto& pid : pids) {
      auto lp = lm.find(pid);
      auto rp = rm.find(pid);
      if (lp != lm.end() && rp != rm.end() && lp->second == rp->second) continue;
      out.push_back("group " + group.dump() + " member " + pid + ": " + left_name + " has " +
                    (lp == lm.end() ? "none" : lp->second.dump()) + ", " + right_name + " has " +
                    (rp == rm.end() ? "none" : rp->second.dump()));
    }
  }
  return out;
}

std::string join_lines(const std::vector<std::string>& lines, std::size_t max = kMaxDiffLines) {
  std::string out;
  for (std::size_t i = 0; i < lines.size() && i < max; ++i) out += "\n      " + lines[i];
  if (lines.size() > max) out += "\n      ... and " + std::to_string(lines.size() - max) + " more";
  return out;
}

/// The string field `key` of an operation's arguments, or "".
std::string arg(const Op& op, const char* key) {
  auto it = op.args.find(key);
  return it != op.args.end() && it->is_string() ? it->get<std::string>() : std::string();
}
/// The term field `key` of an operation's arguments, or null.
Term arg_term(const Op& op, const char* key) {
  auto it = op.args.find(key);
  return it != op.args.end() ? *it : Term(nullptr);
}

/// The operations whose arguments mention `pid` (as "pid"), most recent last.
std::vector<std::size_t> ops_about_pid(const std::vector<Op>& history, const std::string& pid) {
  std::vector<std::size_t> out;
  for (const auto& op : history) {
    if (arg(op, "pid") == pid || (op.result.is_string() && op.result.get<std::string>() == pid))
      out.push_back(op.index);
  }
  return out;
}

bool alive(const Observation& observation, const std::string& pid) {
  auto it = observation.processes.find(pid);
  return it != observation.processes.end() && it->second;
}

}  // namespace

// ---- (e) the replay, also used by the others' messages --------------------------------------

Replayed replay_callbacks(const std::vector<Term>& events) {
  Replayed out;
  auto note = [&](std::size_t i, const Term& event, const std::string& why) {
    if (out.errors.size() < 20) out.errors.push_back("callback " + std::to_string(i) + " " + event.dump() + ": " + why);
  };
  for (std::size_t i = 0; i < events.size(); ++i) {
    const Term& e = events[i];
    std::string kind = e.value("event", std::string());
    std::string pid = e.value("pid", std::string());
    const Term meta = e.value("meta", Term(nullptr));
    if (kind == "registered" || kind == "updated" || kind == "unregistered") {
      const Term& name = e.at("name");
      auto it = out.registry.find(name);
      if (kind == "registered") {
        if (it != out.registry.end()) note(i, e, "registered while held by " + show(it->second));
        out.registry[name] = RegEntry{pid, meta};
      } else if (kind == "updated") {
        if (it == out.registry.end()) {
          note(i, e, "updated while not registered");
        } else if (it->second.pid != pid || it->second.meta != e.value("previous", Term(nullptr))) {
          note(i, e, "updated from a state it was not in (held: " + show(it->second) + ")");
        }
        out.registry[name] = RegEntry{pid, meta};
      } else {
        if (it == out.registry.end()) {
          note(i, e, "unregistered while not registered");
        } else if (it->second != RegEntry{pid, meta}) {
          note(i, e, "unregistered from a state it was not in (held: " + show(it->second) + ")");
          out.registry.erase(it);
        } else {
          out.registry.erase(it);
        }
      }
    } else if (kind == "joined" || kind == "group_updated" || kind == "left") {
      const Term& group = e.at("group");
      auto& members = out.groups[group];
      auto it = members.find(pid);
      if (kind == "joined") {
        if (it != members.end()) note(i, e, "joined while a member (meta " + it->second.dump() + ")");
        members[pid] = meta;
      } else if (kind == "group_updated") {
        if (it == members.end()) {
          note(i, e, "updated while not a member");
        } else if (it->second != e.value("previous", Term(nullptr))) {
          note(i, e, "updated from meta " + it->second.dump() + ", not its previous");
        }
        members[pid] = meta;
      } else {
        if (it == members.end()) {
          note(i, e, "left while not a member");
        } else {
          if (it->second != meta) note(i, e, "left with meta other than " + it->second.dump());
          members.erase(it);
        }
      }
      if (members.empty()) out.groups.erase(group);
    }
    // Other event lines (none are expected in the list) are ignored.
  }
  return out;
}

// ---- (a) -------------------------------------------------------------------------------------

std::vector<Violation> check_same_state(const Observation& observation) {
  std::vector<Violation> out;
  if (observation.nodes.empty()) return out;
  const NodeView& first = observation.nodes.front();
  for (std::size_t i = 1; i < observation.nodes.size(); ++i) {
    const NodeView& other = observation.nodes[i];
    auto lines = diff(first.registry, other.registry, first.node, other.node);
    auto group_lines = diff(first.groups, other.groups, first.node, other.node);
    lines.insert(lines.end(), group_lines.begin(), group_lines.end());
    if (!lines.empty()) {
      out.push_back({kSameState, other.node + " differs from " + first.node + ":" + join_lines(lines), {}});
    }
  }
  return out;
}

// ---- (b) -------------------------------------------------------------------------------------

std::vector<Violation> check_unique_names(const Observation& observation) {
  std::vector<Violation> out;
  // Across the nodes: one pid per name.
  std::map<Term, std::map<std::string, std::vector<std::string>>> pids;  // name -> pid -> nodes
  for (const auto& view : observation.nodes) {
    for (const auto& [name, entry] : view.registry) pids[name][entry.pid].push_back(view.node);
  }
  for (const auto& [name, by_pid] : pids) {
    if (by_pid.size() < 2) continue;
    std::string detail = "name " + name.dump() + " maps to " + std::to_string(by_pid.size()) + " pids:";
    for (const auto& [pid, nodes] : by_pid) {
      std::string where;
      for (const auto& n : nodes) where += (where.empty() ? "" : ",") + n;
      detail += " " + pid + " on " + where + ";";
    }
    out.push_back({kUniqueNames, detail, {}});
  }
  // Within a node: its count is what its lookups found, so no second entry hides anywhere.
  for (const auto& view : observation.nodes) {
    if (view.count != view.registry.size()) {
      out.push_back({kUniqueNames,
                     view.node + " counts " + std::to_string(view.count) + " entries but its lookups of the name " +
                         "space find " + std::to_string(view.registry.size()),
                     {}});
    }
  }
  return out;
}

// ---- (c) -------------------------------------------------------------------------------------

std::vector<Violation> check_no_dead_entries(const std::vector<Op>& history, const Observation& observation) {
  std::vector<Violation> out;
  auto status = [&](const std::string& pid) {
    auto it = observation.processes.find(pid);
    return it == observation.processes.end() ? "unknown to every client" : "dead";
  };
  for (const auto& view : observation.nodes) {
    for (const auto& [name, entry] : view.registry) {
      if (alive(observation, entry.pid)) continue;
      out.push_back({kNoDead,
                     view.node + ": name " + name.dump() + " -> " + entry.pid + ", which is " + status(entry.pid),
                     ops_about_pid(history, entry.pid)});
    }
    for (const auto& [group, members] : view.groups) {
      for (const auto& [pid, meta] : members) {
        if (alive(observation, pid)) continue;
        out.push_back({kNoDead,
                       view.node + ": group " + group.dump() + " has member " + pid + ", which is " + status(pid),
                       ops_about_pid(history, pid)});
      }
    }
  }
  return out;
}

// ---- (d) -------------------------------------------------------------------------------------

// The rule, conservative on purpose (a history cannot tell what an operation without a
// verdict did, nor the order of operations that overlap):
//
// An acknowledged register R = register(name, P, meta) must be present (name -> P on every
// node) at the end when
//   - P is alive at the end (its death, a kill or a conflict's loser kill, undoes R: exempt);
//   - no other operation X on the same name could have taken effect after R did. X could when
//     it is not a definite failure (ok or indeterminate: a failed one changed nothing), and
//     its effect may come after R's invocation: X completed after R was invoked (they overlap,
//     or X came later), or X is indeterminate (it may take effect at any time, even after the
//     run). Such an X undoes R's presence when it is an unregister, or a register by another
//     pid (which may win the conflict, or make P lose it); it changes only R's meta when it is
//     an update, or a register by P itself with another meta.
// When no X changes presence, R must be present; when no X changes its meta either, the meta
// must be R's. An X that completed before R was invoked never undoes R: with the default
// conflict resolver the older registration loses, and its process is killed.
//
// An acknowledged join J = join(group, P, meta) the same way, for the member (group, P): a
// leave of (group, P) undoes it; a join of (group, P) with another meta or an update_member
// of (group, P) changes only its meta. Groups have no conflicts.
std::vector<Violation> check_acknowledged_writes(const std::vector<Op>& history, const Observation& observation,
                                                 AcknowledgedStats* stats) {
  std::vector<Violation> out;
  AcknowledgedStats local;
  AcknowledgedStats& s = stats ? *stats : local;
  s = {};

  // The operations on each name and on each membership, to look through quickly.
  std::map<Term, std::vector<std::size_t>> by_name;
  std::map<std::pair<Term, std::string>, std::vector<std::size_t>> by_member;
  for (const auto& op : history) {
    if (op.kind == "register" || op.kind == "unregister" || op.kind == "update") {
      by_name[arg_term(op, "name")].push_back(op.index);
    } else if (op.kind == "join" || op.kind == "leave" || op.kind == "update_member") {
      by_member[{arg_term(op, "group"), arg(op, "pid")}].push_back(op.index);
    }
  }

  for (const auto& op : history) {
    bool is_register = op.kind == "register";
    if ((!is_register && op.kind != "join") || !op.ok()) continue;
    ++s.acknowledged;
    const std::string pid = arg(op, "pid");
    const Term meta = arg_term(op, "meta");
    if (!alive(observation, pid)) {
      ++s.dead;
      continue;
    }
    const auto& related = is_register ? by_name[arg_term(op, "name")] : by_member[{arg_term(op, "group"), pid}];
    bool presence_undone = false;
    bool meta_changed = false;
    for (std::size_t index : related) {
      const Op& x = history[index];
      if (x.index == op.index || x.failed()) continue;
      if (x.effect_deadline() <= op.invoked) continue;  // took effect before R began
      bool undoes =
          is_register ? x.kind == "unregister" || (x.kind == "register" && arg(x, "pid") != pid) : x.kind == "leave";
      if (undoes) {
        presence_undone = true;
        break;
      }
      // An update, or the same pid registering (joining) again: only the meta may change.
      if (arg_term(x, "meta") != meta || x.kind == "update" || x.kind == "update_member") meta_changed = true;
    }
    if (presence_undone) {
      ++s.undoable;
      continue;
    }
    ++s.checked;
    if (!meta_changed) ++s.meta_checked;

    std::vector<std::size_t> concerned = {op.index};
    for (std::size_t index : related) {
      if (index != op.index) concerned.push_back(index);
    }
    for (const auto& view : observation.nodes) {
      std::string found;
      bool present = false;
      bool same_meta = false;
      if (is_register) {
        auto it = view.registry.find(arg_term(op, "name"));
        if (it != view.registry.end()) {
          found = show(it->second);
          present = it->second.pid == pid;
          same_meta = present && it->second.meta == meta;
        }
      } else {
        auto g = view.groups.find(arg_term(op, "group"));
        if (g != view.groups.end()) {
          auto m = g->second.find(pid);
          if (m != g->second.end()) {
            found = pid + " " + m->second.dump();
            present = true;
            same_meta = m->second == meta;
          }
        }
      }
      if (!present) {
        std::string what = is_register ? "name " + arg_term(op, "name").dump() + " -> " + pid
                                       : "member " + pid + " of group " + arg_term(op, "group").dump();
        out.push_back({kAcknowledged,
                       view.node + " lacks " + what + " (acknowledged by #" + std::to_string(op.index) +
                           ", process alive, nothing could undo it); it holds " + (found.empty() ? "none" : found),
                       concerned});
      } else if (!meta_changed && !same_meta) {
        out.push_back({kAcknowledged,
                       view.node + " holds " + found + " instead of meta " + meta.dump() + " (acknowledged by #" +
                           std::to_string(op.index) + ", nothing could change it)",
                       concerned});
      }
    }
  }
  return out;
}

// ---- (e) -------------------------------------------------------------------------------------

std::vector<Violation> check_callback_replay(const Observation& observation) {
  std::vector<Violation> out;
  for (const auto& view : observation.nodes) {
    auto replayed = replay_callbacks(view.events);
    if (!replayed.errors.empty()) {
      out.push_back({kReplay,
                     view.node + ": " + std::to_string(replayed.errors.size()) + " callbacks out of " +
                         std::to_string(view.events.size()) +
                         " do not fit the state before them:" + join_lines(replayed.errors),
                     {}});
    }
    auto lines = diff(replayed.registry, view.registry, "the replay", view.node);
    auto group_lines = diff(replayed.groups, view.groups, "the replay", view.node);
    lines.insert(lines.end(), group_lines.begin(), group_lines.end());
    if (!lines.empty()) {
      out.push_back({kReplay,
                     view.node + ": its " + std::to_string(view.events.size()) +
                         " callbacks replayed do not give what it holds:" + join_lines(lines),
                     {}});
    }
  }
  return out;
}

std::vector<Violation> check_all(const std::vector<Op>& history, const Observation& observation,
                                 AcknowledgedStats* stats) {
  std::vector<Violation> out;
  for (auto part :
       {check_same_state(observation), check_unique_names(observation), check_no_dead_entries(history, observation),
        check_acknowledged_writes(history, observation, stats), check_callback_replay(observation)}) {
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

std::string report(const std::vector<Violation>& violations, const std::vector<Op>& history, std::size_t max_ops) {
  std::string out;
  for (const auto& v : violations) {
    out += "\n  VIOLATED " + v.property + ": " + v.detail;
    for (std::size_t i = 0; i < v.ops.size() && i < max_ops; ++i) {
      if (v.ops[i] < history.size()) out += "\n      " + describe(history[v.ops[i]]);
    }
    if (v.ops.size() > max_ops) out += "\n      ... and " + std::to_string(v.ops.size() - max_ops) + " more operations";
  }
  return out;
}

}  // namespace syn::test::net
