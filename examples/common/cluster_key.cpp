#include "common/cluster_key.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace examples {

namespace {
std::string key_path;  // removed at exit by the process that made it
}  // namespace

void make_demo_cluster_key() {
  char path[] = "/tmp/syn-demo-key-XXXXXX";
  int fd = ::mkstemp(path);  // created with mode 0600
  if (fd < 0) throw std::runtime_error("cannot create the demo's key file");
  std::string line = syn::generate_cluster_key() + "\n";
  bool written = ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) throw std::runtime_error("cannot write the demo's key file");
  key_path = path;
  std::atexit([] { std::remove(key_path.c_str()); });
  ::setenv("SYN_CLUSTER_KEY_FILE", path, 1);
}

std::string demo_cluster_key_file() {
  const char* path = std::getenv("SYN_CLUSTER_KEY_FILE");
  return path ? path : "";
}

}  // namespace examples
