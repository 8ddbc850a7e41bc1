// The JSON writer: commas, nesting, escapes, and bytes that are not UTF-8.
#include <catch2/catch.hpp>

#include <cmath>
#include <string>

#include "admin/json.h"

using sticky::admin::Json;
using sticky::admin::json_quote;

TEST_CASE("objects and arrays get their commas", "[admin][json]") {
  Json j;
  j.begin_object().field("a", 1).field("b", "x").key("c").begin_array().num(1).num(2).begin_object().end_object()
      .end_array().field("d", true).key("e").null().field("f", std::uint64_t{18446744073709551615ULL})
      .field("g", std::int64_t{-5}).end_object();
  CHECK(j.text() == R"({"a":1,"b":"x","c":[1,2,{}],"d":true,"e":null,"f":18446744073709551615,"g":-5})");
}

TEST_CASE("strings are escaped and never break the document", "[admin][json]") {
  CHECK(json_quote("plain") == "\"plain\"");
  CHECK(json_quote("q\"b\\") == "\"q\\\"b\\\\\"");
  CHECK(json_quote(std::string("a\nb\x01", 4)) == "\"a\\u000ab\\u0001\"");
  CHECK(json_quote("caf\xC3\xA9") == "\"caf\xC3\xA9\"");
  // A raw IPv4 key, a lone continuation byte, an overlong form: each bad byte is U+FFFD.
  CHECK(json_quote(std::string("\xCB\x00\x71\x02", 4)) == "\"\xEF\xBF\xBD\\u0000q\\u0002\"");
  CHECK(json_quote("\x80") == "\"\xEF\xBF\xBD\"");
  CHECK(json_quote("\xC0\xAF") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\"");
  CHECK(json_quote("\xED\xA0\x80") == "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");  // a surrogate
}

TEST_CASE("numbers that JSON cannot hold become null", "[admin][json]") {
  Json j;
  j.begin_array().num(0.25).num(std::nan("")).num(INFINITY).end_array();
  CHECK(j.text() == "[0.25,null,null]");
}
