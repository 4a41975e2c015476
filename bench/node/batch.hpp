#pragma once
/// \file
/// A timed batch of write calls (register, unregister, join, leave): synchronous calls
/// striped over many threads, synchronous calls timed one by one, or pipelined async calls.

#include "common/clock.hpp"
#include "node/args.hpp"
#include "node/latency.hpp"
#include "node/parallel.hpp"

#include <syn/term.hpp>

#include <algorithm>
#include <future>
#include <string>
#include <vector>

namespace syn::bench {

/// The arguments of a batch: item i of [0, count) uses process offset + i.
struct Batch {
  std::size_t offset = 0;      ///< first process
  std::size_t count = 0;       ///< items
  std::size_t threads = 1;     ///< concurrent synchronous callers
  std::int64_t start_at = 0;   ///< monotonic start (ns)
  std::string mode;            ///< "sync", "async" or (where offered) "list"
  std::size_t window = 10000;  ///< async: futures in flight before waiting for them
  bool latency = false;        ///< sync, one thread: time every call

  /// Reads offset, count (default `default_count`), threads, start_at, mode, window, latency.
  static Batch from(const Term& args, std::size_t default_count) {
    Batch b;
    b.offset = arg<std::size_t>(args, "offset", 0);
    b.count = arg<std::size_t>(args, "count", default_count);
    b.threads = std::max<std::size_t>(1, arg<std::size_t>(args, "threads", 1));
    b.start_at = arg<std::int64_t>(args, "start_at", 0);
    b.mode = arg<std::string>(args, "mode", "sync");
    b.window = std::max<std::size_t>(1, arg<std::size_t>(args, "window", 10000));
    b.latency = arg<bool>(args, "latency", false);
    return b;
  }
};

/// Runs call(i) -> Result for every item: striped over threads, or one by one with
/// latencies. Answers {"t_end", "late_ns", "calls", ["latency"]}.
template <class Call>
Term run_sync(const Batch& batch, Call call) {
  Tally tally;
  Term out;
  auto late = lateness(batch.start_at, now_ns());
  if (batch.latency) {
    std::vector<double> samples(batch.count);
    sleep_until_ns(batch.start_at);
    auto c0 = thread_cpu_ns();
    for (std::size_t i = 0; i < batch.count; ++i) {
      auto t0 = now_ns();
      tally.add(call(i));
      samples[i] = static_cast<double>(now_ns() - t0);
    }
    out["t_end"] = now_ns();
    out["caller_cpu_ns"] = thread_cpu_ns() - c0;
    out["latency"] = latency_json(std::move(samples));
  } else {
    std::int64_t cpu = 0;
    out["t_end"] = run_striped(batch.threads, batch.count, batch.start_at, tally, cpu,
                               [&](std::size_t i, Tally& t) { t.add(call(i)); });
    out["caller_cpu_ns"] = cpu;
  }
  out["late_ns"] = late;
  out["calls"] = tally.to_json();
  return out;
}

/// Pipelined: call(i) -> future<Result>, a window of futures in flight from this thread, then
/// all awaited, until done. Answers {"t_end", "late_ns", "calls", "caller_cpu_ns"}.
template <class Call>
Term run_async(const Batch& batch, Call call) {
  Tally tally;
  auto late = lateness(batch.start_at, now_ns());
  std::vector<decltype(call(std::size_t{}))> futures;
  futures.reserve(std::min(batch.window, batch.count));
  sleep_until_ns(batch.start_at);
  auto c0 = thread_cpu_ns();
  for (std::size_t i = 0; i < batch.count;) {
    for (; i < batch.count && futures.size() < batch.window; ++i) futures.push_back(call(i));
    for (auto& f : futures) tally.add(f.get());
    futures.clear();
  }
  return Term{
      {"t_end", now_ns()}, {"late_ns", late}, {"calls", tally.to_json()}, {"caller_cpu_ns", thread_cpu_ns() - c0}};
}

/// Lists: call_list(first, end) -> vector<Result> for the items [first, end), `list` at a
/// time, from this thread. Answers as run_async.
template <class CallList>
Term run_lists(const Batch& batch, std::size_t list, CallList call_list) {
  Tally tally;
  auto late = lateness(batch.start_at, now_ns());
  sleep_until_ns(batch.start_at);
  auto c0 = thread_cpu_ns();
  for (std::size_t i = 0; i < batch.count; i += list) {
    for (const auto& result : call_list(i, std::min(batch.count, i + list))) tally.add(result);
  }
  return Term{
      {"t_end", now_ns()}, {"late_ns", late}, {"calls", tally.to_json()}, {"caller_cpu_ns", thread_cpu_ns() - c0}};
}

/// run_async when batch.mode is "async", else run_sync with `sync_call`.
template <class SyncCall, class AsyncCall>
Term run_batch(const Batch& batch, SyncCall sync_call, AsyncCall async_call) {
  if (batch.mode == "async") return run_async(batch, async_call);
  return run_sync(batch, sync_call);
}

}  // namespace syn::bench
