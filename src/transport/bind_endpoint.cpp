#include "transport/bind_endpoint.hpp"

#include <syn/errors.hpp>

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>

namespace syn::transport {

std::string bindable_endpoint(const std::string& endpoint) {
  const std::string prefix = "tcp://localhost:";
  if (endpoint.rfind(prefix, 0) != 0) return endpoint;
  return "tcp://127.0.0.1:" + endpoint.substr(prefix.size());
}

void refuse_ipc_in_use(const std::string& endpoint, const std::string& option) {
  if (endpoint.rfind("ipc://", 0) != 0) return;
  const std::string path = endpoint.substr(6);
  sockaddr_un address{};
  if (path.empty() || path.size() >= sizeof(address.sun_path)) return;  // ZeroMQ says what is wrong
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  bool answers = ::connect(fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  if (answers) {
    throw Error(Errc::bad_argument, option + " '" + endpoint +
                                        "' is in use: a running process accepts connections on that socket file "
                                        "(stop it, or choose another path)");
  }
}

}  // namespace syn::transport
