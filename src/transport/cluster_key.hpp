#pragma once
// Cluster keys (SPEC 7): reading and checking them, and the CURVE key pair a node uses.
//
// Every node of a cluster holds the same CURVE key pair, made from the cluster's secret key:
// a node proves in the CURVE handshake that it holds the secret, both as a server (its ROUTER)
// and as a client (its DEALERs), and the ZAP handler admits only clients whose long-term
// public key is the cluster's. The secret never leaves this struct in a log or a message.
#include <string>
#include <vector>

namespace syn::transport {

/// A CURVE key pair as Z85 text (40 characters each).
struct CurveKeys {
  std::string secret;
  std::string public_key;
};

/// The key pair of a cluster secret key. Throws Error{bad_argument} naming `what` (an option
/// or a file, never the key) unless `secret` is 40 characters of Z85 text.
CurveKeys curve_keys_from_secret(const std::string& secret, const std::string& what);

/// Reads a key file: one line holding the key, surrounding whitespace ignored. Throws
/// Error{bad_argument} naming the file when it cannot be read, when group or others may read
/// or write it (as ssh does: mode 0600 or stricter), or when it holds no valid key.
CurveKeys read_cluster_key_file(const std::string& path);

/// The key pairs configured: first the cluster's key (cluster_key or cluster_key_file, at most
/// one of them), then the keys also accepted during a rotation; empty when no key is set.
/// Throws Error{bad_argument} naming the option.
std::vector<CurveKeys> configured_keys(const std::string& cluster_key, const std::string& cluster_key_file,
                                       const std::vector<std::string>& accepted = {});

/// True for an endpoint only this host can reach: ipc://, inproc://, tcp on 127.0.0.0/8,
/// [::1], localhost or the interface lo.
bool is_loopback_endpoint(const std::string& endpoint);
/// tcp://[v6 address]:port: the socket needs ZMQ_IPV6.
inline bool is_ipv6_endpoint(const std::string& endpoint) { return endpoint.rfind("tcp://[", 0) == 0; }

}  // namespace syn::transport
