#include "control/event_feed.hpp"

#include "control/control_commands.hpp"

#include <algorithm>
#include <chrono>

namespace syn::detail {

void EventFeed::set_queueing(bool on) {
  MutexLock lock(mutex_);
  queueing_ = on;
  if (!on) {
    queued_.clear();
    dropped_ = 0;
  }
}

void EventFeed::keep_recent() {
  MutexLock lock(mutex_);
  keep_recent_ = true;
}

std::vector<Term> EventFeed::recent(std::size_t n) const {
  MutexLock lock(mutex_);
  n = std::min(n, recent_.size());
  return {recent_.end() - static_cast<std::ptrdiff_t>(n), recent_.end()};
}

std::uint64_t EventFeed::seen() const {
  MutexLock lock(mutex_);
  return seen_;
}

std::deque<Term> EventFeed::take() {
  MutexLock lock(mutex_);
  std::deque<Term> out;
  out.swap(queued_);
  if (dropped_ != 0) {
    out.push_front({{"event", "dropped"}, {"node", node_}, {"count", dropped_}});
    dropped_ = 0;
  }
  return out;
}

void EventFeed::push(const char* event, Term fields) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch());
  fields["event"] = event;
  fields["node"] = node_;
  fields["time_ms"] = ms.count();
  MutexLock lock(mutex_);
  if (keep_recent_) {
    ++seen_;
    if (recent_.size() >= kRecent) recent_.pop_front();
    recent_.push_back(queueing_ ? fields : std::move(fields));
  }
  if (!queueing_) return;
  if (queued_.size() >= kMaxQueued) {
    queued_.pop_front();
    ++dropped_;
  }
  queued_.push_back(std::move(fields));
}

Term EventFeed::entry_line(std::string_view scope, const char* key, const Term& name, const Pid& pid, const Term& meta,
                           const Reason& reason) const {
  Term line = pid_meta_json(pid, meta);
  line["scope"] = std::string(scope);
  line[key] = name;
  line["reason"] = reason_json(reason);
  return line;
}

void EventFeed::on_process_registered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                      const Reason& reason) {
  push("registered", entry_line(scope, "name", name, pid, meta, reason));
}
void EventFeed::on_registry_process_updated(std::string_view scope, const Term& name, const Pid& pid,
                                            const Term& previous_meta, const Term& meta, const Reason& reason) {
  auto line = entry_line(scope, "name", name, pid, meta, reason);
  line["previous_meta"] = previous_meta;
  push("updated", std::move(line));
}
void EventFeed::on_process_unregistered(std::string_view scope, const Term& name, const Pid& pid, const Term& meta,
                                        const Reason& reason) {
  push("unregistered", entry_line(scope, "name", name, pid, meta, reason));
}
void EventFeed::on_process_joined(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                                  const Reason& reason) {
  push("joined", entry_line(scope, "group", group, pid, meta, reason));
}
void EventFeed::on_group_process_updated(std::string_view scope, const Term& group, const Pid& pid,
                                         const Term& previous_meta, const Term& meta, const Reason& reason) {
  auto line = entry_line(scope, "group", group, pid, meta, reason);
  line["previous_meta"] = previous_meta;
  push("member_updated", std::move(line));
}
void EventFeed::on_process_left(std::string_view scope, const Term& group, const Pid& pid, const Term& meta,
                                const Reason& reason) {
  push("left", entry_line(scope, "group", group, pid, meta, reason));
}
void EventFeed::on_node_up(const std::string& node) { push("node_up", {{"peer", node}}); }
void EventFeed::on_node_down(const std::string& node, const std::string& reason) {
  push("node_down", {{"peer", node}, {"reason", reason}});
}
void EventFeed::on_scope_synced(Kind kind, std::string_view scope, const std::string& node) {
  push("scope_synced", {{"kind", std::string(to_string(kind))}, {"scope", std::string(scope)}, {"peer", node}});
}

}  // namespace syn::detail
