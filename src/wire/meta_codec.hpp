#pragma once
// Metas as stored: canonical bytes, with null stored as the empty string (no allocation for
// the common case).
#include "wire/term_codec.hpp"

#include <syn/term.hpp>

#include <string>
#include <string_view>

namespace syn::detail {

/// The stored form of a meta Term.
inline std::string meta_canonical(const Term& meta) { return meta.is_null() ? std::string() : wire::canonical(meta); }
/// The stored form of canonical bytes read from the wire.
inline std::string meta_stored(std::string canonical) {
  if (wire::is_nil(canonical)) canonical.clear();
  return canonical;
}
/// A stored meta back as a Term.
inline Term meta_term(std::string_view stored) { return stored.empty() ? Term() : wire::decode_canonical(stored); }

}  // namespace syn::detail
