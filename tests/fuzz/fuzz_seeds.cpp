// Writes the seed corpus of every fuzz target (fuzz_seeds.hpp): `fuzz_seeds DIR` fills
// DIR/fuzz_frame, DIR/fuzz_entries, DIR/fuzz_multicast and DIR/fuzz_term with one file per seed. scripts/fuzz runs
// it before fuzzing, so the seeds always follow the encoders as they are.
#include "fuzz/zap_fuzz_body.hpp"
#include "fuzz/fuzz_seeds.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace {

bool write_all(const std::filesystem::path& dir, const std::vector<std::string>& seeds) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    std::fprintf(stderr, "fuzz_seeds: cannot create %s: %s\n", dir.c_str(), ec.message().c_str());
    return false;
  }
  for (std::size_t i = 0; i < seeds.size(); ++i) {
    char name[32];
    std::snprintf(name, sizeof name, "seed-%03zu", i);
    std::ofstream file(dir / name, std::ios::binary | std::ios::trunc);
    file.write(seeds[i].data(), static_cast<std::streamsize>(seeds[i].size()));
    if (!file) {
      std::fprintf(stderr, "fuzz_seeds: cannot write %s\n", (dir / name).c_str());
      return false;
    }
  }
  std::printf("fuzz_seeds: %zu seeds in %s\n", seeds.size(), dir.c_str());
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: fuzz_seeds DIR\n");
    return 2;
  }
  std::filesystem::path root(argv[1]);
  bool ok = write_all(root / "fuzz_frame", syn::fuzz::frame_seeds()) &&
            write_all(root / "fuzz_entries", syn::fuzz::entries_seeds()) &&
            write_all(root / "fuzz_multicast", syn::fuzz::multicast_seeds()) &&
            write_all(root / "fuzz_term", syn::fuzz::term_seeds()) &&
            write_all(root / "fuzz_zap", syn::fuzz::zap_seeds());
  return ok ? 0 : 1;
}
