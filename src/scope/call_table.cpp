#include "scope/call_table.hpp"

#include "common/log.hpp"

#include <vector>

namespace syn::detail {

namespace {
// How long an abandoned (timed-out) call waits for its late reply before it is forgotten.
constexpr auto kLateReplyWindow = std::chrono::seconds(60);
}  // namespace

void CallTable::call(std::uint32_t atom, const wire::ScopeAddress& address, std::string payload,
                     std::chrono::milliseconds timeout, ReplyHandler on_reply, std::uint32_t min_protocol) {
  std::uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  auto sent_at = std::chrono::steady_clock::now();
  auto task = [this, atom, id, address, sent_at, payload = std::move(payload), timeout, on_reply = std::move(on_reply),
               min_protocol]() mutable {
    engine_thread_.assert_held();  // run there directly, or posted there
    if (min_protocol != 0) {
      std::uint32_t protocol = node_.peer_protocol(atom);
      if (protocol != 0 && protocol < min_protocol) {
        SYN_LOG(warn, node_.name(), "a call needs protocol ", min_protocol, " but the link with ", node_name_of(atom),
                " runs ", protocol, ": not sent");
        on_reply(CallOutcome{kStatusPeerTooOld, nullptr, false});
        return;
      }
    }
    bool sent = node_.send_to_peer(atom, [&](wire::OutBuffer& out) {
      wire::begin_call(out, id, address);
      out.append(payload);
    });
    if (!sent) {
      on_reply(CallOutcome{status_of(Errc::node_down), nullptr, false});
      return;
    }
    pending_.emplace(id, Pending{atom, std::move(on_reply), false, sent_at});
    node_.add_timer(timeout, [this, id] { expire(id); });
  };
  if (node_.on_engine_thread()) {
    task();
  } else {
    node_.post(std::move(task));
  }
}

void CallTable::expire(std::uint64_t id) {
  engine_thread_.assert_held();
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  if (it->second.timed_out) {  // the late-reply window is over too
    pending_.erase(it);
    return;
  }
  it->second.timed_out = true;
  latency_.observe(std::chrono::steady_clock::now() - it->second.sent);
  it->second.on_reply(CallOutcome{status_of(Errc::timeout), nullptr, false});
  node_.add_timer(std::chrono::duration_cast<std::chrono::milliseconds>(kLateReplyWindow), [this, id] { expire(id); });
}

void CallTable::on_reply(std::uint32_t from, const wire::Reply& reply) {
  engine_thread_.assert_held();
  auto it = pending_.find(reply.request_id);
  if (it == pending_.end() || it->second.atom != from) return;
  Pending pending = std::move(it->second);
  pending_.erase(it);
  if (!pending.timed_out) latency_.observe(std::chrono::steady_clock::now() - pending.sent);
  pending.on_reply(CallOutcome{reply.status, reply.payload, pending.timed_out});
}

void CallTable::on_peer_down(std::uint32_t atom) {
  engine_thread_.assert_held();
  std::vector<Pending> ended;
  for (auto it = pending_.begin(); it != pending_.end();) {
    if (it->second.atom == atom) {
      ended.push_back(std::move(it->second));
      it = pending_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto& p : ended) {
    if (!p.timed_out) p.on_reply(CallOutcome{status_of(Errc::node_down), nullptr, false});
  }
}

void CallTable::fail_all() {
  engine_thread_.assert_held();
  auto all = std::move(pending_);
  pending_.clear();
  for (auto& [id, p] : all) {
    if (!p.timed_out) p.on_reply(CallOutcome{status_of(Errc::node_down), nullptr, false});
  }
}

}  // namespace syn::detail
