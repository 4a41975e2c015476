// libFuzzer target: arbitrary bytes as the payload of a multicast scope message (the view
// protocol, the data path and announcements: src/wire/multicast_messages.cpp). See
// fuzz_frame.cpp for how to build and run it; the same body runs under GCC as a PRNG replay in
// the unit suite.
#include "fuzz/multicast_fuzz_body.hpp"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  syn::fuzz::fuzz_multicast(data, size);  // anything but DecodeError escapes: a crash
  return 0;
}
