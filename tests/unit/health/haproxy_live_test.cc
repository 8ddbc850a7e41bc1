// Runs the poller against a real haproxy 2.6 (skipped when haproxy is not installed): a state change
// made through the stats socket must show up in the poller's view within a bounded time.
#include <chrono>
#include <string>

#include <catch2/catch.hpp>

#include "haproxy_process.h"
#include "health/health_poller.h"
#include "health/runtime_api.h"
#include "health/server_view_cache.h"

using namespace sticky::health;
using sticky::model::ServerState;
using namespace std::chrono_literals;

namespace {

const char* kBackends =
    "defaults\n  mode http\n  timeout connect 1s\n  timeout client 5s\n  timeout server 5s\n"
    "backend app\n  server s1 127.0.0.1:1 weight 100\n  server s2 127.0.0.1:2 weight 50\n"
    "backend other\n  server o1 127.0.0.1:3\n";

// Polls the cache until `pred` holds for app's servers or the limit passes.
template <class Pred>
bool eventually(ServerViewCache& cache, std::chrono::milliseconds limit, Pred pred) {
  auto until = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < until) {
    const sticky::model::ServerSetPtr& app = cache.find("app");
    if (app && pred(*app)) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

void admin(const std::string& endpoint, const std::string& command) {
  RuntimeApiReply r = runtime_api_query(endpoint, command, 1s);
  INFO(command << ": " << r.error);
  REQUIRE(r.ok);
}

}  // namespace

TEST_CASE("the poller follows state changes made on a real haproxy", "[health_poller][haproxy]") {
  if (!HaproxyProcess::available()) {
    WARN("haproxy is not on PATH: skipping the live runtime API test");
    return;
  }
  auto endpoint = GENERATE(as<std::string>{}, "unix", "tcp");
  HaproxyProcess haproxy(kBackends);
  std::string why;
  bool ready = haproxy.wait_ready(5s, why);
  INFO("haproxy output: " << why);
  REQUIRE(ready);
  std::string api = endpoint == "unix" ? haproxy.unix_socket() : haproxy.tcp_socket();

  HealthPoller poller({.runtime_api = api, .poll_interval = 50ms, .api_timeout = 1s});
  poller.start();
  ServerViewCache cache(poller);
  REQUIRE(eventually(cache, 3s, [](const sticky::model::ServerSet& s) {
    return s.servers.size() == 2 && s.servers[0].state == ServerState::Up && s.servers[1].weight == 50;
  }));
  CHECK(cache.find("other")->servers.at(0).name == "o1");

  admin(api, "set server app/s1 state maint");
  CHECK(eventually(cache, 3s, [](const sticky::model::ServerSet& s) { return s.servers[0].state == ServerState::Maint; }));
  admin(api, "set server app/s2 state drain");
  admin(api, "set server app/s1 state ready");
  CHECK(eventually(cache, 3s, [](const sticky::model::ServerSet& s) {
    return s.servers[0].state == ServerState::Up && s.servers[1].state == ServerState::Drain;
  }));
  admin(api, "set server app/s1 weight 0");
  CHECK(eventually(cache, 3s, [](const sticky::model::ServerSet& s) { return s.servers[0].weight == 0; }));

  poller.stop();
  HealthCounters c = poller.counters();
  CHECK(c.api_failures == 0);
  CHECK(c.parse_errors == 0);
  CHECK(c.published >= 4);
}
