#pragma once
/// \file
/// Command-line options of syn-bench.

#include <cstddef>
#include <string>
#include <vector>

namespace syn::bench {

/// What to run and where to write.
struct Options {
  std::string mode = "default";    ///< "quick", "default" or "full"
  std::vector<std::string> only;   ///< workload names (empty: all)
  int runs = 3;                    ///< runs per workload
  std::vector<std::size_t> sizes;  ///< N of the sized workloads (registry, groups...)
  std::size_t workers = 100;       ///< concurrent callers per writer node (W)
  std::string json_path = "bench/results/latest.json";
  std::string node_binary;  ///< syn-bench-node
  std::string log_dir;      ///< node logs (stderr of each node)
  std::string commit;       ///< recorded in the JSON
  bool list = false;        ///< print the workloads and exit

  /// quick: smaller fixed-size workloads too.
  bool quick() const { return mode == "quick"; }
  bool full() const { return mode == "full"; }
};

/// Parses argv; prints usage and exits on --help; throws std::invalid_argument on a bad option.
Options parse_options(int argc, char** argv);

/// The usage text.
const char* usage();

}  // namespace syn::bench
