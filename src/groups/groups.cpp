// The public Groups handle: forwards to the scope's GroupsScope.
#include <syn/groups.hpp>

#include "groups/groups_scope.hpp"
#include "node/scope_host.hpp"
#include "scope/live_handle.hpp"
#include "scope/scope_directory.hpp"

#include <syn/node.hpp>

namespace syn {

Groups Node::groups(std::string_view scope) { return Groups(scopes_->get<detail::GroupsScope>(Kind::groups, scope)); }

namespace {
std::uint32_t atom_of(std::string_view node) { return detail::intern_node_name(node); }

}  // namespace

Result<void> Groups::join(const Term& group, const Pid& pid, Term meta) {
  return detail::current_handler(impl_).join(group, pid, std::move(meta), false);
}
Result<void> Groups::join(const Term& group, const Process& self, Term meta) {
  return detail::current_handler(impl_).join(group, self.pid(), std::move(meta), true);
}
std::future<Result<void>> Groups::join_async(const Term& group, const Pid& pid, Term meta) {
  return detail::current_handler(impl_).join_async(group, pid, std::move(meta));
}
Result<void> Groups::leave(const Term& group, const Pid& pid) {
  return detail::current_handler(impl_).leave(group, pid);
}

std::vector<Result<void>> Groups::join(const Term& group, const std::vector<Pid>& pids, Term meta) {
  return detail::current_handler(impl_).join_list(group, pids, meta);
}

std::vector<Result<void>> Groups::leave(const Term& group, const std::vector<Pid>& pids) {
  return detail::current_handler(impl_).leave_list(group, pids);
}
std::future<Result<void>> Groups::leave_async(const Term& group, const Pid& pid) {
  return detail::current_handler(impl_).leave_async(group, pid);
}
Result<std::size_t> Groups::join_counted(const Term& group, const Pid& pid, Term meta) {
  return detail::current_handler(impl_).join_counted(group, pid, std::move(meta), false);
}
Result<std::size_t> Groups::join_counted(const Term& group, const Process& self, Term meta) {
  return detail::current_handler(impl_).join_counted(group, self.pid(), std::move(meta), true);
}
Result<std::size_t> Groups::leave_counted(const Term& group, const Pid& pid) {
  return detail::current_handler(impl_).leave_counted(group, pid);
}
Result<Member> Groups::update_member(const Term& group, const Pid& pid, std::function<Term(const Term&)> fn) {
  return detail::current_handler(impl_).update_member(group, pid, fn);
}

std::vector<Member> Groups::members(const Term& group) const { return live_handler(impl_).members(group); }
std::vector<Pid> Groups::member_pids(const Term& group) const { return live_handler(impl_).member_pids(group); }
std::optional<Member> Groups::member(const Term& group, const Pid& pid) const {
  return live_handler(impl_).member(group, pid);
}
bool Groups::is_member(const Term& group, const Pid& pid) const {
  return live_handler(impl_).member(group, pid).has_value();
}
std::vector<Member> Groups::local_members(const Term& group) const {
  return live_handler(impl_).members(group, impl_->node().atom());
}
bool Groups::is_local_member(const Term& group, const Pid& pid) const {
  auto& handler = live_handler(impl_);
  return handler.node().is_local(pid) && handler.member(group, pid).has_value();
}
std::size_t Groups::member_count(const Term& group) const { return live_handler(impl_).member_count(group); }
std::size_t Groups::member_count(const Term& group, std::string_view node) const {
  return live_handler(impl_).member_count(group, atom_of(node));
}
std::size_t Groups::local_member_count(const Term& group) const {
  return live_handler(impl_).member_count(group, impl_->node().atom());
}
std::size_t Groups::group_count() const { return live_handler(impl_).group_count(); }
std::size_t Groups::group_count(std::string_view node) const { return live_handler(impl_).group_count(atom_of(node)); }
std::size_t Groups::local_group_count() const { return live_handler(impl_).group_count(impl_->node().atom()); }
std::vector<Term> Groups::group_names() const { return live_handler(impl_).group_names(); }
std::vector<Term> Groups::group_names(std::string_view node) const {
  return live_handler(impl_).group_names(atom_of(node));
}
std::vector<Term> Groups::local_group_names() const { return live_handler(impl_).group_names(impl_->node().atom()); }

std::size_t Groups::publish(const Term& group, const Term& message) {
  return live_handler(impl_).publish(group, message, false);
}
std::size_t Groups::local_publish(const Term& group, const Term& message) {
  return live_handler(impl_).publish(group, message, true);
}
MultiCallResult Groups::multi_call(const Term& group, const Term& message, std::chrono::milliseconds timeout) {
  return live_handler(impl_).multi_call(group, message, timeout);
}

Subscription Groups::monitor(const Term& group, std::function<void(const GroupEvent&)> on_event,
                             std::vector<Member>* current) {
  return live_handler(impl_).monitor(group, std::move(on_event), current);
}
Subscription Groups::monitor_scope(std::function<void(const GroupEvent&)> on_event,
                                   std::map<Term, std::vector<Member>>* current) {
  return live_handler(impl_).monitor_scope(std::move(on_event), current);
}

Subscription Groups::monitor(const Term& group, const Process& subscriber, std::vector<Member>* current) {
  return live_handler(impl_).monitor(group, subscriber, current);
}
Subscription Groups::monitor_scope(const Process& subscriber, std::map<Term, std::vector<Member>>* current) {
  return live_handler(impl_).monitor_scope(subscriber, current);
}

const std::string& Groups::scope() const { return impl_->scope(); }

}  // namespace syn
