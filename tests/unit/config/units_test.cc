// Tests of the config number forms: integers, sizes with suffixes, durations with units.
#include <catch2/catch.hpp>

#include "config/units.h"

using namespace sticky::config;

TEST_CASE("durations accept ms, s, m, h and d", "[units]") {
  CHECK(parse_duration_ms("500ms").value == 500);
  CHECK(parse_duration_ms("3s").value == 3000);
  CHECK(parse_duration_ms("30m").value == 30 * 60 * 1000);
  CHECK(parse_duration_ms("1h").value == 3600 * 1000);
  CHECK(parse_duration_ms("7d").value == 7ULL * 24 * 3600 * 1000);
  CHECK(parse_duration_ms("0s").ok());
}

TEST_CASE("durations without a unit or with a bad one are rejected with a reason", "[units]") {
  CHECK(parse_duration_ms("30").error == "duration needs a unit (ms, s, m, h or d)");
  CHECK(parse_duration_ms("3sec").error == "unknown duration unit (use ms, s, m, h or d)");
  CHECK(parse_duration_ms("-3s").error == "a duration starts with digits, e.g. 500ms, 3s, 30m");
  CHECK(parse_duration_ms("").error == "empty value, expected a duration");
  CHECK(parse_duration_ms("99999999999999999d").error == "duration too large");
}

TEST_CASE("sizes accept plain integers and binary k/m/g suffixes", "[units]") {
  CHECK(parse_size("4096").value == 4096);
  CHECK(parse_size("64k").value == 64 * 1024);
  CHECK(parse_size("64m").value == 64ULL * 1024 * 1024);
  CHECK(parse_size("2G").value == 2ULL << 30);
  CHECK(parse_size("12x").error == "unknown size suffix (use k, m or g)");
  CHECK(parse_size("k").error == "a size starts with digits, e.g. 4096, 64k, 64m");
  CHECK(parse_size("99999999999999999999").error == "number too large");
  CHECK(parse_size("99999999999999g").error == "size too large");
}

TEST_CASE("plain integers reject signs, spaces and fractions", "[units]") {
  CHECK(parse_uint("42").value == 42);
  CHECK_FALSE(parse_uint("-1").ok());
  CHECK_FALSE(parse_uint(" 1").ok());
  CHECK_FALSE(parse_uint("1.5").ok());
}

TEST_CASE("durations format with the largest exact unit", "[units]") {
  CHECK(format_duration(0) == "0ms");
  CHECK(format_duration(1500) == "1500ms");
  CHECK(format_duration(3000) == "3s");
  CHECK(format_duration(30 * 60 * 1000) == "30m");
  CHECK(format_duration(7ULL * 24 * 3600 * 1000) == "7d");
}
