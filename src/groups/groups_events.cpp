// Group changes as callbacks (EventHandler) and subscription events, queued on the node's
// dispatcher under the shard lock, so both see the changes in the order applied.
#include "common/log.hpp"
#include "groups/groups_scope.hpp"
#include "node/scope_host.hpp"
#include "wire/meta_codec.hpp"

#include <algorithm>
#include <exception>
#include <numeric>

namespace syn::detail {

namespace {

template <class F>
void guarded(const std::string& node, const char* what, F&& fn) {
  try {
    fn();
  } catch (const std::exception& e) { SYN_LOG(error, node, what, " threw: ", e.what()); } catch (...) {
    SYN_LOG(error, node, what, " threw a non-standard exception");
  }
}

}  // namespace

bool GroupsScope::listened(const GroupsTable::Shard& shard, std::string_view key) const {
  return node_->event_handler(scope()) || shard.subscribers.contains(key) ||
         !std::atomic_load(&scope_subscribers_)->empty();
}

std::uint64_t GroupsScope::post_change(GroupsTable::Shard& shard, Change change, std::string_view key, const Pid& pid,
                                       std::string_view previous_meta, std::string_view meta, const Reason& reason) {
  if (!listened(shard, key)) return 0;  // the common case of a write-heavy service: nothing to copy
  std::vector<MemberChange> changes;
  changes.push_back(MemberChange{change, pid, std::string(previous_meta), std::string(meta)});
  return post_changes(shard, key, std::move(changes), reason);
}

std::uint64_t GroupsScope::post_changes(GroupsTable::Shard& shard, std::string_view key,
                                        std::vector<MemberChange> changes, const Reason& reason) {
  if (changes.empty()) return 0;
  auto handler = node_->event_handler(scope());
  std::vector<std::shared_ptr<SubscriptionState>> subscribers;
  if (auto it = shard.subscribers.find(key); it != shard.subscribers.end()) subscribers = it->second;
  auto scope_wide = std::atomic_load(&scope_subscribers_);
  if (!handler && subscribers.empty() && scope_wide->empty()) return 0;
  return node_->post_callback([node = node_.get(), handler = std::move(handler), scope = scope(),
                               key = std::string(key), changes = std::move(changes), reason,
                               subscribers = std::move(subscribers), scope_wide = std::move(scope_wide)] {
    Term group = wire::decode_canonical(key);
    std::vector<Term> metas;
    metas.reserve(changes.size());
    for (const auto& c : changes) metas.push_back(meta_term(c.meta));
    if (handler) {
      for (std::size_t i = 0; i < changes.size(); ++i) {
        const auto& c = changes[i];
        guarded(node->name(), "an event handler", [&] {
          switch (c.change) {
            case Change::joined: handler->on_process_joined(scope, group, c.pid, metas[i], reason); break;
            case Change::updated:
              handler->on_group_process_updated(scope, group, c.pid, meta_term(c.previous_meta), metas[i], reason);
              break;
            case Change::left: handler->on_process_left(scope, group, c.pid, metas[i], reason); break;
          }
        });
      }
    }
    if (subscribers.empty() && scope_wide->empty()) return;
    // One event per run of changes of the same kind, in the order applied; without leaves
    // (a list join, a snapshot), the joins first and then the meta updates: one event each
    // (SPEC 4). A pid's update follows its join, so no pid sees its own changes reordered.
    // Reordered only when it matters: no leaves, and a join after an update.
    auto joins_after_updates = [&] {
      bool updated = false, joined_after = false;
      for (const auto& c : changes) {
        if (c.change == Change::left) return false;
        if (c.change == Change::updated) updated = true;
        if (c.change == Change::joined && updated) joined_after = true;
      }
      return joined_after;
    };
    std::vector<std::size_t> order;  // empty: the order applied (no allocation, the usual case)
    if (joins_after_updates()) {
      order.resize(changes.size());
      std::iota(order.begin(), order.end(), std::size_t{0});
      std::stable_partition(order.begin(), order.end(),
                            [&](std::size_t i) { return changes[i].change == Change::joined; });
    }
    auto at = [&](std::size_t i) { return order.empty() ? i : order[i]; };
    for (std::size_t first = 0; first < changes.size();) {
      std::size_t end = first;
      const Change kind = changes[at(first)].change;
      GroupEvent event{kind == Change::joined    ? GroupEvent::Type::join
                       : kind == Change::updated ? GroupEvent::Type::update
                                                 : GroupEvent::Type::leave,
                       group,
                       {}};
      for (; end < changes.size() && changes[at(end)].change == kind; ++end) {
        event.members.push_back(Member{changes[at(end)].pid, std::move(metas[at(end)])});
      }
      for (const auto& s : subscribers) guarded(node->name(), "a group subscription", [&] { s->deliver(event); });
      for (const auto& s : *scope_wide) guarded(node->name(), "a scope subscription", [&] { s->deliver(event); });
      first = end;
    }
  });
}

// ---- subscriptions -------------------------------------------------------------------------

Subscription GroupsScope::monitor(const Term& group, std::function<void(const GroupEvent&)> on_event,
                                  std::vector<Member>* current) {
  auto state = std::make_shared<SubscriptionState>();
  state->on_event = std::move(on_event);
  return subscribe_group(group, std::move(state), current);
}

Subscription GroupsScope::subscribe_group(const Term& group, std::shared_ptr<SubscriptionState> state,
                                          std::vector<Member>* current) {
  state->scope = weak_from_this();
  state->group_key = wire::canonical(group);
  auto& shard = table_.shard_for(state->group_key);
  // Under the shard lock: no change of the group can fall between the snapshot and the first
  // event (changes queue their events under this lock).
  WriterLock lock(shard.mutex);
  if (current) {
    // Dead local members whose cleanup is still running are included: their removal is
    // reported as a leave right after, and a leave must follow a member the subscriber knows
    // (hiding them here made `current` + events inconsistent).
    auto it = shard.groups.find(std::string_view(state->group_key));
    *current = it == shard.groups.end() ? std::vector<Member>{} : visible_members(it->second, std::nullopt, true);
  }
  shard.subscribers[state->group_key].push_back(state);
  return Subscription(state);
}

Subscription GroupsScope::monitor_scope(std::function<void(const GroupEvent&)> on_event,
                                        std::map<Term, std::vector<Member>>* current) {
  auto state = std::make_shared<SubscriptionState>();
  state->on_event = std::move(on_event);
  return subscribe_scope(std::move(state), current);
}

Subscription GroupsScope::subscribe_scope(std::shared_ptr<SubscriptionState> state,
                                          std::map<Term, std::vector<Member>>* current) {
  state->scope = weak_from_this();
  state->scope_wide = true;
  // Every shard locked (in order; writers hold one at a time): nothing changes while the
  // snapshot is taken and the subscription added.
  std::vector<std::shared_lock<SharedMutex>> locks;
  locks.reserve(GroupsTable::kShards);
  for (std::size_t i = 0; i < GroupsTable::kShards; ++i) locks.emplace_back(table_.shard(i).mutex);
  if (current) {
    current->clear();
    for (std::size_t i = 0; i < GroupsTable::kShards; ++i) {
      table_.shard(i).mutex.assert_held_shared();  // in `locks`, where the analysis cannot see it
      for (const auto& [key, group] : table_.shard(i).groups) {
        auto members = visible_members(group, std::nullopt, true);  // dead included: see monitor
        if (!members.empty()) current->emplace(wire::decode_canonical(key), std::move(members));
      }
    }
  }
  {
    std::lock_guard guard(scope_subscribers_mutex_);
    auto next = std::make_shared<std::vector<std::shared_ptr<SubscriptionState>>>(*scope_subscribers_);
    next->push_back(state);
    std::atomic_store(&scope_subscribers_,
                      std::shared_ptr<const std::vector<std::shared_ptr<SubscriptionState>>>(next));
  }
  return Subscription(state);
}

void GroupsScope::unsubscribe(const std::shared_ptr<SubscriptionState>& state) {
  if (state->subscriber) forget_subscriber(*state);
  if (state->scope_wide) {
    std::lock_guard guard(scope_subscribers_mutex_);
    auto next = std::make_shared<std::vector<std::shared_ptr<SubscriptionState>>>();
    for (const auto& s : *scope_subscribers_) {
      if (s != state) next->push_back(s);
    }
    std::atomic_store(&scope_subscribers_,
                      std::shared_ptr<const std::vector<std::shared_ptr<SubscriptionState>>>(next));
    return;
  }
  auto& shard = table_.shard_for(state->group_key);
  WriterLock lock(shard.mutex);
  auto it = shard.subscribers.find(std::string_view(state->group_key));
  if (it == shard.subscribers.end()) return;
  auto& list = it->second;
  list.erase(std::remove(list.begin(), list.end(), state), list.end());
  if (list.empty()) shard.subscribers.erase(it);
}

}  // namespace syn::detail
