#pragma once
// The body of the ZAP fuzzer (tests/fuzz/fuzz_zap.cpp), also replayed under GCC in the unit
// suite: arbitrary bytes cut into a request's frames (each frame a length byte and its
// bytes) are decided by decide_zap, which must admit exactly the well-formed CURVE requests
// carrying an accepted key, and never fail otherwise.
#include "fuzz/fuzz_common.hpp"
#include "transport/zap.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace syn::fuzz {

/// Two accepted keys (a rotation): 32 bytes each.
inline const std::vector<std::string>& zap_accepted_keys() {
  static const std::vector<std::string> keys{std::string(32, 'K'), std::string(32, '\x01')};
  return keys;
}

/// Returns whether the request was admitted.
inline bool fuzz_zap(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string> frames;
  for (std::size_t at = 0; at < size && frames.size() < 16;) {
    std::size_t length = data[at++];
    std::size_t take = length < size - at ? length : size - at;
    frames.emplace_back(reinterpret_cast<const char*>(data + at), take);
    at += take;
  }
  auto verdict = transport::decide_zap(frames, zap_accepted_keys());
  bool expected = frames.size() >= 7 && frames[0] == "1.0" && frames[5] == "CURVE" &&
                  (frames[6] == zap_accepted_keys()[0] || frames[6] == zap_accepted_keys()[1]);
  require(verdict.admitted == expected, "decide_zap admitted what it should refuse, or the reverse");
  require(verdict.request_id == (frames.size() > 1 ? frames[1] : std::string()), "the request id is not echoed");
  return verdict.admitted;
}

/// Requests libzmq would send: one admitted per key, and refused variants.
inline std::vector<std::string> zap_seeds() {
  auto request = [](const std::string& version, const std::string& mechanism, const std::string& key) {
    std::vector<std::string> frames{version, "7", "syn", "198.18.0.9", "", mechanism, key};
    std::string out;
    for (const auto& f : frames) {
      out.push_back(static_cast<char>(f.size()));
      out += f;
    }
    return out;
  };
  return {request("1.0", "CURVE", zap_accepted_keys()[0]), request("1.0", "CURVE", zap_accepted_keys()[1]),
          request("1.0", "CURVE", std::string(32, 'x')), request("1.0", "NULL", ""),
          request("2.0", "CURVE", zap_accepted_keys()[0])};
}

}  // namespace syn::fuzz
