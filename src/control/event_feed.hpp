// The control endpoint's live events (`synctl events --follow`): a tap on the node's events
// (EventHandlers::set_tap) that turns each into one JSON line and queues it for the control
// thread. Bounded: a burst beyond kMaxQueued drops the oldest lines and says how many.
#pragma once
#include "common/thread_safety.hpp"

#include <syn/events.hpp>
#include <syn/term.hpp>

#include <cstdint>
#include <deque>
#include <string>

namespace syn::detail {

class EventFeed final : public EventHandler {
 public:
  static constexpr std::size_t kMaxQueued = 10000;

  explicit EventFeed(std::string node) : node_(std::move(node)) {}

  /// The lines queued since the last call (a {"event":"dropped","count":N} line first when
  /// some were dropped). Any thread.
  std::deque<Term> take();

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
  /// {event, node (this one), ...fields}, queued.
  void push(const char* event, Term fields);
  Term entry_line(std::string_view scope, const char* key, const Term& name, const Pid& pid, const Term& meta,
                  const Reason& reason) const;

  const std::string node_;
  Mutex mutex_;
  std::deque<Term> queued_ SYN_GUARDED_BY(mutex_);
  std::uint64_t dropped_ SYN_GUARDED_BY(mutex_) = 0;
};

}  // namespace syn::detail
