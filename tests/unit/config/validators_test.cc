// Tests of the config value checks: addresses, CIDRs, cookie/header/HAProxy names, suggestions.
#include <array>

#include <catch2/catch.hpp>

#include "config/validators.h"

using namespace sticky::config;

TEST_CASE("addresses accept host:port, [v6]:port and unix paths where allowed", "[validators]") {
  CHECK(check_address("127.0.0.1:12345", false).empty());
  CHECK(check_address("redis.internal:6379", false).empty());
  CHECK(check_address("[::1]:12345", false).empty());
  CHECK(check_address("unix:/run/sticky.sock", true).empty());
  CHECK(check_address("unix:/run/sticky.sock", false) == "a unix socket is not accepted here, expected host:port");
  CHECK(check_address("unix:run/x", true) == "unix socket path must be absolute");
  CHECK(check_address("127.0.0.1", false) == "missing :port (use host:port, [v6]:port or unix:/path)");
  CHECK(check_address("127.0.0.1:0", false) == "port must be 1..65535");
  CHECK(check_address("127.0.0.1:70000", false) == "port must be 1..65535");
  CHECK(check_address("::1:80", false) == "IPv6 addresses must be written [addr]:port");
  CHECK(check_address("[::g]:80", false) == "invalid IPv6 address");
  CHECK(check_address("[::1]80", false) == "missing :port after ']'");
}

TEST_CASE("CIDRs are checked for address syntax and prefix length", "[validators]") {
  CHECK(check_cidr("10.0.0.0/8").empty());
  CHECK(check_cidr("192.0.2.1").empty());
  CHECK(check_cidr("2001:db8::/32").empty());
  CHECK(check_cidr("10.0.0.0/33") == "IPv4 prefix length must be 0..32");
  CHECK(check_cidr("2001:db8::/129") == "IPv6 prefix length must be 0..128");
  CHECK(check_cidr("10.0.0/8") == "invalid IPv4 address in CIDR");
  CHECK(check_cidr("10.0.0.0/") == "prefix length is not a number");
  CHECK(check_cidr("fe80::zz/64") == "invalid IPv6 address in CIDR");
}

TEST_CASE("cookie names must be RFC 6265 tokens and the culprit is named", "[validators]") {
  char bad = 0;
  CHECK(check_cookie_name("JSESSIONID", bad).empty());
  CHECK(check_cookie_name("STKY;x", bad) == "illegal character in cookie name");
  CHECK(bad == ';');
  CHECK(check_cookie_name("a=b", bad) == "illegal character in cookie name");
  CHECK(bad == '=');
  CHECK(check_cookie_name("", bad) == "empty cookie name");
}

TEST_CASE("header and HAProxy names reject separators", "[validators]") {
  CHECK(check_header_name("True-Client-IP").empty());
  CHECK_FALSE(check_header_name("True Client").empty());
  CHECK(check_haproxy_name("be_app-1.x:y").empty());
  CHECK_FALSE(check_haproxy_name("app/x").empty());
}

TEST_CASE("near misses get a suggestion, unrelated words do not", "[validators]") {
  constexpr std::array<std::string_view, 3> kKeys{"poll_interval", "runtime_api", "api_timeout"};
  CHECK(closest_match("pol_interval", kKeys) == "poll_interval");
  CHECK(closest_match("runtime-api", kKeys) == "runtime_api");
  CHECK(closest_match("colour", kKeys).empty());
  CHECK(edit_distance("kitten", "sitting") == 3);
}
