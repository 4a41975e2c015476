#include "transport/cluster_key.hpp"

#include <syn/errors.hpp>
#include <syn/security.hpp>

#include <zmq.h>

#include <sys/stat.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string_view>

namespace syn {

std::string generate_cluster_key() {
  std::array<char, 41> public_key{};
  std::array<char, 41> secret{};
  if (zmq_curve_keypair(public_key.data(), secret.data()) != 0) {
    throw Error(Errc::bad_argument, "cannot make a cluster key: this libzmq has no CURVE support");
  }
  return std::string(secret.data(), 40);
}

}  // namespace syn

namespace syn::transport {

namespace {

constexpr std::size_t kZ85KeyChars = 40;
constexpr std::string_view kZ85Alphabet =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

std::string_view trimmed(std::string_view text) {
  const char* space = " \t\r\n\v\f";
  auto first = text.find_first_not_of(space);
  if (first == std::string_view::npos) return {};
  auto last = text.find_last_not_of(space);
  return text.substr(first, last - first + 1);
}

}  // namespace

CurveKeys curve_keys_from_secret(const std::string& secret, const std::string& what) {
  // The message names where the key came from and what a key looks like, never the key.
  auto bad = [&](const char* why) {
    throw Error(Errc::bad_argument, what + " is not a cluster key (" + why +
                                        "; a key is 40 characters of Z85 text, as made by "
                                        "syn::generate_cluster_key() or `synctl keygen`)");
  };
  if (secret.size() != kZ85KeyChars) bad(("it has " + std::to_string(secret.size()) + " characters").c_str());
  if (secret.find_first_not_of(kZ85Alphabet) != std::string::npos) bad("it has a character outside Z85");
  std::array<std::uint8_t, 32> raw{};
  if (zmq_z85_decode(raw.data(), secret.c_str()) == nullptr) bad("it does not decode as Z85");
  std::array<char, 41> public_key{};
  if (zmq_curve_public(public_key.data(), secret.c_str()) != 0) {
    throw Error(Errc::bad_argument, what + ": this libzmq has no CURVE support");
  }
  return CurveKeys{secret, std::string(public_key.data(), kZ85KeyChars)};
}

CurveKeys read_cluster_key_file(const std::string& path) {
  // Named as the option and as the file: a wrong key or mode is fixed in one or the other.
  const std::string what = "the cluster key file '" + path + "' (cluster_key_file)";
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    throw Error(Errc::bad_argument, "cannot read " + what + ": " + std::strerror(errno));
  }
  if (!S_ISREG(info.st_mode)) throw Error(Errc::bad_argument, what + " is not a regular file");
  if (info.st_mode & (S_IRWXG | S_IRWXO)) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(info.st_mode & 07777));
    throw Error(Errc::bad_argument, what + " may be read or written by group or others (mode " + mode +
                                        "): make it 0600 (chmod 600 '" + path + "')");
  }
  std::ifstream in(path);
  if (!in) throw Error(Errc::bad_argument, "cannot read " + what);
  std::ostringstream text;
  text << in.rdbuf();
  return curve_keys_from_secret(std::string(trimmed(text.str())), what);
}

std::vector<CurveKeys> configured_keys(const std::string& cluster_key, const std::string& cluster_key_file,
                                       const std::vector<std::string>& accepted) {
  if (!cluster_key.empty() && !cluster_key_file.empty()) {
    throw Error(Errc::bad_argument, "NodeOptions.cluster_key and cluster_key_file are both set: set one");
  }
  std::vector<CurveKeys> keys;
  if (!cluster_key.empty()) keys.push_back(curve_keys_from_secret(cluster_key, "NodeOptions.cluster_key"));
  if (!cluster_key_file.empty()) keys.push_back(read_cluster_key_file(cluster_key_file));
  if (keys.empty() && !accepted.empty()) {
    throw Error(Errc::bad_argument, "NodeOptions.cluster_keys_accepted needs cluster_key or cluster_key_file");
  }
  for (std::size_t i = 0; i < accepted.size(); ++i) {
    keys.push_back(curve_keys_from_secret(accepted[i], "NodeOptions.cluster_keys_accepted[" + std::to_string(i) + "]"));
  }
  return keys;
}

bool is_loopback_endpoint(const std::string& endpoint) {
  std::string_view rest(endpoint);
  if (rest.rfind("ipc://", 0) == 0 || rest.rfind("inproc://", 0) == 0) return true;
  if (rest.rfind("tcp://", 0) != 0) return false;
  rest.remove_prefix(6);
  auto colon = rest.rfind(':');
  std::string_view host = rest.substr(0, colon);
  if (host == "localhost" || host == "lo" || host == "[::1]") return true;
  if (host.rfind("127.", 0) != 0) return false;
  int dots = 0;
  for (char c : host) {
    if (c == '.')
      ++dots;
    else if (c < '0' || c > '9')
      return false;
  }
  return dots == 3;
}

}  // namespace syn::transport
