#include "net/nemesis_schedule.hpp"

#include "net/net_lab.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <tuple>

namespace syn::test::net {

namespace {

std::string host_name(int index) { return "h" + std::to_string(index + 1); }

/// A number in [low, high] from the generator's raw output. std::uniform_int_distribution is
/// not specified bit for bit across standard libraries; this is, so a seed means the same plan
/// wherever it runs.
std::uint64_t draw(std::mt19937_64& rng, std::uint64_t low, std::uint64_t high) {
  return low + rng() % (high - low + 1);
}

}  // namespace

const char* to_string(Fault::Kind kind) {
  switch (kind) {
    case Fault::Kind::split: return "split";
    case Fault::Kind::partial: return "partial";
    case Fault::Kind::one_way: return "one-way";
    case Fault::Kind::heal_pair: return "heal";
    case Fault::Kind::heal_all: return "heal-all";
  }
  return "?";
}

std::string describe(const Fault& fault) {
  char at[32];
  std::snprintf(at, sizeof at, "+%.3fs ", static_cast<double>(fault.at.count()) / 1000.0);
  std::string out = at;
  out += to_string(fault.kind);
  switch (fault.kind) {
    case Fault::Kind::split: {
      auto list = [](const std::vector<int>& hosts) {
        std::string text;
        for (int h : hosts) text += (text.empty() ? "" : ",") + host_name(h);
        return text;
      };
      out += " " + list(fault.side) + " | " + list(fault.rest);
      break;
    }
    case Fault::Kind::partial:
    case Fault::Kind::heal_pair: out += " " + host_name(fault.a) + "<->" + host_name(fault.b); break;
    case Fault::Kind::one_way: out += " " + host_name(fault.a) + "->" + host_name(fault.b); break;
    case Fault::Kind::heal_all: break;
  }
  return out;
}

std::vector<Fault> make_fault_schedule(std::uint64_t seed, std::chrono::milliseconds duration, int hosts) {
  if (hosts < 2) throw std::invalid_argument("make_fault_schedule: needs at least 2 hosts");
  std::mt19937_64 rng(seed);
  std::set<std::pair<int, int>> cut;  // directed (from, to), as the lab will hold them
  auto two_hosts = [&] {
    int a = static_cast<int>(draw(rng, 0, static_cast<std::uint64_t>(hosts - 1)));
    int b = static_cast<int>(draw(rng, 0, static_cast<std::uint64_t>(hosts - 2)));
    if (b >= a) ++b;
    return std::make_pair(a, b);
  };

  std::vector<Fault> plan;
  std::chrono::milliseconds at{0};
  for (;;) {
    at += std::chrono::milliseconds(draw(rng, 300, 2000));
    if (at >= duration) break;
    Fault fault;
    fault.at = at;
    auto dice = draw(rng, 0, 99);
    if (cut.size() > static_cast<std::size_t>(hosts * (hosts - 1) / 2 + 2)) dice = 99;  // torn enough: heal all
    if (dice < 20) {
      // A minority side of 1 .. hosts/2 hosts, chosen by a partial Fisher-Yates shuffle.
      std::vector<int> order(static_cast<std::size_t>(hosts));
      std::iota(order.begin(), order.end(), 0);
      auto size = static_cast<std::size_t>(draw(rng, 1, static_cast<std::uint64_t>(hosts / 2)));
      for (std::size_t i = 0; i < size; ++i) {
        auto j = static_cast<std::size_t>(draw(rng, i, order.size() - 1));
        std::swap(order[i], order[j]);
      }
      fault.kind = Fault::Kind::split;
      fault.side.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(size));
      fault.rest.assign(order.begin() + static_cast<std::ptrdiff_t>(size), order.end());
      std::sort(fault.side.begin(), fault.side.end());
      std::sort(fault.rest.begin(), fault.rest.end());
      for (int in : fault.side) {
        for (int out : fault.rest) {
          cut.insert({in, out});
          cut.insert({out, in});
        }
      }
    } else if (dice < 45) {
      fault.kind = Fault::Kind::partial;
      std::tie(fault.a, fault.b) = two_hosts();
      cut.insert({fault.a, fault.b});
      cut.insert({fault.b, fault.a});
    } else if (dice < 65) {
      fault.kind = Fault::Kind::one_way;
      std::tie(fault.a, fault.b) = two_hosts();
      cut.insert({fault.a, fault.b});
    } else if (dice < 85 && !cut.empty()) {
      // One of the cuts in force (either direction), lifted both ways.
      auto it = cut.begin();  // std::set: ordered, so the same pick for the same seed
      std::advance(it, static_cast<std::ptrdiff_t>(draw(rng, 0, cut.size() - 1)));
      fault.kind = Fault::Kind::heal_pair;
      fault.a = it->first;
      fault.b = it->second;
      cut.erase({fault.a, fault.b});
      cut.erase({fault.b, fault.a});
    } else {
      fault.kind = Fault::Kind::heal_all;
      cut.clear();
    }
    plan.push_back(std::move(fault));
  }
  return plan;
}

void apply_fault(NetLab& lab, const Fault& fault) {
  switch (fault.kind) {
    case Fault::Kind::split:
      for (int in : fault.side) {
        for (int out : fault.rest) lab.cut(in, out);
      }
      return;
    case Fault::Kind::partial: lab.cut(fault.a, fault.b); return;
    case Fault::Kind::one_way: lab.cut_one_way(fault.a, fault.b); return;
    case Fault::Kind::heal_pair: lab.heal(fault.a, fault.b); return;
    case Fault::Kind::heal_all: lab.heal_all(); return;
  }
}

}  // namespace syn::test::net
