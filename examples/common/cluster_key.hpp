#pragma once
// The demos' cluster key: the demo makes a fresh key for its cluster, writes it to a file only
// its user may read (mode 0600, as syn requires), and hands the file to the node processes it
// starts through the environment variable SYN_CLUSTER_KEY_FILE. Every link between the demo's
// nodes is then authenticated and encrypted, as it would be in production.
#include <syn/syn.hpp>

#include <string>

namespace examples {

/// In the demo's main process: makes the key file (removed when the program exits) and sets
/// SYN_CLUSTER_KEY_FILE for the node processes started afterwards.
void make_demo_cluster_key();

/// In a node process: the key file the demo made (for NodeOptions::cluster_key_file), or
/// empty when the program was started by hand without SYN_CLUSTER_KEY_FILE.
std::string demo_cluster_key_file();

}  // namespace examples
