#include "replica.hpp"

#include "common/cluster_key.hpp"

#include <functional>
#include <iomanip>
#include <sstream>

namespace examples {

namespace {

syn::NodeOptions options_for(const std::string& name, const std::vector<std::string>& seeds) {
  syn::NodeOptions o;
  o.name = name;
  o.seeds = seeds;
  o.scopes = {"state"};
  o.cluster_key_file = demo_cluster_key_file();
  return o;
}

}  // namespace

/// The member's callbacks: changes are applied, a snapshot request is answered by the oldest
/// other member, a snapshot for this replica is loaded.
class Replica::Handler final : public syn::MulticastHandler {
 public:
  explicit Handler(Replica& replica) : replica_(replica) {}

  void on_joined(const syn::View& view) override {
    view_ = view;  // the callbacks run one at a time: view_ needs no lock
    std::lock_guard lock(replica_.mutex_);
    replica_.members_ = view.members.size();
    if (view.members.size() == 1) replica_.ready_ = true;  // the first member: the state is empty and ours
  }
  void on_view(const syn::ViewChange& change) override {
    std::lock_guard lock(replica_.mutex_);
    replica_.members_ = change.view.members.size();
    view_ = change.view;
  }
  void on_message(const syn::Pid& from, const syn::Term& message) override {
    const auto& kind = message.at(0).get<std::string>();
    if (kind == "set") {
      replica_.apply(message);
    } else if (kind == "snapshot_request") {
      answer_snapshot_request(from);
    } else if (kind == "snapshot" && message.at(1).get<std::string>() == replica_.process_.pid().to_string()) {
      load_snapshot(message.at(2));
    }
  }

 private:
  // The oldest member that is not the requester answers, with everything it applied so far.
  void answer_snapshot_request(const syn::Pid& from) {
    const syn::Pid* oldest = nullptr;
    for (const auto& pid : view_.members) {
      if (pid != from) {
        oldest = &pid;
        break;
      }
    }
    if (!oldest || *oldest != replica_.process_.pid()) return;
    syn::Term state = syn::Term::array();
    {
      std::lock_guard lock(replica_.mutex_);
      if (!replica_.ready_) return;
      for (const auto& [key, v] : replica_.config_) state.push_back({"set", key, v.value, v.counter, v.writer});
    }
    // From a callback: broadcast never blocks here (it returns timeout when over the limit).
    (void)replica_.membership_->broadcast({"snapshot", from.to_string(), state});
  }
  void load_snapshot(const syn::Term& state) {
    std::lock_guard lock(replica_.mutex_);
    if (replica_.ready_) return;
    for (const auto& change : state) replica_.apply_locked(change);
    // Changes that came before the snapshot, on top of it (those it holds already change
    // nothing: a replica keeps the newest version of each key).
    for (const auto& change : replica_.early_) replica_.apply_locked(change);
    replica_.early_.clear();
    replica_.ready_ = true;
  }

  Replica& replica_;
  syn::View view_;
};

Replica::Replica(const std::string& name, const std::vector<std::string>& seeds)
    : node_(options_for(name, seeds)), process_(node_.spawn()), handler_(std::make_shared<Handler>(*this)) {}

Replica::~Replica() { membership_.reset(); }

syn::Result<void> Replica::start() {
  auto joined = node_.multicast("state").join("config", process_, handler_);
  if (!joined) return syn::unexpected(joined.error());
  membership_.emplace(std::move(*joined));
  if (membership_->view().members.size() > 1) {
    // Not the first: ask the group for the state; changes that arrive meanwhile wait for it.
    return membership_->broadcast({"snapshot_request"});
  }
  return {};
}

void Replica::apply(const syn::Term& change) {
  std::lock_guard lock(mutex_);
  if (!ready_) {
    early_.push_back(change);  // applied on top of the snapshot
    return;
  }
  apply_locked(change);
}

void Replica::apply_locked(const syn::Term& change) {
  Versioned v{change.at(2), change.at(3).get<std::uint64_t>(), change.at(4).get<std::string>()};
  auto& slot = config_[change.at(1).get<std::string>()];
  if (v.newer_than(slot)) slot = v;
}

syn::Result<void> Replica::set(const std::string& key, syn::Term value) {
  return membership_->confirmed_broadcast({"set", key, std::move(value), ++counter_, process_.pid().to_string()});
}

syn::Result<void> Replica::set_many(const std::string& prefix, int count) {
  for (int i = 1; i <= count; ++i) {
    auto r = membership_->broadcast({"set", prefix + std::to_string(i), i, ++counter_, process_.pid().to_string()});
    if (!r) return r;
  }
  return {};
}

std::string Replica::dump() const {
  syn::Term out = syn::Term::object();
  std::lock_guard lock(mutex_);
  for (const auto& [key, v] : config_) out[key] = v.value;
  return out.dump();
}

std::string Replica::digest() const {
  std::ostringstream out;
  out << std::hex << std::setw(16) << std::setfill('0') << std::hash<std::string>{}(dump());
  std::lock_guard lock(mutex_);
  return std::to_string(config_.size()) + " keys, digest " + out.str();
}

std::size_t Replica::members() const {
  std::lock_guard lock(mutex_);
  return members_;
}

bool Replica::ready() const {
  std::lock_guard lock(mutex_);
  return ready_;
}

}  // namespace examples
