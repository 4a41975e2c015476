#pragma once
// The code of the syn::Error a call throws, for tests of calls that report errors by throwing.
#include <syn/errors.hpp>

#include <catch2/catch.hpp>

namespace syn::test {

/// Runs `fn`; returns the code of the syn::Error it throws, and fails the test if it throws none.
template <class Fn>
Errc thrown_code(Fn&& fn) {
  try {
    fn();
  } catch (const Error& e) { return e.code(); }
  FAIL("no syn::Error thrown");
  return Errc::undefined;
}

}  // namespace syn::test
