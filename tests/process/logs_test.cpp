// syn-node --log-json: the library's log records as JSON lines on stderr (SPEC 9), one whole
// object per line with the node, the component and the peer a line concerns.
#include "process/process_support.hpp"

#include <catch2/catch.hpp>

#include <sstream>
#include <string>

using namespace syn;
using namespace syn::test;

TEST_CASE("syn-node --log-json writes log records as JSON lines", "[process][logs]") {
  auto config = process_agent_config({"--log-json", "--log-level", "info"});
  Agent alpha(agent_options("alpha"), config);
  Agent beta(agent_options("beta", {alpha.endpoint()}), config);
  REQUIRE(eventually([&] { return agent_sees_exactly(alpha, {"beta"}); }));
  auto peer_up_record = [&] {
    std::istringstream lines(alpha.stderr_text());
    std::string line;
    while (std::getline(lines, line)) {
      if (line.empty() || line[0] != '{') continue;
      auto record = Term::parse(line);  // every JSON line is one whole object
      if (record.value("component", "") == "transport" && record.value("peer", "") == "beta" &&
          record.value("level", "") == "info" && record.value("node", "") == "alpha" && record.contains("time")) {
        return true;
      }
    }
    return false;
  };
  CHECK(eventually(peer_up_record));
}
