// libFuzzer target: arbitrary ZAP requests (src/transport/zap.cpp, the ZAP handler's
// decision on what libzmq builds from a peer's CURVE handshake). See fuzz_frame.cpp for how to
// build and run it; the same body runs under GCC as a PRNG replay in the unit suite.
#include "fuzz/zap_fuzz_body.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  (void)syn::fuzz::fuzz_zap(data, size);  // an InvariantViolation escapes: a crash
  return 0;
}
