#include "driver/workload.hpp"

namespace syn::bench {

const std::vector<Workload>& all_workloads() {
  static const std::vector<Workload> all = [] {
    std::vector<Workload> out;
    for (auto* part : {&registry_workloads, &lookup_workloads, &registry_more_workloads, &groups_workloads,
                       &messaging_workloads, &multicast_workloads, &scale_workloads}) {
      for (auto& w : (*part)()) out.push_back(std::move(w));
    }
    return out;
  }();
  return all;
}

std::string short_count(std::size_t n) {
  if (n >= 1000000 && n % 1000000 == 0) return std::to_string(n / 1000000) + "M";
  if (n >= 1000 && n % 1000 == 0) return std::to_string(n / 1000) + "k";
  return std::to_string(n);
}

}  // namespace syn::bench
