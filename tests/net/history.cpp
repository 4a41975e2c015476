#include "net/history.hpp"

#include <cstdio>
#include <limits>

namespace syn::test::net {

const char* to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::ok: return "ok";
    case Outcome::failed: return "failed";
    case Outcome::indeterminate: return "indeterminate";
  }
  return "?";
}

double Op::effect_deadline() const { return indeterminate() ? std::numeric_limits<double>::infinity() : completed; }

std::string describe(const Op& op) {
  char times[64];
  if (op.indeterminate()) {
    std::snprintf(times, sizeof times, "%.3fs..(gave up %.3fs)", op.invoked, op.completed);
  } else {
    std::snprintf(times, sizeof times, "%.3fs..%.3fs", op.invoked, op.completed);
  }
  std::string out = "#" + std::to_string(op.index) + " " + op.node + "/w" + std::to_string(op.worker) + " " + op.kind +
                    " " + op.args.dump() + " " + times + " " + to_string(op.outcome);
  if (!op.code.empty()) out += " " + op.code;
  if (!op.result.is_null()) out += " -> " + op.result.dump();
  return out;
}

bool is_indeterminate_code(const std::string& code) { return code == "timeout" || code == "node_down"; }

std::size_t History::invoke(std::string node, int worker, std::string kind, Term args) {
  double at = now();
  std::lock_guard lock(mutex_);
  Op op;
  op.index = ops_.size();
  op.node = std::move(node);
  op.worker = worker;
  op.kind = std::move(kind);
  op.args = std::move(args);
  op.invoked = at;
  op.completed = at;
  op.outcome = Outcome::indeterminate;
  op.code = "no_answer";
  ops_.push_back(std::move(op));
  return ops_.size() - 1;
}

void History::complete(std::size_t index, Outcome outcome, std::string code, Term result) {
  double at = now();
  std::lock_guard lock(mutex_);
  Op& op = ops_.at(index);
  op.completed = at;
  op.outcome = outcome;
  op.code = std::move(code);
  op.result = std::move(result);
}

void History::complete_from_response(std::size_t index, const Term& response, const std::string& result_key) {
  if (response.value("ok", false) == true) {
    Term result = nullptr;
    if (!result_key.empty() && response.contains(result_key)) result = response[result_key];
    complete(index, Outcome::ok, {}, std::move(result));
    return;
  }
  std::string code = response.value("code", std::string());
  if (code.empty()) code = "error: " + response.value("error", std::string("?"));
  complete(index, is_indeterminate_code(code) ? Outcome::indeterminate : Outcome::failed, code);
}

std::vector<Op> History::ops() const {
  std::lock_guard lock(mutex_);
  return ops_;
}

double History::now() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

}  // namespace syn::test::net
