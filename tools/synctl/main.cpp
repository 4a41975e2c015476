// synctl: the operator's command line for syn-cpp clusters.
//
//   synctl keygen        prints a new cluster key (needs no node)
//
// More commands (nodes, names, lookup, stats, ...) talk to a node's control endpoint; they
// arrive with the control endpoint (SPEC 9). Exit status: 0 on success, 2 on bad usage.
#include <syn/security.hpp>

#include <CLI/CLI.hpp>

#include <cstdio>
#include <exception>

int main(int argc, char** argv) {
  CLI::App app{"synctl: operate a syn-cpp cluster"};
  app.require_subcommand(1);
  auto* keygen = app.add_subcommand(
      "keygen", "print a new cluster key (40 characters of Z85) for NodeOptions::cluster_key or a key file");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // Prints the help or the error; --help is a success, every other parse error bad usage.
    return app.exit(e) == 0 ? 0 : 2;
  }
  try {
    if (keygen->parsed()) {
      std::printf("%s\n", syn::generate_cluster_key().c_str());
      return 0;
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "synctl: %s\n", e.what());
    return 1;
  }
  return 2;
}
