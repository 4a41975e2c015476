#include "control/event_tap.hpp"

#include "node/node_core.hpp"

#include <syn/node.hpp>

namespace syn::detail {

EventTap::EventTap(Node& node) : node_(node), feed_(std::make_shared<EventFeed>(node.name())) {}

EventTap::~EventTap() {
  MutexLock lock(mutex_);
  following_ = recording_ = false;
  update();
}

void EventTap::set_following(bool on) {
  MutexLock lock(mutex_);
  following_ = on;
  feed_->set_queueing(on);
  update();
}

void EventTap::keep_recent() {
  MutexLock lock(mutex_);
  if (recording_) return;
  recording_ = true;
  feed_->keep_recent();
  update();
}

void EventTap::update() {
  bool wanted = following_ || recording_;
  if (wanted == installed_) return;
  node_.core()->set_event_tap(wanted ? feed_ : nullptr);
  installed_ = wanted;
}

}  // namespace syn::detail
