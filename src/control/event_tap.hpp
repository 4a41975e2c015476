#pragma once
// Who watches a node's events through the control layer: the control endpoint's followers
// (`synctl events --follow`) and the record of recent events (the `recent_events` command: the
// status page, `synctl events`). One EventFeed serves both, and it is the node's event tap
// only while one of them wants it: a node nobody watches pays nothing for it.
#include "common/thread_safety.hpp"
#include "control/event_feed.hpp"

#include <memory>

namespace syn {
class Node;
}

namespace syn::detail {

class EventTap {
 public:
  explicit EventTap(Node& node);
  ~EventTap();
  EventTap(const EventTap&) = delete;
  EventTap& operator=(const EventTap&) = delete;

  /// The control endpoint has followers (true) or has none any more (false).
  void set_following(bool on);
  /// From now on the node keeps its last events (idempotent).
  void keep_recent();
  EventFeed& feed() { return *feed_; }

 private:
  /// Installs the feed as the node's tap when someone watches, removes it otherwise.
  void update() SYN_REQUIRES(mutex_);

  Node& node_;
  const std::shared_ptr<EventFeed> feed_;
  Mutex mutex_;
  bool following_ SYN_GUARDED_BY(mutex_) = false;
  bool recording_ SYN_GUARDED_BY(mutex_) = false;
  bool installed_ SYN_GUARDED_BY(mutex_) = false;
};

}  // namespace syn::detail
