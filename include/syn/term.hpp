#pragma once
/// \file
/// The value type of names, group names, metadata, messages and exit reasons.

#include <nlohmann/json.hpp>

namespace syn {

/// Any value: names, group names, metadata, messages, exit reasons.
///
/// Names compare by value: "hedy", 42 and ["italy","lombardy"] are all valid names. Unlike
/// nlohmann::json's own operator==, syn keys names by their exact type, as Erlang does: the
/// integer 1 and the float 1.0 are two different names.
using Term = nlohmann::json;

}  // namespace syn
