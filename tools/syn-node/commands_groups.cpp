// Groups commands: one per call of syn::Groups, on the request's "scope". Members are
// {pid, meta}; results and errors as in commands.hpp.
#include "commands.hpp"
#include "scope_terms.hpp"

#include <utility>

namespace syn_node {

SYN_NODE_COMMAND(join,
                 "join{scope, group, pid, meta=null, self=true} -> {} (an owned pid joins itself "
                 "unless self is false)") {
  auto groups = groups_of(ctx, args);
  const auto& group = args.term("group");
  auto meta = args.term_or("meta", nullptr);
  const syn::Process* self = args.boolean_or("self", true) ? ctx.find_process(args.string("pid")) : nullptr;
  if (self) {
    unwrap(groups.join(group, *self, std::move(meta)));
  } else {
    unwrap(groups.join(group, args.pid("pid"), std::move(meta)));
  }
  return {};
}

SYN_NODE_COMMAND(leave, "leave{scope, group, pid} -> {}") {
  unwrap(groups_of(ctx, args).leave(args.term("group"), args.pid("pid")));
  return {};
}

SYN_NODE_COMMAND(update_member,
                 "update_member{scope, group, pid, meta} -> {member} (sets the meta through "
                 "Groups::update_member)") {
  auto meta = args.term("meta");
  auto member = unwrap(groups_of(ctx, args).update_member(args.term("group"), args.pid("pid"),
                                                          [meta](const syn::Term&) { return meta; }));
  return {{"member", member_json(member)}};
}

SYN_NODE_COMMAND(members, "members{scope, group} -> {members: [{pid, meta}...]} (ordered by pid)") {
  return {{"members", members_json(groups_of(ctx, args).members(args.term("group")))}};
}

SYN_NODE_COMMAND(members_many, "members_many{scope, groups: [group...]} -> {members: [[{pid, meta}...]...]}") {
  auto groups = groups_of(ctx, args);
  const auto& names = args.term("groups");
  if (!names.is_array()) throw CommandError("field 'groups' must be an array", "bad_argument");
  syn::Term out = syn::Term::array();
  for (const auto& group : names) out.push_back(members_json(groups.members(group)));
  return {{"members", out}};
}

SYN_NODE_COMMAND(local_members, "local_members{scope, group} -> {members: [{pid, meta}...]}") {
  return {{"members", members_json(groups_of(ctx, args).local_members(args.term("group")))}};
}

SYN_NODE_COMMAND(member, "member{scope, group, pid} -> {member: {pid, meta} | null}") {
  auto member = groups_of(ctx, args).member(args.term("group"), args.pid("pid"));
  return {{"member", member ? member_json(*member) : syn::Term(nullptr)}};
}

SYN_NODE_COMMAND(member_count, "member_count{scope, group, node?} -> {count}") {
  auto groups = groups_of(ctx, args);
  const auto& group = args.term("group");
  auto node = node_filter(args);
  return {{"count", node ? groups.member_count(group, *node) : groups.member_count(group)}};
}

SYN_NODE_COMMAND(local_member_count, "local_member_count{scope, group} -> {count}") {
  return {{"count", groups_of(ctx, args).local_member_count(args.term("group"))}};
}

SYN_NODE_COMMAND(group_count, "group_count{scope, node?} -> {count} (groups with members, or with members on node)") {
  auto groups = groups_of(ctx, args);
  auto node = node_filter(args);
  return {{"count", node ? groups.group_count(*node) : groups.group_count()}};
}

SYN_NODE_COMMAND(local_group_count, "local_group_count{scope} -> {count}") {
  return {{"count", groups_of(ctx, args).local_group_count()}};
}

SYN_NODE_COMMAND(group_names, "group_names{scope, node?} -> {groups: [group...]}") {
  auto groups = groups_of(ctx, args);
  auto node = node_filter(args);
  return {{"groups", node ? groups.group_names(*node) : groups.group_names()}};
}

SYN_NODE_COMMAND(local_group_names, "local_group_names{scope} -> {groups: [group...]}") {
  return {{"groups", groups_of(ctx, args).local_group_names()}};
}

SYN_NODE_COMMAND(publish, "publish{scope, group, message} -> {count} (members sent to)") {
  return {{"count", groups_of(ctx, args).publish(args.term("group"), args.term("message"))}};
}

SYN_NODE_COMMAND(local_publish, "local_publish{scope, group, message} -> {count} (local members sent to)") {
  return {{"count", groups_of(ctx, args).local_publish(args.term("group"), args.term("message"))}};
}

SYN_NODE_COMMAND(multi_call,
                 "multi_call{scope, group, message, timeout_ms=5000} -> {replies: [{pid, meta, "
                 "reply}...], bad_replies: [{pid, meta}...]} (blocks the control stream up to the "
                 "timeout)") {
  auto result = groups_of(ctx, args).multi_call(args.term("group"), args.term("message"),
                                                args.millis_or("timeout_ms", std::chrono::milliseconds(5000)));
  syn::Term replies = syn::Term::array();
  for (const auto& [member, reply] : result.replies) {
    auto item = member_json(member);
    item["reply"] = reply;
    replies.push_back(std::move(item));
  }
  return {{"replies", replies}, {"bad_replies", members_json(result.bad_replies)}};
}

}  // namespace syn_node
