#include "net/net_security.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <stdexcept>
#include <sys/stat.h>
#include <unistd.h>

namespace syn::test::net {

NetSecurity net_security() {
  const char* text = std::getenv("SYN_NET_SECURITY");
  if (!text || !*text) return NetSecurity::cluster_key;
  std::string value = text;
  if (value == "cluster_key") return NetSecurity::cluster_key;
  if (value == "insecure") return NetSecurity::insecure;
  throw std::runtime_error("SYN_NET_SECURITY=" + value + ": expected cluster_key or insecure");
}

const char* to_string(NetSecurity mode) { return mode == NetSecurity::cluster_key ? "cluster_key" : "insecure"; }

KeyFile::KeyFile(const std::string& key) {
  const char* tmp = std::getenv("TMPDIR");
  std::string pattern = std::string(tmp && *tmp ? tmp : "/tmp") + "/syn-net-key-XXXXXX";
  if (!::mkdtemp(pattern.data()))
    throw std::runtime_error("KeyFile: mkdtemp failed: " + std::string(std::strerror(errno)));
  dir_ = pattern;
  path_ = dir_ + "/cluster.key";
  int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    int error = errno;
    ::rmdir(dir_.c_str());
    throw std::runtime_error("KeyFile: cannot create " + path_ + ": " + std::strerror(error));
  }
  std::string line = key + "\n";
  // fchmod as well: the mode given to open only ever loses bits to the umask, and syn refuses
  // a file that group or others may read, so say exactly what it must be.
  bool written = ::fchmod(fd, 0600) == 0 && ::write(fd, line.data(), line.size()) == static_cast<ssize_t>(line.size());
  ::close(fd);
  if (!written) {
    ::unlink(path_.c_str());
    ::rmdir(dir_.c_str());
    throw std::runtime_error("KeyFile: cannot write " + path_);
  }
}

KeyFile::~KeyFile() {
  ::unlink(path_.c_str());
  ::rmdir(dir_.c_str());
}

void add_security_options(Term& options, NetSecurity mode, const KeyFile* key_file) {
  if (mode == NetSecurity::insecure) {
    options["allow_insecure"] = true;
    return;
  }
  if (!key_file) throw std::invalid_argument("add_security_options: cluster_key needs a key file");
  options["cluster_key_file"] = key_file->path();
}

}  // namespace syn::test::net
