// Tests of the `show servers state` parser on output captured from HAProxy 2.6 and on broken replies.
#include <fstream>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "health/servers_state.h"

using namespace sticky::health;
using sticky::model::Server;
using sticky::model::ServerState;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(STICKY_HEALTH_FIXTURES) + "/" + name);
  REQUIRE(in);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const Server& server(const ServersStateResult& r, std::string_view backend, std::string_view name) {
  for (const BackendServers& b : r.backends)
    if (b.backend == backend)
      for (const Server& s : b.servers)
        if (s.name == name) return s;
  FAIL("no server " << backend << "/" << name);
  throw std::logic_error("unreachable");
}

const std::string kHeader =
    "1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight "
    "srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state "
    "srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port "
    "srv_check_addr srv_agent_addr srv_agent_port\n";

std::string row(std::string_view be, std::string_view srv, int op, int admin, int weight) {
  return "2 " + std::string(be) + " 1 " + std::string(srv) + " 127.0.0.1 " + std::to_string(op) + " " +
         std::to_string(admin) + " " + std::to_string(weight) + " 100 1 1 0 2 0 0 0 0 - 1 - 0 0 - - 0\n";
}

}  // namespace

TEST_CASE("a fresh HAProxy dump gives each backend's servers with state and weight", "[servers_state]") {
  ServersStateResult r = parse_servers_state(fixture("servers_state_initial.txt"));
  REQUIRE(r.ok());
  REQUIRE(r.backends.size() == 2);
  CHECK(r.backends[0].backend == "app");
  CHECK(r.backends[0].servers.size() == 5);
  CHECK(r.backends[1].backend == "cache_east");
  CHECK(server(r, "app", "s1").state == ServerState::Up);
  CHECK(server(r, "app", "s1").weight == 100);
  CHECK(server(r, "app", "s2").weight == 50);
  CHECK(server(r, "app", "s3").state == ServerState::Maint);  // `disabled` in the config: admin 0x05
  CHECK(server(r, "app", "s4").state == ServerState::Down);   // failing health check
  CHECK(server(r, "app", "s5").state == ServerState::Down);   // tracks the failing s4
  CHECK(server(r, "cache_east", "c2").state == ServerState::Up);
  // srv_id: what HAProxy's stick tables store (the fast path's pins are cleared by it).
  CHECK(server(r, "app", "s1").haproxy_id == 1);
  CHECK(server(r, "app", "s4").haproxy_id == 4);
}

TEST_CASE("a dump without srv_id gives id 0; a bad srv_id is refused", "[servers_state]") {
  const std::string header = "1\n# be_name srv_name srv_op_state srv_admin_state srv_uweight\n";
  ServersStateResult r = parse_servers_state(header + "app s1 2 0 1\n");
  REQUIRE(r.ok());
  CHECK(server(r, "app", "s1").haproxy_id == 0);
  r = parse_servers_state("1\n# be_name srv_id srv_name srv_op_state srv_admin_state srv_uweight\napp x s1 2 0 1\n");
  CHECK(r.error == StateParseError::BadNumber);
}

TEST_CASE("maint, drain, inherited maint and weight 0 set through the socket are read back", "[servers_state]") {
  ServersStateResult r = parse_servers_state(fixture("servers_state_maint_drain_weight.txt"));
  REQUIRE(r.ok());
  CHECK(server(r, "app", "s1").state == ServerState::Maint);
  CHECK(server(r, "app", "s2").state == ServerState::Drain);
  CHECK(server(r, "app", "s2").weight == 50);
  CHECK(server(r, "app", "s4").state == ServerState::Maint);
  CHECK(server(r, "app", "s5").state == ServerState::Maint);  // IMAINT from tracking s4
  const Server& c2 = server(r, "cache_east", "c2");
  CHECK(c2.state == ServerState::Up);
  CHECK(c2.weight == 0);
  CHECK_FALSE(c2.accepts_new());
  CHECK(c2.accepts_existing());
}

TEST_CASE("a dump limited to one backend lists only that backend", "[servers_state]") {
  ServersStateResult r = parse_servers_state(fixture("servers_state_one_backend.txt"));
  REQUIRE(r.ok());
  REQUIRE(r.backends.size() == 1);
  CHECK(server(r, "app", "s1").state == ServerState::Up);
  CHECK(server(r, "app", "s2").state == ServerState::Up);
}

TEST_CASE("state bits map like HAProxy's own maint and drain masks", "[servers_state]") {
  CHECK(server_state_from_bits(OpState::Running, 0) == ServerState::Up);
  CHECK(server_state_from_bits(OpState::Starting, 0) == ServerState::Up);
  CHECK(server_state_from_bits(OpState::Stopping, 0) == ServerState::Drain);
  CHECK(server_state_from_bits(OpState::Stopped, 0) == ServerState::Down);
  CHECK(server_state_from_bits(OpState::Running, 0x01) == ServerState::Maint);
  CHECK(server_state_from_bits(OpState::Running, 0x02) == ServerState::Maint);
  CHECK(server_state_from_bits(OpState::Running, 0x20) == ServerState::Maint);
  CHECK(server_state_from_bits(OpState::Running, 0x04) == ServerState::Up);  // CMAINT alone: made ready again
  CHECK(server_state_from_bits(OpState::Running, 0x40) == ServerState::Up);  // FQDN set: not maintenance
  CHECK(server_state_from_bits(OpState::Running, 0x08) == ServerState::Drain);
  CHECK(server_state_from_bits(OpState::Running, 0x10) == ServerState::Drain);
  CHECK(server_state_from_bits(OpState::Stopped, 0x08) == ServerState::Down);
  CHECK(server_state_from_bits(OpState::Stopped, 0x09) == ServerState::Maint);
}

TEST_CASE("columns are found by the header, comments and CRLF are tolerated", "[servers_state]") {
  std::string text =
      "1\r\n# srv_uweight be_name srv_name srv_admin_state srv_op_state extra\r\n"
      "# a comment line\r\n7 web w1 0 2 x\r\n0 web w2 8 2 x\r\n\r\n";
  ServersStateResult r = parse_servers_state(text);
  REQUIRE(r.ok());
  CHECK(server(r, "web", "w1").weight == 7);
  CHECK(server(r, "web", "w2").state == ServerState::Drain);
}

TEST_CASE("interleaved backends keep first-appearance order", "[servers_state]") {
  ServersStateResult r =
      parse_servers_state(kHeader + row("a", "x", 2, 0, 1) + row("b", "y", 2, 0, 1) + row("a", "z", 2, 0, 1));
  REQUIRE(r.ok());
  REQUIRE(r.backends.size() == 2);
  CHECK(r.backends[0].backend == "a");
  CHECK(r.backends[0].servers.size() == 2);
}

TEST_CASE("broken replies are rejected with a specific error and line", "[servers_state]") {
  struct Case {
    std::string text;
    StateParseError error;
    std::size_t line;
  };
  const Case cases[] = {
      {"", StateParseError::Empty, 0},
      {"\n\n", StateParseError::Empty, 0},
      {"Unknown command: 'show servers state'\n", StateParseError::NotAStateDump, 1},
      {"Permission denied\n", StateParseError::NotAStateDump, 1},
      {"2\n# be_name srv_name\n", StateParseError::UnsupportedVersion, 1},
      {"1\n2 app 1 s1\n", StateParseError::MissingHeader, 2},
      {"1\n# be_id be_name srv_name srv_op_state srv_admin_state\n", StateParseError::MissingColumn, 2},
      {kHeader + row("app", "s1", 2, 0, 1) + "2 app 2 s2 127.0.0.1 2 0\n", StateParseError::FieldCount, 4},
      {kHeader + row("app", "s1", 7, 0, 1), StateParseError::BadNumber, 3},
      {kHeader + row("app", "s1", 2, -1, 1), StateParseError::BadNumber, 3},
      {kHeader + row("app", "s1", 2, 0, 1) + row("app", "s1", 2, 0, 1), StateParseError::DuplicateServer, 4},
  };
  for (const Case& c : cases) {
    INFO(c.text);
    ServersStateResult r = parse_servers_state(c.text);
    CHECK(r.error == c.error);
    CHECK(r.line == c.line);
    CHECK(r.backends.empty());
  }
  CHECK(parse_servers_state(kHeader + row("app", "s1", 2, 0, 99999999)).ok());
  CHECK(parse_servers_state(kHeader + "2 app 1 s1 127.0.0.1 2 0 abc 1 1 1 0 2 0 0 0 0 - 1 - 0 0 - - 0\n").detail ==
        "srv_uweight 'abc'");
  CHECK(state_parse_error_name(StateParseError::FieldCount) == "wrong number of fields");
}
