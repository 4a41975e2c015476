#include "driver/machine.hpp"

#include <sys/utsname.h>
#include <unistd.h>

#include <ctime>
#include <fstream>
#include <sstream>

namespace syn::bench {

namespace {

// The value of the first line of `path` starting with `key` (after the colon), trimmed.
std::string field(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    auto value = line.substr(colon + 1);
    auto first = value.find_first_not_of(" \t");
    return first == std::string::npos ? "" : value.substr(first);
  }
  return "";
}

}  // namespace

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::string utc_now() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Term machine_info() {
  utsname u{};
  uname(&u);
  std::string mem = field("/proc/meminfo", "MemTotal");
  return Term{{"nproc", sysconf(_SC_NPROCESSORS_ONLN)},
              {"cpu_model", field("/proc/cpuinfo", "model name")},
              {"mem_total", mem},
              {"kernel", std::string(u.sysname) + " " + u.release},
              {"date", utc_now()},
              {"loadavg", load_average()}};
}

}  // namespace syn::bench
