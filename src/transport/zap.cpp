#include "transport/zap.hpp"

#include <algorithm>

namespace syn::transport {

ZapVerdict decide_zap(const std::vector<std::string>& frames, const std::vector<std::string>& accepted_keys) {
  ZapVerdict verdict;
  if (frames.size() > 1) verdict.request_id = frames[1];
  if (frames.size() > 3) verdict.address = frames[3];
  verdict.admitted = frames.size() >= 7 && frames[0] == "1.0" && frames[5] == "CURVE" &&
                     std::find(accepted_keys.begin(), accepted_keys.end(), frames[6]) != accepted_keys.end();
  return verdict;
}

}  // namespace syn::transport
