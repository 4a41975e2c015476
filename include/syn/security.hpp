#pragma once
/// \file
/// Cluster keys: the shared secret that authenticates and encrypts every link (SPEC 7).

#include <string>

namespace syn {

/// A new cluster secret key: exactly 40 characters, the Z85 text of a 32-byte CURVE secret
/// key, from the operating system's random source. Give the same key to every node of a
/// cluster (NodeOptions::cluster_key, or a file of mode 0600 named by cluster_key_file).
/// Throws Error{bad_argument} only if this libzmq was built without CURVE.
std::string generate_cluster_key();

}  // namespace syn
