// Micro-benchmarks of the groups reads: members() against member_pids() (OTP pg's
// get_members, no meta copies) for groups of 10 and 1000 members whose metas are small maps,
// as services attach them. One node in this process; its members are local.
// Run: build/bench/bench/micro/syn-micro --benchmark_filter=group_
#include <syn/syn.hpp>

#include <benchmark/benchmark.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

/// One node with a group "g<size>" of `size` members, each with a meta of three fields.
struct Group {
  std::unique_ptr<syn::Node> node;
  std::vector<syn::Process> processes;
  syn::Term name;

  explicit Group(std::size_t size) : name("g" + std::to_string(size)) {
    static int instances = 0;
    syn::NodeOptions options;
    options.name = "micro-groups-" + std::to_string(++instances);  // unique in this process
    options.scopes = {"s"};
    node = std::make_unique<syn::Node>(options);
    auto groups = node->groups("s");
    for (std::size_t i = 0; i < size; ++i) {
      processes.push_back(node->spawn());
      syn::Term meta{{"shard", static_cast<std::int64_t>(i)}, {"zone", "eu-west-1"}, {"weight", 1.5}};
      (void)groups.join(name, processes.back().pid(), std::move(meta));
    }
  }
};

Group& group_of(std::size_t size) {
  static std::map<std::size_t, std::unique_ptr<Group>> groups;
  auto& g = groups[size];
  if (!g) g = std::make_unique<Group>(size);
  return *g;
}

void group_members(benchmark::State& state) {
  auto& g = group_of(static_cast<std::size_t>(state.range(0)));
  auto groups = g.node->groups("s");
  for (auto _ : state) benchmark::DoNotOptimize(groups.members(g.name));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(group_members)->Arg(10)->Arg(1000);

void group_member_pids(benchmark::State& state) {
  auto& g = group_of(static_cast<std::size_t>(state.range(0)));
  auto groups = g.node->groups("s");
  for (auto _ : state) benchmark::DoNotOptimize(groups.member_pids(g.name));
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(group_member_pids)->Arg(10)->Arg(1000);

}  // namespace
