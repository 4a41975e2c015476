// The control layer's view of a node's events: a tap on them (EventHandlers::set_tap, see
// EventTap) that turns each into one JSON line, queued for the control endpoint's followers
// (`synctl events --follow`) while there are some, and kept among the last kRecent once asked
// (`recent_events`: the status page, `synctl events`). Bounded: a burst beyond kMaxQueued
// drops the oldest lines and says how many.
#pragma once
#include "common/thread_safety.hpp"

#include <syn/events.hpp>
#include <syn/term.hpp>

#include <cstdint>
#include <deque>
#include <string>
#include <vector>

namespace syn::detail {

class EventFeed final : public EventHandler {
 public:
  static constexpr std::size_t kMaxQueued = 10000;
  static constexpr std::size_t kRecent = 50;

  explicit EventFeed(std::string node) : node_(std::move(node)) {}

  /// Whether lines are queued for take() (while the control endpoint has followers).
  void set_queueing(bool on);
  /// From now on, keep the last kRecent lines for recent().
  void keep_recent();
  /// The lines queued since the last call (a {"event":"dropped","count":N} line first when
  /// some were dropped). Any thread.
  std::deque<Term> take();
  /// The last `n` lines (at most kRecent) kept since keep_recent(), oldest first. Any thread.
  std::vector<Term> recent(std::size_t n) const;
  /// Every line made since keep_recent() (kept or not): a count to take rates from.
  std::uint64_t seen() const;

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
  mutable Mutex mutex_;
  bool queueing_ SYN_GUARDED_BY(mutex_) = false;
  bool keep_recent_ SYN_GUARDED_BY(mutex_) = false;
  std::deque<Term> queued_ SYN_GUARDED_BY(mutex_);
  std::uint64_t dropped_ SYN_GUARDED_BY(mutex_) = 0;
  std::deque<Term> recent_ SYN_GUARDED_BY(mutex_);
  std::uint64_t seen_ SYN_GUARDED_BY(mutex_) = 0;
};

}  // namespace syn::detail
