#pragma once
// A history of client operations, Jepsen's way: each operation recorded when it is invoked
// (who, what, with which arguments, when) and again when it completes (when, and how: ok, a
// definite failure, or indeterminate). Thread-safe: client threads record concurrently; the
// checker reads a copy afterwards.
#include <syn/term.hpp>

#include <chrono>
#include <cstddef>
#include <mutex>
#include <string>
#include <vector>

namespace syn::test::net {

/// How an operation ended.
enum class Outcome {
  ok,             ///< acknowledged: it took effect between its invocation and its completion
  failed,         ///< a definite failure (taken, undefined, not_alive, ...): it changed nothing
  indeterminate,  ///< no verdict (timeout, node_down, no answer): it may take effect at any
                  ///< time after its invocation, even after the run ended
};

/// "ok", "failed", "indeterminate".
const char* to_string(Outcome outcome);

/// One operation.
struct Op {
  std::size_t index = 0;  ///< position in the history (the order of invocation)
  std::string node;       ///< the node the client sent it to ("h1", ...)
  int worker = 0;         ///< the client thread (numbered across the run)
  std::string kind;       ///< register, unregister, update, join, leave, update_member, kill, spawn
  Term args;              ///< its arguments: name, group, pid, meta as they apply
  double invoked = 0;     ///< seconds since the history began
  double completed = 0;   ///< seconds; for an indeterminate one, when the client gave up
  Outcome outcome = Outcome::indeterminate;
  std::string code;  ///< the error code (failed, indeterminate), "no_answer" when none came
  Term result;       ///< what the answer carried that matters (spawn: the pid)

  bool ok() const { return outcome == Outcome::ok; }
  bool failed() const { return outcome == Outcome::failed; }
  bool indeterminate() const { return outcome == Outcome::indeterminate; }
  /// The latest time it may take effect: its completion, or forever when indeterminate.
  double effect_deadline() const;
};

/// "#12 h1/w3 register {"meta":..,"name":"n4","pid":"<h2.1.7>"} 1.204s..1.250s ok" (or
/// "failed taken", "indeterminate timeout").
std::string describe(const Op& op);

/// The error codes of syn-node responses after which a write may still have happened (the
/// call reached, or may have reached, the authority): timeout and node_down.
bool is_indeterminate_code(const std::string& code);

/// The history itself.
class History {
 public:
  using Clock = std::chrono::steady_clock;

  History() : start_(Clock::now()) {}
  History(const History&) = delete;
  History& operator=(const History&) = delete;

  /// Records an invocation now; returns its index for complete(). Until completed, it counts
  /// as indeterminate with code "no_answer".
  std::size_t invoke(std::string node, int worker, std::string kind, Term args);
  /// Records the completion of `index` now.
  void complete(std::size_t index, Outcome outcome, std::string code = {}, Term result = nullptr);
  /// Records the completion of `index` from a syn-node response ({"ok":true,...} or
  /// {"ok":false,"code":...}): ok, failed, or indeterminate for is_indeterminate_code.
  /// `result_key`, when not empty, names the field of the response kept as the result.
  void complete_from_response(std::size_t index, const Term& response, const std::string& result_key = {});

  /// A copy of every operation so far, in invocation order.
  std::vector<Op> ops() const;
  /// Seconds since the history began (the time base of invoked/completed).
  double now() const;

 private:
  Clock::time_point start_;
  mutable std::mutex mutex_;
  std::vector<Op> ops_;
};

}  // namespace syn::test::net
