// Tests of the health poller's publishing rules (static fallback, change detection, bad replies
// keep the last view) and of the per-thread view cache, driven through a real unix socket peer.
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "health/health_poller.h"
#include "health/runtime_api.h"
#include "health/server_view_cache.h"
#include "socket_peer.h"

using namespace sticky::health;
using sticky::model::ServerSet;
using sticky::model::ServerState;
using namespace std::chrono_literals;

namespace {

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(STICKY_HEALTH_FIXTURES) + "/" + name);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<ServerSet> static_sets() {
  ServerSet app;
  app.backend = "app";
  app.servers = {{"s1", 10, ServerState::Up}, {"s2", 10, ServerState::Up}};
  ServerSet only_static;
  only_static.backend = "legacy";
  only_static.servers = {{"l1", 1, ServerState::Up}};
  return {app, only_static};
}

}  // namespace

TEST_CASE("without a runtime API the static servers are the view and polling does nothing", "[health_poller]") {
  HealthPoller poller({.static_servers = static_sets()});
  poller.start();  // no thread without an API
  poller.poll_once();
  CHECK(poller.version() == 1);
  ServerViewPtr v = poller.view();
  REQUIRE(v->find("app"));
  CHECK(v->find("app")->servers.size() == 2);
  CHECK(v->find("legacy")->servers[0].name == "l1");
  CHECK_FALSE(v->find("nope"));
  CHECK(poller.counters().polls == 0);
  CHECK(poller.counters().on_static_fallback);
}

TEST_CASE("an unreachable API counts failures, keeps static servers and logs once", "[health_poller]") {
  std::vector<std::string> logs;
  HealthPoller poller({.runtime_api = "unix:/nonexistent/dir/admin.sock",
                       .api_timeout = 200ms,
                       .static_servers = static_sets(),
                       .log = [&](std::string_view m) { logs.emplace_back(m); }});
  poller.poll_once();
  poller.poll_once();
  HealthCounters c = poller.counters();
  CHECK(c.polls == 2);
  CHECK(c.api_failures == 2);
  CHECK(c.on_static_fallback);
  CHECK(poller.version() == 1);  // the static view did not change
  REQUIRE(logs.size() == 1);
  CHECK(logs[0].find("unreachable (connect unix:/nonexistent/dir/admin.sock: No such file or directory)") !=
        std::string::npos);
}

TEST_CASE("HAProxy's view replaces static servers and only changes are published", "[health_poller]") {
  SocketPeer peer;
  peer.set_reply(fixture("servers_state_initial.txt"));
  std::vector<std::string> logs;
  HealthPoller poller({.runtime_api = "unix:" + peer.path(),
                       .static_servers = static_sets(),
                       .log = [&](std::string_view m) { logs.emplace_back(m); }});
  poller.poll_once();
  CHECK(peer.last_command() == "show servers state\n");
  REQUIRE(poller.version() == 2);
  ServerViewPtr first = poller.view();
  CHECK(first->find("app")->servers.size() == 5);        // HAProxy's list replaced the static one
  CHECK(first->find("legacy")->servers.size() == 1);     // not reported by HAProxy: static kept
  CHECK(first->find("cache_east")->servers.size() == 2);
  CHECK_FALSE(poller.counters().on_static_fallback);

  poller.poll_once();  // same reply
  CHECK(poller.version() == 2);
  CHECK(poller.counters().unchanged_polls == 1);

  peer.set_reply(fixture("servers_state_maint_drain_weight.txt"));
  poller.poll_once();
  REQUIRE(poller.version() == 3);
  ServerViewPtr second = poller.view();
  CHECK(second->find("app")->servers[0].state == ServerState::Maint);
  CHECK(second->find("app")->version == 3);
  CHECK(second->find("legacy") == first->find("legacy"));  // unchanged sets are shared, version kept
  CHECK(second->find("legacy")->version == 1);

  peer.set_reply("Unknown command: 'show servers state'\n");
  poller.poll_once();
  CHECK(poller.version() == 3);  // bad reply: last view kept
  CHECK(poller.counters().parse_errors == 1);
  CHECK(poller.counters().last_parse_error == StateParseError::NotAStateDump);
  REQUIRE(logs.size() == 2);
  CHECK(logs[1].find("reply is not a server state dump at line 1") != std::string::npos);
  CHECK(poller.counters().published == 2);
}

TEST_CASE("losing the API keeps HAProxy's last view (a reload must not undo maintenance)", "[health_poller]") {
  auto peer = std::make_unique<SocketPeer>();
  peer->set_reply(fixture("servers_state_maint_drain_weight.txt"));
  HealthPoller poller({.runtime_api = "unix:" + peer->path(), .api_timeout = 200ms, .static_servers = static_sets()});
  poller.poll_once();
  const std::uint64_t version = poller.version();
  CHECK(poller.view()->find("app")->servers[0].state == ServerState::Maint);
  peer.reset();  // socket gone, as during an HAProxy reload
  poller.poll_once();
  CHECK(poller.counters().api_failures == 1);
  CHECK_FALSE(poller.counters().on_static_fallback);
  CHECK(poller.version() == version);
  CHECK(poller.view()->find("app")->servers[0].state == ServerState::Maint);
}

TEST_CASE("the thread polls on its interval and stops promptly", "[health_poller]") {
  SocketPeer peer;
  peer.set_reply(fixture("servers_state_initial.txt"));
  HealthPoller poller({.runtime_api = "unix:" + peer.path(), .poll_interval = 20ms});
  poller.start();
  auto until = std::chrono::steady_clock::now() + 3s;
  while (poller.counters().polls < 3 && std::chrono::steady_clock::now() < until) std::this_thread::sleep_for(5ms);
  CHECK(poller.counters().polls >= 3);
  auto t0 = std::chrono::steady_clock::now();
  poller.stop();
  CHECK(std::chrono::steady_clock::now() - t0 < 500ms);
  std::uint64_t polls = poller.counters().polls;
  std::this_thread::sleep_for(60ms);
  CHECK(poller.counters().polls == polls);
}

TEST_CASE("the view cache refetches only when the version moves", "[server_view_cache]") {
  SocketPeer peer;
  peer.set_reply(fixture("servers_state_initial.txt"));
  HealthPoller poller({.runtime_api = "unix:" + peer.path(), .static_servers = static_sets()});
  ServerViewCache cache(poller);
  const sticky::model::ServerSet* before = cache.find("app").get();
  CHECK(cache.version() == 1);
  CHECK(cache.find("app").get() == before);
  poller.poll_once();
  const sticky::model::ServerSet* after = cache.find("app").get();
  CHECK(cache.version() == 2);
  CHECK(after != before);
  CHECK(after->servers.size() == 5);
  CHECK(cache.find("cache_east")->servers.size() == 2);
}

TEST_CASE("the runtime API client reports timeouts and bad endpoints", "[runtime_api]") {
  RuntimeApiReply r = runtime_api_query("no-port-here", "show info", 100ms);
  CHECK_FALSE(r.ok);
  CHECK(r.error == "endpoint needs host:port or unix:/path: no-port-here");
  SocketPeer peer;
  peer.set_reply(std::string(100, 'x'));
  RuntimeApiReply big = runtime_api_query(peer.path(), "show info", 1s, 10);
  CHECK_FALSE(big.ok);
  CHECK(big.error.find("exceeds 10 bytes") != std::string::npos);
  RuntimeApiReply fine = runtime_api_query(peer.path(), "show info", 1s);
  CHECK(fine.ok);
  CHECK(fine.text.size() == 100);
}
