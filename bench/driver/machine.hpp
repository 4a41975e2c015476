#pragma once
/// \file
/// What machine the figures come from.

#include <syn/term.hpp>

#include <string>

namespace syn::bench {

/// {"nproc", "cpu_model", "mem_total_kb", "kernel", "date", "loadavg"}.
Term machine_info();
/// The first three fields of /proc/loadavg, e.g. "1.02 0.88 0.75".
std::string load_average();
/// Now, UTC, ISO 8601 ("2026-11-20T10:00:00Z").
std::string utc_now();

}  // namespace syn::bench
