#pragma once
// The node's event handlers: one for the node, optional ones that replace it for a scope
// (Node::set_event_handler(scope, handler)), and a tap that sees every event beside them (the
// control endpoint's `events --follow`). Read on every change from any thread, written
// rarely: readers load one immutable table (an atomic shared_ptr), writers copy it. Without a
// tap, a reader gets the user's handler itself: no cost for a feature nobody uses.
#include "common/thread_safety.hpp"

#include <syn/events.hpp>

#include <atomic>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace syn::detail {

/// Forwards every callback to two handlers, the first one first.
class TeeHandler final : public EventHandler {
 public:
  TeeHandler(std::shared_ptr<EventHandler> first, std::shared_ptr<EventHandler> second)
      : first_(std::move(first)), second_(std::move(second)) {}
  void on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                             const Reason& reason) override;
  void on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid, const Term& previous_meta,
                                   const Term& meta, const Reason& reason) override;
  void on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                               const Reason& reason) override;
  void on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                         const Reason& reason) override;
  void on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid, const Term& previous_meta,
                                const Term& meta, const Reason& reason) override;
  void on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                       const Reason& reason) override;
  void on_node_up(const std::string& node) override;
  void on_node_down(const std::string& node, const std::string& reason) override;
  void on_scope_synced(Kind kind, std::string_view scope, const std::string& node) override;

 private:
  /// Calls `fn` on both; an exception of the first does not keep the second from running.
  template <class F>
  void both(F&& fn);
  std::shared_ptr<EventHandler> first_;
  std::shared_ptr<EventHandler> second_;
};

class EventHandlers {
 public:
  explicit EventHandlers(std::shared_ptr<EventHandler> node_handler);

  /// The handler of lifecycle events (the node's, with the tap); may be null.
  std::shared_ptr<EventHandler> for_node() const {
    if (none_.load(std::memory_order_acquire)) return nullptr;
    return std::atomic_load(&table_)->node;
  }

  /// The handler of `scope`'s changes: the scope's own, else the node's (with the tap); may
  /// be null.
  std::shared_ptr<EventHandler> for_scope(std::string_view scope) const {
    // Most nodes have no handler: they skip the table, whose reference count every thread
    // would otherwise touch on every change.
    if (none_.load(std::memory_order_acquire)) return nullptr;
    auto table = std::atomic_load(&table_);
    if (!table->scopes.empty()) {
      if (auto it = table->scopes.find(scope); it != table->scopes.end()) return it->second;
    }
    return table->node;
  }

  /// Replaces the node's handler (nullptr: none).
  void set_for_node(std::shared_ptr<EventHandler> handler);
  /// Replaces the node's handler for `scope` (nullptr: the scope uses the node's again).
  void set_for_scope(std::string_view scope, std::shared_ptr<EventHandler> handler);
  /// Sets the handler that sees every event beside the others (nullptr: none).
  void set_tap(std::shared_ptr<EventHandler> tap);

 private:
  struct Table {
    std::shared_ptr<EventHandler> node;  // what readers get: the user's, teed with the tap
    std::map<std::string, std::shared_ptr<EventHandler>, std::less<>> scopes;
  };
  /// Publishes the table the user's settings and the tap make.
  void publish() SYN_REQUIRES(write_mutex_);

  Mutex write_mutex_;  // one writer at a time, so that no update is lost
  std::shared_ptr<EventHandler> user_node_ SYN_GUARDED_BY(write_mutex_);
  std::map<std::string, std::shared_ptr<EventHandler>, std::less<>> user_scopes_ SYN_GUARDED_BY(write_mutex_);
  std::shared_ptr<EventHandler> tap_ SYN_GUARDED_BY(write_mutex_);
  std::shared_ptr<const Table> table_;
  std::atomic<bool> none_{true};  // the table has no handler at all (published with it)
};

}  // namespace syn::detail
