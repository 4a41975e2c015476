// libFuzzer target: arbitrary bytes as a peer's term (src/wire/term_codec.cpp: to_term,
// append_canonical, decode_canonical, fits_within and the lookup keys). See fuzz_frame.cpp for
// how to build and run it; the same body runs under GCC as a PRNG replay in the unit suite.
#include "fuzz/term_fuzz_body.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  syn::fuzz::fuzz_term(data, size);  // anything but DecodeError escapes: a crash
  return 0;
}
