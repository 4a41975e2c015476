#include <syn/pid.hpp>

#include <catch2/catch.hpp>

#include <unordered_set>

using syn::Pid;

TEST_CASE("Pid prints and parses back", "[unit][pid]") {
  Pid pid("alpha", 7, 42);
  CHECK(pid.to_string() == "<alpha.7.42>");
  auto parsed = Pid::parse("<alpha.7.42>");
  REQUIRE(parsed);
  CHECK(*parsed == pid);
  CHECK(parsed->node() == "alpha");
}

TEST_CASE("Pid parsing accepts node names with dots and rejects garbage", "[unit][pid]") {
  auto parsed = Pid::parse("<svc@host.example.com.3.9>");
  REQUIRE(parsed);
  CHECK(parsed->node() == "svc@host.example.com");
  CHECK(parsed->creation() == 3);
  CHECK(parsed->id() == 9);
  for (const char* bad : {"", "<>", "alpha.7.42", "<alpha.7>", "<alpha.x.42>", "<alpha.7.42", "<.7.42x>",
                          "<alpha.7.-1>", "<alpha.99999999999.1>"}) {
    INFO(bad);
    CHECK_FALSE(Pid::parse(bad));
  }
}

TEST_CASE("Pid is a regular value type", "[unit][pid]") {
  Pid a("n1", 1, 1), b("n1", 1, 2), c("n2", 1, 1), a2("n1", 1, 1), other_creation("n1", 2, 1);
  CHECK(a == a2);
  CHECK(a != b);
  CHECK(a != other_creation);
  CHECK(a < b);
  CHECK(b < c);  // by node name first
  std::unordered_set<Pid> set{a, b, c, a2};
  CHECK(set.size() == 3);
  CHECK(Pid().is_null());
  CHECK(Pid().node().empty());
}

TEST_CASE("Pid converts to and from a Term", "[unit][pid]") {
  Pid pid("beta", 5, 77);
  syn::Term t = pid;
  CHECK(t == "<beta.5.77>");
  CHECK(t.get<Pid>() == pid);
  CHECK_THROWS(syn::Term("nope").get<Pid>());
}
