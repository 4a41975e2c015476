#pragma once
// Catch2 side of the net tests: skipping where no lab can be made, waiting for the mesh, and
// reading a scope's registry and groups from a node.
#include "net/net_cluster.hpp"
#include "support/eventually.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <string>

namespace syn::test::net {

/// The line that marks a skipped net test; ctest's SKIP_REGULAR_EXPRESSION matches it, so the
/// skip shows up as "Skipped" in ctest's summary rather than as a pass.
inline constexpr const char* kSkipMarker = "SYN-NET-SKIPPED";

/// Prints "<kSkipMarker>: <why>" on stdout (for ctest and for people).
void report_skip(const std::string& why);
/// Skips the rest of a net test: WARNs "<kSkipMarker>: <why>" for Catch's output and
/// report_skip()s it for ctest. Follow it with return.
#define SYN_NET_SKIP(why)                                     \
  do {                                                        \
    std::string why_text_ = (why);                            \
    ::syn::test::net::report_skip(why_text_);                 \
    WARN(::syn::test::net::kSkipMarker << ": " << why_text_); \
  } while (false)

/// The pid `node` looks `name` up to in `scope`, or "" when it is not registered there.
std::string lookup_pid(test::Agent& node, const std::string& scope, const Term& name);
/// The members of `group` as `node` sees them: pid -> meta.
std::map<std::string, Term> members_of(test::Agent& node, const std::string& scope, const Term& group);
/// A new process of `host`'s node that registers itself as `name`; returns its pid.
std::string register_new(NetCluster& cluster, int host, const std::string& scope, const Term& name,
                         const Term& meta = nullptr);

}  // namespace syn::test::net

/// First thing in a net test: when no lab can be made here (not root, ip or nft missing),
/// warns with the reason, marks the test skipped for ctest, and returns. Catch2 v2 has no skip.
#define SYN_NET_REQUIRE_LAB()                                     \
  do {                                                            \
    if (auto why_ = ::syn::test::net::lab_unavailable_reason()) { \
      SYN_NET_SKIP("net lab unavailable: " + *why_);              \
      return;                                                     \
    }                                                             \
  } while (false)

/// Requires the full mesh of a NetCluster within 15 s, saying who sees whom otherwise.
#define REQUIRE_NET_MESH(cluster)                                                         \
  do {                                                                                    \
    if (!(cluster).wait_full_mesh()) FAIL("no full mesh in 15 s: " << (cluster).views()); \
  } while (false)
