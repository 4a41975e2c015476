#pragma once
// The decision of the ZAP handler (ZeroMQ's authentication protocol, RFC 27), apart from its
// socket so that it can be fuzzed: a request's frames come from libzmq, built from what a
// peer sent in its CURVE handshake.
#include <string>
#include <string_view>
#include <vector>

namespace syn::transport {

/// What the ZAP handler answers to one request.
struct ZapVerdict {
  bool admitted = false;
  std::string request_id;  ///< echoed in the reply (frame 1; empty when absent)
  std::string address;     ///< the peer's address as libzmq gives it (frame 3), for the log
};

/// Decides one request (version, request id, domain, address, routing id, mechanism,
/// credentials...): admitted only for version "1.0", mechanism "CURVE" and a client key (32
/// raw bytes) among `accepted_keys`. Anything else, however malformed, is refused.
ZapVerdict decide_zap(const std::vector<std::string>& frames, const std::vector<std::string>& accepted_keys);

}  // namespace syn::transport
