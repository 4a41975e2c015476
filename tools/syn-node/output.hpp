#pragma once
// The one writer of syn-node's stdout. Responses come from the control thread and events from
// the node's callback thread, so every line goes through here: one JSON object per line,
// written whole and flushed at once (a controller reads line by line through a pipe).
#include <syn/term.hpp>

#include <cstdio>
#include <mutex>
#include <string_view>

namespace syn_node {

/// Serialised, line-flushed JSON output.
class Output {
 public:
  explicit Output(std::FILE* stream = stdout) : stream_(stream) {}
  Output(const Output&) = delete;
  Output& operator=(const Output&) = delete;

  /// Writes `value` as one compact JSON line and flushes (any thread).
  void line(const syn::Term& value);
  /// Writes an event line {"event": name, ...fields} (any thread).
  void event(std::string_view name, syn::Term fields = syn::Term::object());

 private:
  std::mutex mutex_;
  std::FILE* stream_;
};

}  // namespace syn_node
