// Tests of the haproxy.cfg reader (backend/listen sections, `filter spoe` lines) and of its
// cross-check with the agent's backend names.
#include <catch2/catch.hpp>

#include <string>

#include "config/haproxy_cfg.h"

using namespace sticky::config;

namespace {
const char* const kCfg =
    "global\n"                                                          // 1
    "    stats socket /run/haproxy/admin.sock level admin\n"            // 2
    "defaults\n"                                                        // 3
    "    mode http\n"                                                   // 4
    "frontend web\n"                                                    // 5
    "    filter spoe engine hsaf config /etc/haproxy/spoe-hsaf.conf\n"  // 6 frontends are not backends
    "    default_backend app\n"                                         // 7
    "backend app\n"                                                     // 8
    "    # filter spoe engine commented config x\n"                     // 9
    "    filter compression\n"                                          // 10
    "\tfilter spoe engine sticky config \"/etc/haproxy/spoe sticky.conf\"\n"  // 11
    "    filter spoe engine other config y\n"                           // 12 only the first is kept
    "backend   plain   # no filter\n"                                   // 13
    "    server s1 127.0.0.1:8080\n"                                    // 14
    "listen shop\n"                                                     // 15
    "    bind :8081\n"                                                  // 16
    "    filter   spoe   config /etc/haproxy/spoe.conf\n"               // 17
    "backend sticky_agents\n"                                           // 18
    "    mode tcp\n";                                                   // 19
}  // namespace

TEST_CASE("The haproxy.cfg reader lists backend and listen sections with their SPOE filter line",
          "[haproxy_cfg]") {
  auto proxies = scan_haproxy_cfg(kCfg);
  REQUIRE(proxies.size() == 4);
  CHECK(proxies[0].name == "app");
  CHECK(proxies[0].keyword == "backend");
  CHECK(proxies[0].line == 8);
  CHECK(proxies[0].spoe_filter_line == 11);
  CHECK(proxies[0].spoe_engine == "sticky");
  CHECK(proxies[1].name == "plain");
  CHECK(proxies[1].line == 13);
  CHECK(proxies[1].spoe_filter_line == 0);
  CHECK(proxies[2].name == "shop");
  CHECK(proxies[2].keyword == "listen");
  CHECK(proxies[2].spoe_filter_line == 17);
  CHECK(proxies[2].spoe_engine.empty());
  CHECK(proxies[3].name == "sticky_agents");
  CHECK(proxies[3].spoe_filter_line == 0);
}

TEST_CASE("A file without proxies, or with a trailing line without newline, is read", "[haproxy_cfg]") {
  CHECK(scan_haproxy_cfg("").empty());
  CHECK(scan_haproxy_cfg("global\n  daemon\n").empty());
  auto p = scan_haproxy_cfg("backend b\n  filter spoe engine e config c");
  REQUIRE(p.size() == 1);
  CHECK(p[0].spoe_filter_line == 2);
}

TEST_CASE("The cross-check reports both directions with file:line, and nothing when names agree",
          "[haproxy_cfg]") {
  auto proxies = scan_haproxy_cfg(kCfg);
  SECTION("agreeing names: clean") {
    auto r = cross_check("h.cfg", proxies, "a.yaml", {{"app", 9}, {"shop", 20}});
    CHECK(r.errors.empty());
    CHECK(r.warnings.empty());
  }
  SECTION("a filtered proxy the agent lacks, and an agent backend HAProxy lacks") {
    auto r = cross_check("h.cfg", proxies, "a.yaml", {{"app", 9}, {"shopp", 20}});
    REQUIRE(r.errors.size() == 2);
    CHECK(r.errors[0].starts_with("h.cfg:17: listen 'shop' runs the SPOE filter"));
    CHECK(r.errors[0].find("'app', 'shopp'") != std::string::npos);  // the names the agent knows
    CHECK(r.errors[1].starts_with("a.yaml:20: backend 'shopp' is not a backend or listen section of h.cfg"));
    CHECK(r.warnings.empty());
  }
  SECTION("an agent backend whose HAProxy backend has no SPOE filter is a warning") {
    auto r = cross_check("h.cfg", proxies, "a.yaml", {{"app", 9}, {"shop", 20}, {"plain", 30}});
    CHECK(r.errors.empty());
    REQUIRE(r.warnings.size() == 1);
    CHECK(r.warnings[0].starts_with("h.cfg:13: backend 'plain'"));
  }
}

TEST_CASE("cross_check_files reads the agent's backend names and their lines from the YAML file",
          "[haproxy_cfg]") {
  auto r = cross_check_files(STICKY_SOURCE_DIR "/haproxy-conf/akamai/haproxy.cfg",
                             STICKY_SOURCE_DIR "/haproxy-conf/akamai/sticky-agent.yaml");
  CHECK(r.errors.empty());
  CHECK(r.warnings.empty());
  auto missing = cross_check_files("/nonexistent/haproxy.cfg", STICKY_SOURCE_DIR "/haproxy-conf/akamai/sticky-agent.yaml");
  REQUIRE(missing.errors.size() == 1);
  CHECK(missing.errors[0].find("cannot read") != std::string::npos);
}
