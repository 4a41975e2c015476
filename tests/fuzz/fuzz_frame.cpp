// libFuzzer target: arbitrary bytes as one inbound frame (the handshake messages and every
// other message of src/wire/messages.cpp). Built with Clang when SYN_BUILD_FUZZ is on (see
// CMakeLists.txt here); scripts/fuzz builds and runs it. The same body runs under GCC as a
// PRNG replay in the unit suite.
//
//   scripts/fuzz 60                 build, seed and run every target for 60 s
//   build-fuzz/tests/fuzz/fuzz_frame -max_total_time=60 build-fuzz/corpus/fuzz_frame
#include "fuzz/frame_fuzz_body.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An InvariantViolation or any exception other than DecodeError escapes: libFuzzer reports
  // it as a crash with the input that caused it.
  syn::fuzz::fuzz_frame(data, size);
  return 0;
}
