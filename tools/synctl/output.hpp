#pragma once
// How synctl shows answers: aligned tables and short sentences for people, or the answer as
// one JSON object per line (--json). Each returns synctl's exit status for that answer.
#include <syn/term.hpp>

#include <string>

namespace synctl {

class Printer {
 public:
  explicit Printer(bool json) : json_(json) {}
  /// A successful answer to `cmd`: 0, or 1 when the answer is negative (not ready, not found).
  int answer(const std::string& cmd, const syn::Term& answer) const;
  /// An error answer ({"ok":false,...}): printed on stderr; 2.
  int failure(const syn::Term& answer) const;
  /// One live event line.
  void event(const syn::Term& line) const;

 private:
  bool json_;
};

}  // namespace synctl
