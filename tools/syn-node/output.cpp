#include "output.hpp"

#include <string>

namespace syn_node {

void Output::line(const syn::Term& value) {
  // Invalid UTF-8 in a term (a message is any JSON a peer sent) must not kill the writer.
  std::string text = value.dump(-1, ' ', false, syn::Term::error_handler_t::replace);
  text.push_back('\n');
  std::lock_guard lock(mutex_);
  std::fwrite(text.data(), 1, text.size(), stream_);
  std::fflush(stream_);
}

void Output::event(std::string_view name, syn::Term fields) {
  syn::Term value = syn::Term::object();
  value["event"] = std::string(name);
  if (fields.is_object()) {
    for (auto& [key, field] : fields.items()) value[key] = std::move(field);
  }
  line(value);
}

}  // namespace syn_node
