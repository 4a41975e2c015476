#pragma once
/// \file
/// Library and protocol versions.

namespace syn {

/// Version of the library.
inline constexpr const char* version = "0.1.0";
/// Version of the wire protocol; nodes speaking another version refuse each other.
inline constexpr unsigned protocol_version = 1;

}  // namespace syn
