#pragma once
/// \file
/// Reading command arguments (JSON objects) with defaults, and small answer helpers.

#include <syn/term.hpp>

#include <cstdint>
#include <stdexcept>
#include <string>

namespace syn::bench {

/// The argument `key` of `args` as T, or `fallback` when absent or null.
template <class T>
T arg(const Term& args, const char* key, T fallback) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) return fallback;
  return it->template get<T>();
}

/// The argument `key` of `args` as T; throws std::invalid_argument when absent.
template <class T>
T required(const Term& args, const char* key) {
  auto it = args.find(key);
  if (it == args.end() || it->is_null()) throw std::invalid_argument(std::string("missing argument '") + key + "'");
  return it->template get<T>();
}

}  // namespace syn::bench
