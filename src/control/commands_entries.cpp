// Control commands that read a scope's replicas: names, lookup, groups, members, views.
#include "control/control_commands.hpp"

#include <syn/multicast.hpp>

#include <algorithm>
#include <utility>

namespace syn::detail {

namespace {

constexpr std::int64_t kDefaultPage = 100;
constexpr std::int64_t kMaxPage = 100000;

/// How a name sorts and matches a prefix: a string as itself, anything else as its JSON.
std::string sort_key(const Term& name) { return name.is_string() ? name.get<std::string>() : name.dump(); }

Term names(Node& node, const ControlArgs& args) {
  auto registry = registry_of(node, args);
  auto prefix = args.optional_string("prefix").value_or("");
  auto after = args.optional_string("after");
  auto limit = args.integer_or("limit", kDefaultPage);
  if (limit < 1 || limit > kMaxPage) {
    throw ControlError("field 'limit' must be between 1 and " + std::to_string(kMaxPage), "bad_argument");
  }
  struct Row {
    std::string key;
    Term name;
    Entry entry;
  };
  std::vector<Row> rows;
  registry.for_each([&](const Term& name, const Entry& entry) {
    auto key = sort_key(name);
    if (key.compare(0, prefix.size(), prefix) == 0) rows.push_back({std::move(key), name, entry});
  });
  std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.key < b.key; });
  auto first = rows.begin();
  if (after)
    first = std::upper_bound(rows.begin(), rows.end(), *after,
                             [](const std::string& k, const Row& r) { return k < r.key; });
  Term page = Term::array();
  Term next = nullptr;
  for (auto it = first; it != rows.end(); ++it) {
    if (static_cast<std::int64_t>(page.size()) == limit) {
      next = std::prev(it)->key;
      break;
    }
    Term row = pid_meta_json(it->entry.pid, it->entry.meta);
    row["name"] = it->name;
    page.push_back(std::move(row));
  }
  return {{"names", std::move(page)}, {"matching", rows.size()}, {"next", std::move(next)}};
}

Term lookup(Node& node, const ControlArgs& args) {
  auto entry = registry_of(node, args).lookup(args.term("name"));
  if (!entry) return {{"found", false}};
  Term out = pid_meta_json(entry->pid, entry->meta);
  out["found"] = true;
  return out;
}

Term groups(Node& node, const ControlArgs& args) {
  auto groups = groups_of(node, args);
  auto names = groups.group_names();
  std::sort(names.begin(), names.end(), [](const Term& a, const Term& b) { return sort_key(a) < sort_key(b); });
  Term out = Term::array();
  for (const auto& group : names) {
    out.push_back({{"group", group},
                   {"members", groups.member_count(group)},
                   {"local_members", groups.local_member_count(group)}});
  }
  return {{"groups", std::move(out)}};
}

Term members(Node& node, const ControlArgs& args) {
  Term out = Term::array();
  for (const auto& member : groups_of(node, args).members(args.term("group"))) {
    out.push_back(pid_meta_json(member.pid, member.meta));
  }
  return {{"members", std::move(out)}};
}

Term views(Node& node, const ControlArgs& args) {
  auto multicast = node.multicast(args.string("scope"));
  Term out = Term::array();
  for (const auto& group : multicast.group_names()) {
    auto view = multicast.view(group);
    if (!view) continue;
    Term pids = Term::array();
    for (const auto& pid : view->members) pids.push_back(pid.to_string());
    out.push_back({{"group", group},
                   {"coordinator", view->id.coordinator.to_string()},
                   {"number", view->id.number},
                   {"members", std::move(pids)}});
  }
  return {{"views", std::move(out)}};
}

}  // namespace

void add_entry_commands(ControlTable& table) {
  table.add("names", Access::read,
            "names{scope, prefix=\"\", limit=100, after=null} -> {names: [{name, pid, meta}...], matching, next} "
            "(sorted by the name, a string as itself and anything else as JSON; next: pass it as 'after' for the "
            "next page, null on the last)",
            names);
  table.add("lookup", Access::read, "lookup{scope, name} -> {found, pid, meta}", lookup);
  table.add("groups", Access::read, "groups{scope} -> {groups: [{group, members, local_members}...]}", groups);
  table.add("members", Access::read, "members{scope, group} -> {members: [{pid, meta}...]}", members);
  table.add("views", Access::read,
            "views{scope} -> {views: [{group, coordinator, number, members: [pid...]}...]} (multicast groups with a "
            "member on this node)",
            views);
}

}  // namespace syn::detail
