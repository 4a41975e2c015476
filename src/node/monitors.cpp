#include "node/monitors.hpp"

#include "node/node_core.hpp"
#include "wire/messages.hpp"

#include <algorithm>

namespace syn::detail {

namespace {
const Term& noproc() {
  static const Term t = "noproc";
  return t;
}
const Term& noconnection() {
  static const Term t = "noconnection";
  return t;
}
/// DOWNs sent per engine task (see send_downs): a few milliseconds of work in a Debug build.
constexpr std::size_t kDownsPerTask = 1024;
}  // namespace

void Monitors::fire(std::shared_ptr<Callback> callback, const Pid& target, Term reason) {
  node_.dispatcher().post([callback = std::move(callback), target, reason = std::move(reason)] {
    if (!callback->cancelled.load(std::memory_order_acquire)) callback->fn(target, reason);
  });
}

std::uint64_t Monitors::monitor(const Pid& target, OnDown on_down) {
  auto callback = std::make_shared<Callback>();
  callback->fn = std::move(on_down);
  std::uint64_t ref;
  // A pid of this node's name is ours to answer, whatever its incarnation: a previous one is
  // dead (noproc), not unreachable. The null pid never lived either.
  if (target.node_atom() == node_.atom() || target.is_null()) {
    MutexLock lock(mutex_);
    ref = ++next_ref_;
    auto process = node_.find_local(target);
    // Checked under our lock: a death after this point finds the watch (on_local_exit locks).
    if (!process || !process->alive()) {
      lock.unlock();
      fire(callback, target, noproc());
      return ref;
    }
    watches_.emplace(ref, Watch{target, callback});
    on_local_[target.id()].insert(ref);
    return ref;
  }
  {
    MutexLock lock(mutex_);
    ref = ++next_ref_;
    watches_.emplace(ref, Watch{target, callback});
  }
  // Registered on the engine thread, where node-down events are handled: none is missed.
  node_.engine().post([this, ref] { register_remote(ref); });
  return ref;
}

void Monitors::register_remote(std::uint64_t ref) {
  MutexLock lock(mutex_);
  auto it = watches_.find(ref);
  if (it == watches_.end()) return;  // demonitored meanwhile
  Pid target = it->second.target;
  if (!node_.is_connected(target)) {
    auto callback = it->second.callback;
    watches_.erase(it);
    lock.unlock();
    // A pid of a node we do not reach, or of an old incarnation of one.
    bool old_incarnation = node_.is_up(target.node_atom());
    fire(callback, target, old_incarnation ? noproc() : noconnection());
    return;
  }
  on_node_[target.node_atom()].insert(ref);
  lock.unlock();
  node_.send_to_peer(target.node_atom(), [&](wire::OutBuffer& out) {
    wire::encode(out, wire::Monitor{ref, {target.creation(), target.id()}});
  });
}

void Monitors::demonitor(std::uint64_t ref) {
  MutexLock lock(mutex_);
  auto it = watches_.find(ref);
  if (it == watches_.end()) return;
  Watch watch = std::move(it->second);
  watches_.erase(it);
  watch.callback->cancelled.store(true, std::memory_order_release);
  if (node_.is_local(watch.target)) {
    auto& refs = on_local_[watch.target.id()];
    refs.erase(ref);
    if (refs.empty()) on_local_.erase(watch.target.id());
    return;
  }
  lock.unlock();
  std::uint32_t atom = watch.target.node_atom();
  node_.engine().post([this, atom, ref] {
    {
      MutexLock inner(mutex_);
      if (auto n = on_node_.find(atom); n != on_node_.end()) n->second.erase(ref);
    }
    node_.send_to_peer(atom, [&](wire::OutBuffer& out) { wire::encode(out, wire::Demonitor{ref}); });
  });
}

void Monitors::on_local_exit(const Pid& pid, const Term& reason) {
  std::vector<std::shared_ptr<Callback>> ours;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> theirs;
  {
    MutexLock lock(mutex_);
    if (auto it = on_local_.find(pid.id()); it != on_local_.end()) {
      for (auto ref : it->second) {
        if (auto w = watches_.find(ref); w != watches_.end()) {
          ours.push_back(w->second.callback);
          watches_.erase(w);
        }
      }
      on_local_.erase(it);
    }
    if (auto it = remote_watchers_.find(pid.id()); it != remote_watchers_.end()) {
      theirs.assign(it->second.begin(), it->second.end());
      remote_watchers_.erase(it);
      for (auto& key : theirs) remote_watch_target_.erase(key);
    }
  }
  for (auto& callback : ours) fire(callback, pid, reason);
  if (!theirs.empty()) send_downs(std::move(theirs), reason);
}

void Monitors::send_downs(std::vector<std::pair<std::uint32_t, std::uint64_t>> watchers, const Term& reason) {
  // Tasks run in the order posted: the slices go out in order, each after what the process
  // sent before it died.
  auto all = std::make_shared<const std::vector<std::pair<std::uint32_t, std::uint64_t>>>(std::move(watchers));
  for (std::size_t first = 0; first < all->size(); first += kDownsPerTask) {
    node_.engine().post([this, all, first, reason] {
      const std::size_t end = std::min(all->size(), first + kDownsPerTask);
      for (std::size_t i = first; i < end; ++i) {
        const std::uint64_t ref = (*all)[i].second;
        node_.send_to_peer((*all)[i].first, [&](wire::OutBuffer& out) { wire::encode_down(out, ref, reason); });
      }
    });
  }
}

void Monitors::on_remote_monitor(std::uint32_t from, std::uint64_t ref, const Pid& target) {
  {
    MutexLock lock(mutex_);
    auto process = node_.find_local(target);
    if (process && process->alive()) {
      remote_watchers_[target.id()].emplace(from, ref);
      remote_watch_target_[{from, ref}] = target.id();
      return;
    }
  }
  node_.send_to_peer(from, [&](wire::OutBuffer& out) { wire::encode_down(out, ref, noproc()); });
}

void Monitors::on_remote_demonitor(std::uint32_t from, std::uint64_t ref) {
  MutexLock lock(mutex_);
  auto it = remote_watch_target_.find({from, ref});
  if (it == remote_watch_target_.end()) return;
  auto& watchers = remote_watchers_[it->second];
  watchers.erase({from, ref});
  if (watchers.empty()) remote_watchers_.erase(it->second);
  remote_watch_target_.erase(it);
}

void Monitors::on_remote_down(std::uint32_t from, std::uint64_t ref, const Term& reason) {
  std::shared_ptr<Callback> callback;
  Pid target;
  {
    MutexLock lock(mutex_);
    auto it = watches_.find(ref);
    if (it == watches_.end() || it->second.target.node_atom() != from) return;
    callback = it->second.callback;
    target = it->second.target;
    watches_.erase(it);
    if (auto n = on_node_.find(from); n != on_node_.end()) n->second.erase(ref);
  }
  fire(callback, target, reason);
}

void Monitors::on_peer_down(std::uint32_t atom) {
  std::vector<std::pair<Pid, std::shared_ptr<Callback>>> fired;
  {
    MutexLock lock(mutex_);
    if (auto n = on_node_.find(atom); n != on_node_.end()) {
      for (auto ref : n->second) {
        if (auto w = watches_.find(ref); w != watches_.end()) {
          fired.emplace_back(w->second.target, w->second.callback);
          watches_.erase(w);
        }
      }
      on_node_.erase(n);
    }
    // Keyed by (node, ref): that node's watches are one range.
    for (auto it = remote_watch_target_.lower_bound({atom, 0});
         it != remote_watch_target_.end() && it->first.first == atom;) {
      auto& watchers = remote_watchers_[it->second];
      watchers.erase(it->first);
      if (watchers.empty()) remote_watchers_.erase(it->second);
      it = remote_watch_target_.erase(it);
    }
  }
  for (auto& [target, callback] : fired) fire(callback, target, noconnection());
}

std::size_t Monitors::watch_count() {
  MutexLock lock(mutex_);
  return watches_.size() + remote_watch_target_.size();
}

}  // namespace syn::detail
