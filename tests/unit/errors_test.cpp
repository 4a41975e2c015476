// Errc, Error and Result.
#include <syn/errors.hpp>
#include <syn/result.hpp>

#include <catch2/catch.hpp>

#include <set>
#include <sstream>
#include <string>

using namespace syn;

namespace {
const std::vector<std::pair<Errc, std::string>> kAll = {
    {Errc::taken, "taken"},
    {Errc::not_alive, "not_alive"},
    {Errc::undefined, "undefined"},
    {Errc::race_condition, "race_condition"},
    {Errc::not_self, "not_self"},
    {Errc::not_in_group, "not_in_group"},
    {Errc::invalid_scope, "invalid_scope"},
    {Errc::invalid_remote_scope, "invalid_remote_scope"},
    {Errc::timeout, "timeout"},
    {Errc::node_down, "node_down"},
    {Errc::bad_argument, "bad_argument"},
};
}  // namespace

TEST_CASE("every Errc has its snake_case name", "[unit][errors]") {
  std::set<std::string> seen;
  for (const auto& [code, name] : kAll) {
    CHECK(to_string(code) == name);
    std::ostringstream out;
    out << code;
    CHECK(out.str() == name);
    seen.insert(std::string(to_string(code)));
  }
  CHECK(seen.size() == kAll.size());
}

TEST_CASE("Error carries its code and a message naming it", "[unit][errors]") {
  for (const auto& [code, name] : kAll) {
    Error e(code, "something went wrong");
    CHECK(e.code() == code);
    CHECK_THAT(e.what(), Catch::Contains(name));
    CHECK_THAT(e.what(), Catch::Contains("something went wrong"));
  }
  // It is a std::runtime_error, catchable as such.
  try {
    throw Error(Errc::invalid_scope, "no scope 'users'");
  } catch (const std::runtime_error& e) { CHECK_THAT(e.what(), Catch::Contains("users")); }
}

TEST_CASE("Result holds a value or an Errc", "[unit][errors]") {
  Result<int> ok = 42;
  CHECK(ok.has_value());
  CHECK(static_cast<bool>(ok));
  CHECK(*ok == 42);
  CHECK(ok.value() == 42);

  Result<int> bad = syn::unexpected(Errc::taken);
  CHECK_FALSE(bad.has_value());
  CHECK_FALSE(static_cast<bool>(bad));
  CHECK(bad.error() == Errc::taken);
  CHECK_THROWS(bad.value());

  Result<std::string> text = std::string("hello");
  CHECK(text->size() == 5);

  Result<void> done;
  CHECK(done.has_value());
  Result<void> failed = syn::unexpected(Errc::node_down);
  CHECK_FALSE(failed);
  CHECK(failed.error() == Errc::node_down);
}

TEST_CASE("Result<void> reads as std::expected<void, Errc>: value() throws the code, == compares", "[unit][errors]") {
  Result<void> done;
  done.value();  // returns: the call succeeded
  *done;
  Result<void> failed = syn::unexpected(Errc::taken);
  try {
    failed.value();
    FAIL("value() of a failed Result<void> returned");
  } catch (const tl::bad_expected_access<Errc>& e) { CHECK(e.error() == Errc::taken); }
  CHECK(done == Result<void>{});
  CHECK(failed == Result<void>{syn::unexpected(Errc::taken)});
  CHECK(failed != Result<void>{syn::unexpected(Errc::node_down)});
  CHECK(done != failed);
  CHECK(failed == syn::unexpected(Errc::taken));
  CHECK(syn::unexpected(Errc::taken) == failed);

  // The forms with a value keep theirs.
  Result<int> ok = 7;
  const Result<int>& read_only = ok;
  CHECK(read_only.value() == 7);
  CHECK(*read_only == 7);
  CHECK(std::move(ok).value() == 7);
  CHECK(Result<int>{7} == Result<int>{7});
  CHECK(Result<int>{7} != Result<int>{8});
  CHECK(Result<int>{7} != Result<int>{syn::unexpected(Errc::taken)});
  CHECK(Result<int>{7} == 7);
  CHECK(7 == Result<int>{7});
  CHECK(Result<int>{7} != 8);
}
