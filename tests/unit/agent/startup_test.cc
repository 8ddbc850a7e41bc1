// resolve_startup: where the listeners come from (the command line over the config), and what it
// refuses. (No listener at all is refused by main() and only warned about by --check: see
// tests/protocol/test_listeners.py.)
#include "agent/startup.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

using namespace sticky;

namespace {

io::ListenAddress address(const std::string& text) {
  io::ListenAddress a;
  std::string why;
  REQUIRE(io::parse_listen_address(text, a, why));
  return a;
}

bool has(const std::vector<std::string>& errors, const std::string& message) {
  for (const auto& e : errors)
    if (e == message) return true;
  return false;
}

}  // namespace

TEST_CASE("an empty agent.listen leaves the listeners to --listen", "[startup]") {
  config::Config cfg;
  cfg.agent.listen.clear();  // what `listen: []` or `listen:` with nothing after it loads as
  agent::CliOptions cli;
  agent::Startup out;
  std::vector<std::string> errors;
  CHECK(agent::resolve_startup(cli, cfg, out, errors));
  CHECK(out.server.listen.empty());  // what main() then refuses

  cli.listen.push_back(address("127.0.0.1:7001"));
  errors.clear();
  agent::Startup with_flag;
  CHECK(agent::resolve_startup(cli, cfg, with_flag, errors));
  CHECK(errors.empty());
  REQUIRE(with_flag.server.listen.size() == 1);
  CHECK(with_flag.server.listen[0].text == "127.0.0.1:7001");
}

TEST_CASE("the command line's listeners replace the config's, which apply without them", "[startup]") {
  config::Config cfg;
  cfg.agent.listen = {"127.0.0.1:7002", "unix:/run/sticky/a.sock"};
  agent::CliOptions cli;
  agent::Startup from_file;
  std::vector<std::string> errors;
  REQUIRE(agent::resolve_startup(cli, cfg, from_file, errors));
  REQUIRE(from_file.server.listen.size() == 2);
  CHECK(from_file.server.listen[1].kind == io::ListenAddress::Kind::Unix);

  cli.listen.push_back(address("127.0.0.1:7003"));
  agent::Startup from_flag;
  REQUIRE(agent::resolve_startup(cli, cfg, from_flag, errors));
  REQUIRE(from_flag.server.listen.size() == 1);
  CHECK(from_flag.server.listen[0].text == "127.0.0.1:7003");
}

TEST_CASE("a listener given twice is refused", "[startup]") {
  config::Config cfg;
  cfg.agent.listen = {"127.0.0.1:7004", "127.0.0.1:7004"};
  agent::Startup out;
  std::vector<std::string> errors;
  CHECK_FALSE(agent::resolve_startup(agent::CliOptions{}, cfg, out, errors));
  CHECK(has(errors, "listen address '127.0.0.1:7004' is given twice"));
  CHECK(errors.size() == 1);
}
