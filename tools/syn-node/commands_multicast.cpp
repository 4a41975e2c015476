// Multicast commands (SPEC 8): one per call of syn::Multicast and syn::Membership, on the
// request's "scope". A member is named by (scope, group, pid); the agent keeps its Membership
// and records what its callbacks saw, which multicast_member returns. Every callback is also
// printed as an event line ("multicast_joined", "multicast_view", "multicast_left", and
// "multicast_message" when the join asked for print_messages: a busy group would flood the
// output otherwise).
#include "commands.hpp"
#include "scope_terms.hpp"

#include <syn/multicast.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <tuple>
#include <utility>

namespace syn_node {

namespace {

syn::Term view_json(const syn::View& view) {
  syn::Term members = syn::Term::array();
  for (const auto& pid : view.members) members.push_back(pid.to_string());
  return {{"group", view.group},
          {"coordinator", view.id.coordinator.to_string()},
          {"number", view.id.number},
          {"members", members}};
}

/// "<coordinator>#<number>": names a view (what ViewId holds).
std::string view_name(const syn::View& view) {
  return view.id.coordinator.to_string() + "#" + std::to_string(view.id.number);
}

/// Records one member's callbacks and prints its view changes.
class RecordingHandler final : public syn::MulticastHandler {
 public:
  RecordingHandler(Output& output, std::string scope, std::string pid, bool print_messages)
      : output_(output), scope_(std::move(scope)), pid_(std::move(pid)), print_messages_(print_messages) {}

  void on_joined(const syn::View& view) override {
    remember_view(view);
    output_.event("multicast_joined", {{"scope", scope_}, {"pid", pid_}, {"view", view_json(view)}});
  }
  void on_view(const syn::ViewChange& change) override {
    remember_view(change.view);
    syn::Term joined = syn::Term::array();
    for (const auto& pid : change.joined) joined.push_back(pid.to_string());
    syn::Term left = syn::Term::array();
    for (const auto& [pid, reason] : change.left) {
      left.push_back({{"pid", pid.to_string()}, {"reason", std::string(syn::to_string(reason))}});
    }
    output_.event("multicast_view", {{"scope", scope_},
                                     {"pid", pid_},
                                     {"view", view_json(change.view)},
                                     {"joined", joined},
                                     {"left", left},
                                     {"merged", change.merged}});
  }
  void on_message(const syn::Pid& from, const syn::Term& message) override {
    std::string view;
    {
      std::lock_guard lock(mutex_);
      received_.push_back({{"from", from.to_string()}, {"message", message}, {"view", current_view_}});
      if (print_messages_) view = current_view_;
    }
    if (print_messages_) {
      output_.event(
          "multicast_message",
          {{"scope", scope_}, {"pid", pid_}, {"from", from.to_string()}, {"message", message}, {"view", view}});
    }
    // A slow consumer, for operators and tests: the member acknowledges a message only once
    // this callback returns, so a delay holds back confirmation and, past multicast_max_lag,
    // gets the node evicted.
    if (auto delay = delay_.load(); delay.count() > 0) std::this_thread::sleep_for(delay);
  }
  void on_left(syn::LeaveReason reason) override {
    {
      std::lock_guard lock(mutex_);
      left_ = std::string(syn::to_string(reason));
    }
    output_.event("multicast_left",
                  {{"scope", scope_}, {"pid", pid_}, {"reason", std::string(syn::to_string(reason))}});
  }

  /// How long each on_message sleeps after recording its message (0: not at all).
  void set_delay(std::chrono::milliseconds delay) { delay_.store(delay); }

  /// {received: [{from, message}...], views: [view...], left: reason | null}.
  syn::Term record() const {
    std::lock_guard lock(mutex_);
    syn::Term received = syn::Term::array();
    for (const auto& r : received_) received.push_back(r);
    syn::Term views = syn::Term::array();
    for (const auto& v : views_) views.push_back(v);
    return {{"received", received}, {"views", views}, {"left", left_ ? syn::Term(*left_) : syn::Term(nullptr)}};
  }

 private:
  void remember_view(const syn::View& view) {
    std::lock_guard lock(mutex_);
    views_.push_back(view_json(view));
    current_view_ = view_name(view);
  }

  Output& output_;
  const std::string scope_;
  const std::string pid_;
  const bool print_messages_;
  mutable std::mutex mutex_;
  std::vector<syn::Term> received_;
  std::vector<syn::Term> views_;
  std::string current_view_;  // the view this member received its messages in (view_name)
  std::optional<std::string> left_;
  std::atomic<std::chrono::milliseconds> delay_{std::chrono::milliseconds(0)};
};

struct Member {
  std::shared_ptr<RecordingHandler> handler;
  syn::Membership membership;
};

using MemberKey = std::tuple<std::string, std::string, std::string>;  // scope, group (JSON), pid

/// The agent's members. Commands run one at a time on the control thread: no lock needed.
std::map<MemberKey, Member>& members(Context& ctx) {
  static std::map<MemberKey, Member> all;
  static bool hooked = false;
  if (!hooked) {
    hooked = true;
    ctx.at_stop([] { all.clear(); });  // they leave before the node stops
  }
  return all;
}

MemberKey key_of(const Args& args) { return {args.string("scope"), args.term("group").dump(), args.string("pid")}; }

Member& member_of(Context& ctx, const Args& args) {
  auto& all = members(ctx);
  auto it = all.find(key_of(args));
  if (it == all.end()) throw CommandError("not a member this agent joined", "not_in_group");
  return it->second;
}

syn::Multicast multicast_of(Context& ctx, const Args& args) {
  try {
    return ctx.node().multicast(args.string("scope"));
  } catch (const syn::Error& e) { rethrow_as_errc(e); }
}

}  // namespace

SYN_NODE_COMMAND(multicast_join,
                 "multicast_join{scope, group, pid, receive_own=true, join_timeout_ms=5000, delay_ms=0, "
                 "print_messages=false} -> {view} (an owned process joins a multicast group; its callbacks are "
                 "recorded (multicast_member) and printed as event lines: multicast_joined, multicast_view, "
                 "multicast_left, and with print_messages multicast_message{from, message, view}; each message "
                 "callback sleeps delay_ms: a slow consumer)") {
  auto multicast = multicast_of(ctx, args);
  auto& process = ctx.process(args.string("pid"));
  syn::MulticastOptions options;
  options.receive_own = args.boolean_or("receive_own", true);
  options.join_timeout = args.millis_or("join_timeout_ms", options.join_timeout);
  auto handler = std::make_shared<RecordingHandler>(ctx.output(), args.string("scope"), args.string("pid"),
                                                    args.boolean_or("print_messages", false));
  handler->set_delay(args.millis_or("delay_ms", std::chrono::milliseconds(0)));
  auto membership = unwrap(multicast.join(args.term("group"), process, handler, options));
  auto view = membership.view();
  members(ctx).insert_or_assign(key_of(args), Member{handler, std::move(membership)});
  return {{"view", view_json(view)}};
}

SYN_NODE_COMMAND(multicast_broadcast, "multicast_broadcast{scope, group, pid, message} -> {}") {
  unwrap(member_of(ctx, args).membership.broadcast(args.term("message")));
  return {};
}

SYN_NODE_COMMAND(multicast_broadcast_many,
                 "multicast_broadcast_many{scope, group, pid, count, prefix=\"m\"} -> {} (broadcasts "
                 "[prefix, 1] ... [prefix, count] in order)") {
  auto& member = member_of(ctx, args);
  auto prefix = args.string_or("prefix", "m");
  auto count = args.integer("count");
  for (std::int64_t i = 1; i <= count; ++i) unwrap(member.membership.broadcast(syn::Term::array({prefix, i})));
  return {};
}

SYN_NODE_COMMAND(multicast_confirmed_broadcast,
                 "multicast_confirmed_broadcast{scope, group, pid, message, timeout_ms=5000} -> {} (returns "
                 "once every member of its view received it)") {
  unwrap(member_of(ctx, args).membership.confirmed_broadcast(
      args.term("message"), args.millis_or("timeout_ms", std::chrono::milliseconds(5000))));
  return {};
}

SYN_NODE_COMMAND(multicast_leave, "multicast_leave{scope, group, pid} -> {} (returns once on_left ran)") {
  unwrap(member_of(ctx, args).membership.leave());
  return {};
}

SYN_NODE_COMMAND(multicast_set_delay,
                 "multicast_set_delay{scope, group, pid, delay_ms} -> {} (how long each of the member's message "
                 "callbacks sleeps from now on)") {
  member_of(ctx, args).handler->set_delay(args.millis_or("delay_ms", std::chrono::milliseconds(0)));
  return {};
}

SYN_NODE_COMMAND(multicast_member,
                 "multicast_member{scope, group, pid} -> {active, view, received: [{from, message, view: "
                 "\"<coordinator>#<number>\"}...], views: [view...], left: reason|null} (what its callbacks "
                 "saw; each message with the view it was received in)") {
  auto& member = member_of(ctx, args);
  auto out = member.handler->record();
  out["active"] = member.membership.active();
  out["view"] = view_json(member.membership.view());
  return out;
}

SYN_NODE_COMMAND(multicast_view, "multicast_view{scope, group} -> {view: view|null} (while a local member is in it)") {
  auto view = multicast_of(ctx, args).view(args.term("group"));
  return {{"view", view ? view_json(*view) : syn::Term(nullptr)}};
}

SYN_NODE_COMMAND(multicast_group_names, "multicast_group_names{scope} -> {groups: [group...]} (with a local member)") {
  syn::Term groups = syn::Term::array();
  for (const auto& group : multicast_of(ctx, args).group_names()) groups.push_back(group);
  return {{"groups", groups}};
}

}  // namespace syn_node
