// libFuzzer target: arbitrary bytes as one inbound frame. Built only with Clang (see
// CMakeLists.txt here); the same body runs under GCC as a PRNG replay in the unit suite.
//
//   cmake -S . -B build-fuzz -DCMAKE_CXX_COMPILER=clang++ && cmake --build build-fuzz --target fuzz_frame
//   build-fuzz/tests/fuzz/fuzz_frame -max_total_time=60 build-fuzz/tests/fuzz/corpus
#include "fuzz/frame_fuzz_body.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // An InvariantViolation or any exception other than DecodeError escapes: libFuzzer reports
  // it as a crash with the input that caused it.
  syn::fuzz::fuzz_frame(data, size);
  return 0;
}
