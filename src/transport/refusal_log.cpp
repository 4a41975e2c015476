#include "transport/refusal_log.hpp"

#include "common/log.hpp"

namespace syn::transport {

namespace {
// Keys carry peer addresses, which an attacker chooses: past this many, expired ones go.
constexpr std::size_t kMaxSlots = 4096;
}  // namespace

bool RefusalLog::refused(const std::string& key, const std::string& text, detail::TimePoint now, LogLevel level,
                         const std::string& peer) {
  auto it = slots_.find(key);
  if (it != slots_.end() && now - it->second.logged_at < period_) {
    ++it->second.suppressed;
    return false;
  }
  if (it == slots_.end() && slots_.size() >= kMaxSlots) {
    std::erase_if(slots_, [&](const auto& slot) { return now - slot.second.logged_at >= period_; });
    if (slots_.size() >= kMaxSlots) return false;  // a flood from many addresses: stay quiet
  }
  std::uint64_t suppressed = it == slots_.end() ? 0 : it->second.suppressed;
  slots_[key] = Slot{now, 0};
  SYN_LOG_COUNTED(level, node_name_, peer, suppressed, text);
  return true;
}

}  // namespace syn::transport
