#pragma once
// The nemesis's plan: which network faults to make between the hosts of a NetLab, and when,
// drawn from a seeded PRNG before the run starts. The plan is a pure function of the seed,
// the duration and the number of hosts, so the same seed replays the same faults at the same
// offsets (what the clients do meanwhile is concurrent, hence not replayed).
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace syn::test::net {

class NetLab;

/// One fault of the plan.
struct Fault {
  enum class Kind {
    split,      ///< the hosts of `side` and those of `rest` lose each other, both ways (a net split)
    partial,    ///< `a` and `b` lose each other both ways; every other host still sees both
    one_way,    ///< `b` stops hearing `a` (every packet from a to b dropped); a still hears b
    heal_pair,  ///< both directions between `a` and `b` are lifted
    heal_all,   ///< every cut is lifted
  };
  std::chrono::milliseconds at{0};  ///< offset from the start of the run
  Kind kind = Kind::heal_all;
  int a = -1;
  int b = -1;
  std::vector<int> side;  ///< split only: the minority (0-based host indices, sorted)
  std::vector<int> rest;  ///< split only: the other hosts of the plan (hosts outside it, such as
                          ///< intruders, are left alone)
};

/// "split", "partial", ...
const char* to_string(Fault::Kind kind);
/// "+1.234s split h1,h2 | h3,h4,h5", "+2.000s one-way h3->h4", ... (hosts named h1, h2, ...).
std::string describe(const Fault& fault);

/// The plan for `hosts` hosts (at least 2) over `duration`: faults at intervals of 300 ms to
/// 2 s, each a split, a partial cut, a one-way cut, a heal of one cut pair or a heal of all,
/// chosen by std::mt19937_64 seeded with `seed`. Heals are drawn from the cuts the plan itself
/// has made so far, and a plan that has cut more than half the directed links (and 2) heals
/// all next, so the cluster spends time both torn and whole.
std::vector<Fault> make_fault_schedule(std::uint64_t seed, std::chrono::milliseconds duration, int hosts);

/// Applies one fault to the lab (a heal of a pair that is not cut is harmless).
void apply_fault(NetLab& lab, const Fault& fault);

}  // namespace syn::test::net
