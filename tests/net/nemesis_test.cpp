// A nemesis run (scenarios 2 and 4 of issue 10, "Real networks"), Jepsen's way.
//
// Five keyed hosts. Client threads, two per host, issue random register, unregister, update,
// join, leave, update_member, kill and spawn operations against their host's node over a small
// name space (30 names, 5 groups: conflicts happen), and record each one in a History (when
// invoked, when completed, with which result). Meanwhile a nemesis applies network faults
// (net splits, partial cuts, one-way cuts, heals) planned from a seed, and two intruder hosts,
// one with another cluster key and one with none, dial every node all along (the one without
// a key as a fresh node every few seconds, see kPlaintextCycle). Then everything heals, the
// cluster goes quiet, and a checker (nemesis_checker.hpp) judges the history against what the
// nodes hold: the same registry and groups everywhere, no name mapped to two pids, no entry
// of a dead process, every acknowledged registration that nothing could have undone present,
// and every node's callbacks, replayed from empty, giving its state. The intruders must have
// been refused by every node, never listed, without changing anything, and without flooding
// the logs.
//
//   SYN_NEMESIS_SEED=<n>      the seed (else a random one); printed at the start and in every
//                             failure. The same seed replays the same faults at the same times
//                             (and the same choices of operations per client); the operations
//                             run concurrently against real processes, so their interleaving,
//                             and hence their results, are not replayed.
//   SYN_NEMESIS_SECONDS=<n>   how long the faults and operations go on (default 60).
#include "net/history.hpp"
#include "net/nemesis_checker.hpp"
#include "net/nemesis_schedule.hpp"
#include "net/net_checks.hpp"

#include <syn/security.hpp>

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using syn::Term;
using syn::test::Agent;
using syn::test::eventually;
using namespace syn::test::net;

namespace {

using Clock = std::chrono::steady_clock;

const std::string kScope = "nemesis";
constexpr int kHosts = 5;               // the cluster: hosts 0 .. 4
constexpr int kOtherKeyHost = kHosts;   // an intruder holding another cluster key
constexpr int kNoKeyHost = kHosts + 1;  // an intruder without any key (plaintext)
/// How often the intruder without a key comes back as a new node (a new process, a new
/// incarnation), besides redialling by itself: libzmq ends a session on a mechanism mismatch
/// (plaintext against CURVE) and the transport redials it once a second; restarts add fresh
/// nodes to the refusals. The one with another key is refused at the end of a handshake that
/// ZeroMQ redials by itself, several times a second.
constexpr auto kPlaintextCycle = 3s;
constexpr int kWorkersPerHost = 2;
constexpr int kProcessesPerWorker = 3;
constexpr int kMaxOpsPerWorker = 5000;  // a bound besides the duration
constexpr int kNames = 30;
constexpr int kGroups = 5;
/// An Agent call: the node's own call_timeout is 3 s (agent_options), so a call that gets no
/// answer in this time will get none we can use; it is recorded as indeterminate.
constexpr auto kOpTimeout = 10s;
/// After the heal: the full mesh, then a quiet cluster that agrees.
constexpr auto kMeshDeadline = 30s;
constexpr auto kSettleDeadline = 30s;
/// A refusal is logged at most once a minute per endpoint and kind; a few kinds per node.
constexpr std::size_t kRefusalLinesPerMinute = 4;

std::uint64_t nemesis_seed() {
  if (const char* text = std::getenv("SYN_NEMESIS_SEED"); text && *text) {
    try {
      return std::stoull(text, nullptr, 0);
    } catch (const std::exception&) {
      throw std::runtime_error(std::string("SYN_NEMESIS_SEED=") + text + ": not a number");
    }
  }
  std::random_device device;
  return (static_cast<std::uint64_t>(device()) << 32) ^ device();
}

std::chrono::seconds nemesis_duration() {
  if (const char* text = std::getenv("SYN_NEMESIS_SECONDS"); text && *text) {
    long long seconds = 0;
    try {
      seconds = std::stoll(text);
    } catch (const std::exception&) { seconds = 0; }
    if (seconds < 1 || seconds > 24 * 3600) {
      throw std::runtime_error(std::string("SYN_NEMESIS_SECONDS=") + text + ": expected 1 to 86400");
    }
    return std::chrono::seconds(seconds);
  }
  return 60s;
}

Term name_space() {
  Term out = Term::array();
  for (int i = 0; i < kNames; ++i) out.push_back("n" + std::to_string(i));
  return out;
}

Term group_space() {
  Term out = Term::array();
  for (int i = 0; i < kGroups; ++i) out.push_back("g" + std::to_string(i));
  return out;
}

/// Every pid the clients spawned, for operations on other nodes' processes.
class PidPool {
 public:
  void add(const std::string& pid) {
    std::lock_guard lock(mutex_);
    pids_.push_back(pid);
  }
  std::string any(std::mt19937_64& rng) {
    std::lock_guard lock(mutex_);
    return pids_[rng() % pids_.size()];
  }

 private:
  std::mutex mutex_;
  std::vector<std::string> pids_;
};

/// Error codes a client may get in a nemesis run; anything else is reported as unexpected.
bool expected_code(const std::string& code) {
  static const std::set<std::string> codes = {"taken",        "not_alive", "undefined", "race_condition",
                                              "not_in_group", "timeout",   "node_down", "invalid_remote_scope",
                                              "no_answer"};
  return codes.count(code) != 0;
}

/// One client thread: random operations against one node, each recorded in the history. No
/// Catch2 assertions here (not thread-safe): what should not happen is collected as text.
class Worker {
 public:
  Worker(int id, int host, Agent& agent, History& history, PidPool& pool, std::uint64_t seed)
      : id_(id), host_(host), agent_(agent), history_(history), pool_(pool), rng_(seed) {}

  int host() const { return host_; }
  const std::vector<std::string>& unexpected() const { return unexpected_; }

  /// Spawns this client's first processes (before the run, on the test's thread).
  void prepare() {
    for (int i = 0; i < kProcessesPerWorker; ++i) {
      auto pid = agent_.spawn();
      own_.push_back(pid);
      pool_.add(pid);
    }
  }

  void run(Clock::time_point deadline) {
    static const Term names = name_space();
    static const Term groups = group_space();
    try {
      for (int i = 0; i < kMaxOpsPerWorker && Clock::now() < deadline; ++i) {
        step(i, names, groups);
        std::this_thread::sleep_for(std::chrono::milliseconds(rng_() % 40));
      }
    } catch (const std::exception& e) { unexpected_.push_back(std::string("client stopped: ") + e.what()); }
  }

 private:
  const Term& pick(const Term& list) { return list[rng_() % list.size()]; }

  /// Runs one operation through the agent and records it. Returns the response (null when
  /// none came).
  Term op(const std::string& kind, Term args, const std::string& cmd, Term request,
          const std::string& result_key = {}) {
    auto index = history_.invoke(agent_.name(), id_, kind, std::move(args));
    Term response;
    try {
      request["cmd"] = cmd;
      response = agent_.call(std::move(request), kOpTimeout);
    } catch (const std::exception& e) {
      // No answer in time (a call stuck behind a cut) or the agent is gone: indeterminate.
      history_.complete(index, Outcome::indeterminate, "no_answer", e.what());
      return nullptr;
    }
    history_.complete_from_response(index, response, result_key);
    if (response.value("ok", false) != true) {
      auto code = response.value("code", std::string());
      if (!expected_code(code) && unexpected_.size() < 20) unexpected_.push_back(kind + ": " + response.dump());
    }
    return response;
  }

  /// Spawns a process into slot `slot` of this client's own ones.
  void respawn(std::size_t slot) {
    auto response = op("spawn", Term::object(), "spawn", Term::object(), "pid");
    if (response.is_object() && response.value("ok", false) == true) {
      own_[slot] = response["pid"].get<std::string>();
      pool_.add(own_[slot]);
    }
  }

  void step(int i, const Term& names, const Term& groups) {
    auto dice = rng_() % 100;
    // Mostly this client's own processes; a quarter of the time any process of the cluster
    // (a call that the node routes to another host).
    std::size_t slot = rng_() % own_.size();
    std::string pid = rng_() % 4 == 0 ? pool_.any(rng_) : own_[slot];
    Term meta = {{"by", agent_.name() + "/w" + std::to_string(id_)}, {"i", i}};
    if (dice < 30) {
      const Term& name = pick(names);
      op("register", {{"name", name}, {"pid", pid}, {"meta", meta}}, "register",
         {{"scope", kScope}, {"name", name}, {"pid", pid}, {"meta", meta}});
    } else if (dice < 42) {
      const Term& name = pick(names);
      op("unregister", {{"name", name}}, "unregister", {{"scope", kScope}, {"name", name}});
    } else if (dice < 52) {
      const Term& name = pick(names);
      op("update", {{"name", name}, {"meta", meta}}, "update", {{"scope", kScope}, {"name", name}, {"meta", meta}});
    } else if (dice < 70) {
      const Term& group = pick(groups);
      op("join", {{"group", group}, {"pid", pid}, {"meta", meta}}, "join",
         {{"scope", kScope}, {"group", group}, {"pid", pid}, {"meta", meta}});
    } else if (dice < 80) {
      const Term& group = pick(groups);
      op("leave", {{"group", group}, {"pid", pid}}, "leave", {{"scope", kScope}, {"group", group}, {"pid", pid}});
    } else if (dice < 85) {
      const Term& group = pick(groups);
      op("update_member", {{"group", group}, {"pid", pid}, {"meta", meta}}, "update_member",
         {{"scope", kScope}, {"group", group}, {"pid", pid}, {"meta", meta}});
    } else if (dice < 91) {
      // One of our processes dies, and a new one takes its place.
      Term reason = {{"nemesis", agent_.name() + "/w" + std::to_string(id_)}};
      op("kill", {{"pid", own_[slot]}}, "exit", {{"pid", own_[slot]}, {"reason", reason}});
      respawn(slot);
    } else if (dice < 94) {
      // A process anywhere dies (the exit travels to its node, unless a cut swallows it).
      auto victim = pool_.any(rng_);
      op("kill", {{"pid", victim}}, "exit", {{"pid", victim}, {"reason", "nemesis from afar"}});
    } else {
      // A fresh process (the old one lives on, maybe holding names: others may still use it);
      // this also replaces processes that a conflict killed.
      respawn(slot);
    }
  }

  int id_;
  int host_;
  Agent& agent_;
  History& history_;
  PidPool& pool_;
  std::mt19937_64 rng_;
  std::vector<std::string> own_;
  std::vector<std::string> unexpected_;
};

// ---- observing the cluster --------------------------------------------------------------------

bool is_callback(const Term& event) {
  static const std::set<std::string> kinds = {"registered", "updated",       "unregistered",
                                              "joined",     "group_updated", "left"};
  return kinds.count(event.value("event", std::string())) != 0 && event.value("scope", std::string()) == kScope;
}

NodeView observe_node(Agent& node) {
  static const Term names = name_space();
  NodeView view;
  view.node = node.name();
  auto lookups = node.ok("lookup_many", {{"scope", kScope}, {"names", names}}, kOpTimeout)["entries"];
  for (std::size_t i = 0; i < names.size(); ++i) {
    const Term& entry = lookups.at(i);
    if (!entry.is_null()) view.registry[names[i]] = RegEntry{entry["pid"].get<std::string>(), entry["meta"]};
  }
  view.count = node.ok("count", {{"scope", kScope}}, kOpTimeout)["count"].get<std::size_t>();
  // Every group the node lists, whatever its name, so that nothing hides from the checker.
  Term listed = node.ok("group_names", {{"scope", kScope}}, kOpTimeout)["groups"];
  if (!listed.empty()) {
    auto members = node.ok("members_many", {{"scope", kScope}, {"groups", listed}}, kOpTimeout)["members"];
    for (std::size_t g = 0; g < listed.size(); ++g) {
      auto& group = view.groups[listed[g]];
      for (const auto& m : members.at(g)) group[m["pid"].get<std::string>()] = m["meta"];
    }
  }
  for (auto& event : node.events()) {
    if (is_callback(event)) view.events.push_back(std::move(event));
  }
  return view;
}

Observation observe(NetCluster& cluster) {
  Observation out;
  for (int h = 0; h < kHosts; ++h) {
    auto& node = cluster.node(h);
    out.nodes.push_back(observe_node(node));
    auto processes = node.ok("processes", Term::object(), kOpTimeout)["processes"];
    for (const auto& [pid, alive] : processes.items()) out.processes[pid] = alive.get<bool>();
  }
  return out;
}

/// The cluster's five nodes see each other and nothing else (not the intruders).
bool cluster_mesh(NetCluster& cluster) {
  for (int h = 0; h < kHosts; ++h) {
    std::vector<int> others;
    for (int o = 0; o < kHosts; ++o) {
      if (o != h) others.push_back(o);
    }
    if (!cluster.sees_exactly(h, others)) return false;
  }
  return true;
}

/// Quiet: two observations in a row are the same, and they are in agreement, hold no dead
/// process, and match their callbacks. (The rest of the checker is judged once, after this.)
bool settled(const Observation& previous, const Observation& now) {
  for (std::size_t i = 0; i < now.nodes.size(); ++i) {
    const auto& a = previous.nodes.at(i);
    const auto& b = now.nodes.at(i);
    if (a.registry != b.registry || a.groups != b.groups || a.count != b.count || a.events.size() != b.events.size()) {
      return false;
    }
  }
  return check_same_state(now).empty() && check_no_dead_entries({}, now).empty() && check_callback_replay(now).empty();
}

std::size_t lines_with(const std::string& text, const std::string& needle) {
  std::size_t count = 0;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.find(needle) != std::string::npos) ++count;
  }
  return count;
}

/// Starts (or starts afresh) an intruder on `host`, seeded with every node of the cluster, and
/// gives it names and members of the cluster's name space in its own replica: if any of it
/// leaked into the cluster, the checker would find pids no client spawned.
void start_intruder(NetCluster& cluster, int host, const Term& security) {
  std::vector<int> every_node;
  for (int h = 0; h < kHosts; ++h) every_node.push_back(h);
  auto& intruder = cluster.start(host, Bind::own_address, every_node, security);
  for (int i = 0; i < 3; ++i) {
    auto pid = intruder.spawn();
    intruder.ok("register", {{"scope", kScope}, {"name", "n" + std::to_string(i)}, {"pid", pid}, {"meta", "intruder"}});
    intruder.ok("join", {{"scope", kScope}, {"group", "g" + std::to_string(i)}, {"pid", pid}, {"meta", "intruder"}});
  }
}

/// What an intruder knows of the cluster: the nodes it is linked with and the entries it holds
/// of processes other than its own. "" when nothing.
std::string intruder_knowledge(NetCluster& cluster, int host) {
  auto& intruder = cluster.node(host);
  std::string out;
  for (const auto& n : intruder.nodes()) out += " linked with " + n + ";";
  const std::string own = "<" + cluster.name(host) + ".";
  auto seen = observe_node(intruder);
  for (const auto& [name, entry] : seen.registry) {
    if (entry.pid.rfind(own, 0) != 0) out += " holds " + name.dump() + " -> " + entry.pid + ";";
  }
  for (const auto& [group, members] : seen.groups) {
    for (const auto& [pid, meta] : members) {
      if (pid.rfind(own, 0) != 0) out += " holds member " + pid + " of " + group.dump() + ";";
    }
  }
  return out.empty() ? out : cluster.name(host) + ":" + out;
}

long long refused_peers(Agent& node) {
  return node.ok("stats", Term::object(), kOpTimeout)["refused_peers"].get<long long>();
}

/// Counts of the history by kind and outcome: "register 812 (ok 301, failed 480, indeterminate 31); ...".
std::string summary(const std::vector<Op>& history) {
  std::map<std::string, std::map<Outcome, std::size_t>> counts;
  for (const auto& op : history) ++counts[op.kind][op.outcome];
  std::string out;
  for (const auto& [kind, by_outcome] : counts) {
    std::size_t total = 0;
    for (const auto& [_, n] : by_outcome) total += n;
    out += (out.empty() ? "" : "; ") + kind + " " + std::to_string(total) + " (";
    std::string parts;
    for (const auto& [outcome, n] : by_outcome)
      parts += (parts.empty() ? "" : ", ") + std::string(to_string(outcome)) + " " + std::to_string(n);
    out += parts + ")";
  }
  return out;
}

}  // namespace

TEST_CASE("net: nemesis schedule: the same seed plans the same faults", "[net][nemesis]") {
  auto text = [](const std::vector<Fault>& plan) {
    std::string out;
    for (const auto& f : plan) out += describe(f) + "\n";
    return out;
  };
  for (std::uint64_t seed : {1ULL, 42ULL, 0xdeadbeefULL}) {
    auto plan = make_fault_schedule(seed, 60s, kHosts);
    CHECK(text(plan) == text(make_fault_schedule(seed, 60s, kHosts)));
    CHECK(plan.size() >= 29);  // intervals of at most 2 s
    for (const auto& f : plan) {
      CHECK(f.at < 60s);
      if (f.kind == Fault::Kind::split) CHECK(f.side.size() + f.rest.size() == static_cast<std::size_t>(kHosts));
    }
  }
  CHECK(text(make_fault_schedule(1, 60s, kHosts)) != text(make_fault_schedule(2, 60s, kHosts)));
}

TEST_CASE(
    "net: nemesis: concurrent writes under random cuts on five keyed hosts, intruders dialling, "
    "then a heal and a history checker",
    "[net][nemesis][security]") {
  SYN_NET_REQUIRE_LAB();
  const auto seed = nemesis_seed();
  const auto duration = nemesis_duration();
  std::printf("nemesis: seed %llu (SYN_NEMESIS_SEED=%llu replays its faults), %lld s of faults\n",
              static_cast<unsigned long long>(seed), static_cast<unsigned long long>(seed),
              static_cast<long long>(duration.count()));
  std::fflush(stdout);
  INFO("nemesis seed " << seed << " (rerun with SYN_NEMESIS_SEED=" << seed << ")");
  const auto test_start = Clock::now();

  const auto plan = make_fault_schedule(seed, duration, kHosts);
  {
    std::string text;
    for (const auto& f : plan) text += "  " + describe(f) + "\n";
    std::printf("nemesis: %zu faults planned:\n%s", plan.size(), text.c_str());
    std::fflush(stdout);
  }

  const bool keyed = net_security() == NetSecurity::cluster_key;
  NetCluster cluster(kHosts + 2, Family::ipv4, {kScope});
  const Term events_on = {{"events", true}};  // every callback, from the start
  cluster.start(0, Bind::own_address, {}, nullptr, events_on);
  for (int h = 1; h < kHosts; ++h) cluster.start(h, Bind::own_address, {h - 1}, nullptr, events_on);
  if (!eventually([&] { return cluster_mesh(cluster); }, 20s, 50ms)) FAIL("no full mesh in 20 s: " << cluster.views());

  // ---- intruders ----------------------------------------------------------------------------
  std::vector<int> intruders;
  std::vector<long long> refused_before(kHosts, 0);
  std::unique_ptr<KeyFile> wrong_key;
  const Term plaintext = {{"allow_insecure", true}};  // binds its own address without a key
  std::size_t plaintext_incarnations = 0;
  if (keyed) {
    for (int h = 0; h < kHosts; ++h) refused_before[static_cast<std::size_t>(h)] = refused_peers(cluster.node(h));
    wrong_key = std::make_unique<KeyFile>(syn::generate_cluster_key());
    start_intruder(cluster, kOtherKeyHost, {{"cluster_key_file", wrong_key->path()}});
    start_intruder(cluster, kNoKeyHost, plaintext);
    plaintext_incarnations = 1;
    intruders = {kOtherKeyHost, kNoKeyHost};
  } else {
    std::printf("nemesis: SYN_NET_SECURITY=insecure: no intruders (nothing would refuse them)\n");
  }

  // ---- clients --------------------------------------------------------------------------------
  History history;
  PidPool pool;
  std::vector<std::unique_ptr<Worker>> workers;
  {
    // Each client's choices come from the seed too (their interleaving does not).
    std::mt19937_64 seeds(seed ^ 0x5eed5eed5eed5eedULL);
    for (int h = 0; h < kHosts; ++h) {
      for (int w = 0; w < kWorkersPerHost; ++w) {
        workers.push_back(
            std::make_unique<Worker>(static_cast<int>(workers.size()), h, cluster.node(h), history, pool, seeds()));
        workers.back()->prepare();
      }
    }
  }

  // ---- the run --------------------------------------------------------------------------------
  std::atomic<bool> stop{false};
  std::mutex notes_mutex;
  std::vector<std::string> nemesis_errors;      // a fault that could not be applied, an intruder that did not start
  std::vector<std::string> intruder_sightings;  // a node listing an intruder, or an intruder knowing anything
  std::vector<long long> refused_mid(kHosts, -1);
  std::size_t polls = 0, torn_polls = 0;  // how often a node of the cluster missed a peer
  std::size_t faults_applied = 0;
  const auto run_start = Clock::now();
  const auto run_deadline = run_start + duration;
  {
    std::vector<std::jthread> clients;
    for (auto& w : workers) clients.emplace_back([&w, run_deadline] { w->run(run_deadline); });
    std::jthread nemesis([&] {
      for (const auto& fault : plan) {
        std::this_thread::sleep_until(run_start + fault.at);
        try {
          apply_fault(cluster.lab(), fault);
          ++faults_applied;
        } catch (const std::exception& e) {
          std::lock_guard lock(notes_mutex);
          nemesis_errors.push_back(describe(fault) + ": " + e.what());
          return;
        }
      }
    });
    // The watch: nobody ever lists an intruder, and the intruder with another key lists
    // nobody (the one without, replaced every few seconds by this test's thread, is looked at
    // there). Halfway, the refusal counters are sampled (they must go on growing: the
    // intruders keep dialling).
    std::jthread watch([&] {
      bool sampled = false;
      while (!stop) {
        std::vector<int> watched;
        for (int h = 0; h < kHosts; ++h) watched.push_back(h);
        if (!intruders.empty()) watched.push_back(kOtherKeyHost);
        for (int h : watched) {
          std::vector<std::string> seen;
          try {
            seen = cluster.node(h).ok("nodes", Term::object(), 15s)["nodes"].get<std::vector<std::string>>();
          } catch (const std::exception&) {
            continue;  // busy behind a stuck call: next round
          }
          if (h < kHosts) {
            ++polls;
            torn_polls += seen.size() < static_cast<std::size_t>(kHosts - 1) ? 1 : 0;
          }
          for (const auto& n : seen) {
            bool is_intruder = false;
            for (int i : intruders) is_intruder = is_intruder || n == cluster.name(i);
            if (h >= kHosts || is_intruder) {
              std::lock_guard lock(notes_mutex);
              if (intruder_sightings.size() < 20) intruder_sightings.push_back(cluster.name(h) + " listed " + n);
            }
          }
        }
        if (!sampled && !intruders.empty() && Clock::now() >= run_start + duration / 2) {
          sampled = true;
          for (int h = 0; h < kHosts; ++h) {
            try {
              refused_mid[static_cast<std::size_t>(h)] = refused_peers(cluster.node(h));
            } catch (const std::exception&) {}
          }
        }
        std::this_thread::sleep_for(500ms);
      }
    });
    // Meanwhile the intruder without a key comes back as a new node every few seconds, after
    // a look at what the last one learned. (Here, on the test's thread: an Agent's process
    // dies with the thread that started it.)
    while (!intruders.empty() && Clock::now() + kPlaintextCycle < run_deadline) {
      std::this_thread::sleep_for(kPlaintextCycle);
      try {
        auto learned = intruder_knowledge(cluster, kNoKeyHost);
        if (!learned.empty()) {
          std::lock_guard lock(notes_mutex);
          if (intruder_sightings.size() < 20) intruder_sightings.push_back(learned);
        }
        cluster.discard(kNoKeyHost);
        start_intruder(cluster, kNoKeyHost, plaintext);
        ++plaintext_incarnations;
      } catch (const std::exception& e) {
        std::lock_guard lock(notes_mutex);
        nemesis_errors.push_back(std::string("the intruder without a key: ") + e.what());
        break;
      }
    }
    // The clients stop at the deadline (or at their bound), the nemesis after its last fault
    // (planned before the deadline); then the watch.
    for (auto& t : clients) t.join();
    nemesis.join();
    stop = true;
  }
  const double run_seconds = std::chrono::duration<double>(Clock::now() - run_start).count();

  // ---- heal, and wait for a quiet cluster -----------------------------------------------------------
  std::string cuts_at_end;
  for (const auto& [from, to] : cluster.lab().cuts()) cuts_at_end += " " + cluster.name(from) + "->" + cluster.name(to);
  cluster.lab().heal_all();
  const auto heal_time = Clock::now();
  bool meshed = eventually([&] { return cluster_mesh(cluster); }, kMeshDeadline, 50ms);
  const double mesh_seconds = std::chrono::duration<double>(Clock::now() - heal_time).count();
  Observation final_state = observe(cluster);
  bool quiet = false;
  auto settle_deadline = Clock::now() + kSettleDeadline;
  while (meshed && Clock::now() < settle_deadline) {
    std::this_thread::sleep_for(300ms);
    Observation next = observe(cluster);
    quiet = settled(final_state, next);
    final_state = std::move(next);
    if (quiet) break;
  }
  const double settle_seconds = std::chrono::duration<double>(Clock::now() - heal_time).count();

  // ---- the verdict ----------------------------------------------------------------------------------
  const auto ops = history.ops();
  AcknowledgedStats acknowledged;
  const auto violations = check_all(ops, final_state, &acknowledged);
  std::size_t entries = final_state.nodes.front().registry.size();
  std::size_t members = 0;
  for (const auto& [_, m] : final_state.nodes.front().groups) members += m.size();
  std::size_t callbacks = 0;
  std::map<std::string, std::size_t> reasons;  // what the callbacks went through, by reason
  for (const auto& view : final_state.nodes) {
    callbacks += view.events.size();
    for (const auto& e : view.events) ++reasons[e.value("reason", Term::object()).value("kind", std::string("?"))];
  }
  std::string reason_counts;
  for (const auto& [kind, n] : reasons) reason_counts += " " + kind + " " + std::to_string(n);
  std::printf(
      "nemesis: seed %llu: %zu operations in %.1f s, %zu of %zu faults applied, cuts in force at the end:%s; a "
      "node missed a peer in %zu of %zu polls of nodes()\n"
      "nemesis: %s\n"
      "nemesis: heal: full mesh after %.1f s, quiet after %.1f s; at the end %zu names, %zu members, %zu processes, "
      "%zu callbacks over 5 nodes, by reason:%s\n"
      "nemesis: acknowledged registers and joins: %zu; %zu with a dead process, %zu that another operation could "
      "undo, %zu checked present (%zu with their meta); %zu violations\n",
      static_cast<unsigned long long>(seed), ops.size(), run_seconds, faults_applied, plan.size(),
      cuts_at_end.empty() ? " none" : cuts_at_end.c_str(), torn_polls, polls, summary(ops).c_str(), mesh_seconds,
      settle_seconds, entries, members, final_state.processes.size(), callbacks, reason_counts.c_str(),
      acknowledged.acknowledged, acknowledged.dead, acknowledged.undoable, acknowledged.checked,
      acknowledged.meta_checked, violations.size());
  std::fflush(stdout);

  CHECK(nemesis_errors.empty());
  for (const auto& e : nemesis_errors) UNSCOPED_INFO("nemesis: " << e);
  for (const auto& w : workers) {
    INFO("client on " << cluster.name(w->host()) << ": " << w->unexpected().size() << " unexpected answers");
    for (const auto& u : w->unexpected()) UNSCOPED_INFO(u);
    CHECK(w->unexpected().empty());
  }
  if (!meshed)
    FAIL_CHECK("seed " << seed << ": no full mesh " << kMeshDeadline.count()
                       << " s after the heal: " << cluster.views());
  if (!quiet)
    WARN("seed " << seed << ": the cluster did not settle in " << kSettleDeadline.count()
                 << " s; judging the last observation");
  if (!violations.empty()) {
    FAIL_CHECK("seed " << seed << " (SYN_NEMESIS_SEED=" << seed << "): " << violations.size()
                       << " violations:" << report(violations, ops));
  }
  // Not a vacuous run: writes of every kind were acknowledged, and some registrations checked.
  std::map<std::string, std::size_t> acked;
  for (const auto& op : ops) acked[op.kind] += op.ok() ? 1 : 0;
  for (const char* kind : {"register", "unregister", "update", "join", "leave", "kill", "spawn"}) {
    INFO(kind << " acknowledged " << acked[kind] << " times");
    CHECK(acked[kind] >= 1);
  }
  CHECK(acknowledged.checked >= 1);
  CHECK(faults_applied == plan.size());
  // The faults bit: nodes did lose peers (a plan of 20 s or more always holds cuts that last).
  if (duration >= 20s) CHECK(torn_polls > 0);

  // ---- the intruders ------------------------------------------------------------------------------------
  if (!intruders.empty()) {
    for (int i : intruders) {
      auto learned = intruder_knowledge(cluster, i);
      if (!learned.empty()) intruder_sightings.push_back(learned);
    }
    {
      std::lock_guard lock(notes_mutex);
      INFO("intruders listed or knowing anything: " << Term(intruder_sightings).dump());
      CHECK(intruder_sightings.empty());
    }
    std::printf("nemesis: intruders: the one without a key came back %zu times\n", plaintext_incarnations);
    const double minutes = std::chrono::duration<double>(Clock::now() - run_start).count() / 60.0;
    const auto max_lines = kRefusalLinesPerMinute * (1 + static_cast<std::size_t>(minutes));
    auto has_line = [](const std::string& log, std::initializer_list<const char*> needles) {
      for (const char* needle : needles) {
        if (lines_with(log, needle) > 0) return true;
      }
      return false;
    };
    for (int h = 0; h < kHosts; ++h) {
      auto& node = cluster.node(h);
      auto nodes = node.nodes();
      INFO("on " << cluster.name(h));
      for (int i : intruders) CHECK(std::find(nodes.begin(), nodes.end(), cluster.name(i)) == nodes.end());
      auto refused = refused_peers(node);
      auto before = refused_before[static_cast<std::size_t>(h)];
      auto mid = refused_mid[static_cast<std::size_t>(h)];
      auto log = node.stderr_text();
      auto lines = lines_with(log, "cluster key");
      std::printf(
          "nemesis: intruders: %s refused %lld connections (%lld before them, %lld halfway) and logged %zu "
          "lines about refusals (at most %zu allowed):\n",
          cluster.name(h).c_str(), refused, before, mid, lines, max_lines);
      std::istringstream log_lines(log);
      for (std::string line; std::getline(log_lines, line);) {
        if (line.find("cluster key") != std::string::npos) std::printf("    %s\n", line.c_str());
      }
      INFO(cluster.name(h) << "'s log:\n" << log);
      // Each new intruder without a key at least once, and the one with another key besides.
      CHECK(refused >= before + static_cast<long long>(plaintext_incarnations) + 1);
      if (mid >= 0) CHECK(refused > mid);  // still refused after halfway: they kept dialling
      // Both kinds were refused and said so, in a few lines however many the attempts.
      CHECK(has_line(log, {"no cluster key (plaintext)", "ended before its handshake completed"}));
      CHECK(has_line(log, {"holds another cluster key", "does not hold the cluster key"}));
      CHECK(lines <= max_lines);
    }
    std::fflush(stdout);
  }
  std::printf("nemesis: seed %llu: done in %.1f s in all\n", static_cast<unsigned long long>(seed),
              std::chrono::duration<double>(Clock::now() - test_start).count());
  std::fflush(stdout);
}
