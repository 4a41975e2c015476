#pragma once
// How the nodes of the net tests protect their links, and the cluster key file they share.
//
// The scenarios run with a cluster key (CURVE on every link), as issue 10 asks.
// SYN_NET_SECURITY=insecure runs them in plaintext instead ("allow_insecure": true), to tell
// a failure of the network from a failure of the handshake.
#include <syn/term.hpp>

#include <string>

namespace syn::test::net {

/// What the nodes are told about security.
enum class NetSecurity {
  cluster_key,  ///< "cluster_key_file": a file the cluster writes (CURVE on every link)
  insecure,     ///< "allow_insecure": true and no key (plaintext on purpose)
};

/// The mode of this run: SYN_NET_SECURITY (cluster_key or insecure) when set, an unknown value
/// being a std::runtime_error; cluster_key otherwise.
NetSecurity net_security();
/// "cluster_key" or "insecure".
const char* to_string(NetSecurity mode);

/// A file holding a cluster key on one line, mode 0600 (as syn requires), in a directory of
/// its own (mode 0700) under TMPDIR; both are removed with the object. Not copyable.
class KeyFile {
 public:
  explicit KeyFile(const std::string& key);
  ~KeyFile();
  KeyFile(const KeyFile&) = delete;
  KeyFile& operator=(const KeyFile&) = delete;

  const std::string& path() const { return path_; }

 private:
  std::string dir_;
  std::string path_;
};

/// Adds the keys `mode` needs to a node's JSON options: "cluster_key_file": `key_file` (which
/// must then be non-null), or "allow_insecure": true.
void add_security_options(Term& options, NetSecurity mode, const KeyFile* key_file);

}  // namespace syn::test::net
