#pragma once
// A replicated configuration: a key-value map kept identical on every node by a multicast
// group (syn's guaranteed multicast, after RabbitMQ's gm). Every change is a broadcast; every
// replica applies what the group delivers. A replica that joins later asks the group for a
// snapshot and applies what arrives meanwhile on top of it.
//
// Why it converges: a value carries a version (its writer's counter, then the writer's pid),
// and a replica keeps the highest version of each key. Applying the same changes in any order,
// or twice (the snapshot and a change it already contains), gives the same map; the group
// guarantees that every member that stays gets every change of the views it is in, in each
// writer's order.
//
// The part to copy: Multicast::join with a handler, Membership::broadcast and
// confirmed_broadcast, on_joined / on_view / on_message, the snapshot request.
#include <syn/syn.hpp>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace examples {

/// One value of the configuration, with the version that wrote it.
struct Versioned {
  syn::Term value;
  std::uint64_t counter = 0;
  std::string writer;  ///< the writer's pid, as text (ties between counters)
  bool newer_than(const Versioned& other) const {
    return counter != other.counter ? counter > other.counter : writer > other.writer;
  }
};

class Replica {
 public:
  /// A node named `name` (seeded with `seeds`) whose replica joins group "config".
  Replica(const std::string& name, const std::vector<std::string>& seeds);
  ~Replica();

  syn::Node& node() { return node_; }

  /// Joins the group (returns once in it); a later joiner then asks for a snapshot.
  syn::Result<void> start();
  /// Sets `key` everywhere: returns once every member applied it.
  syn::Result<void> set(const std::string& key, syn::Term value);
  /// Sets `count` keys "<prefix>1".."<prefix>count" without waiting (a stream of changes).
  syn::Result<void> set_many(const std::string& prefix, int count);
  /// The configuration as JSON text (sorted keys), and a short digest of it.
  std::string dump() const;
  std::string digest() const;
  /// Members of the group as this replica last saw them.
  std::size_t members() const;
  /// True once this replica holds the state (the first member, or its snapshot arrived).
  bool ready() const;

 private:
  class Handler;
  void apply(const syn::Term& change);
  void apply_locked(const syn::Term& change);  ///< mutex_ held

  syn::Node node_;
  syn::Process process_;
  std::shared_ptr<Handler> handler_;
  std::optional<syn::Membership> membership_;
  std::uint64_t counter_ = 0;

  mutable std::mutex mutex_;
  std::map<std::string, Versioned> config_;
  std::size_t members_ = 0;
  bool ready_ = false;
  std::vector<syn::Term> early_;  ///< changes received before the snapshot
};

}  // namespace examples
