// Pure parsers for the number forms the config file accepts: plain integers, sizes, durations.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sticky::config {

// A parsed number or the reason it was rejected (a static string, never empty on failure).
struct ParsedNumber {
  std::uint64_t value = 0;
  std::string_view error;
  bool ok() const { return error.empty(); }
};

// Decimal digits only, no sign, no spaces; rejects values above 2^64-1.
ParsedNumber parse_uint(std::string_view text);

// Integer with an optional k/m/g suffix (either case), binary multiples like HAProxy's sizes:
// "64m" = 64 * 1024 * 1024.
ParsedNumber parse_size(std::string_view text);

// Integer followed by a required unit ms|s|m|h|d, e.g. "500ms", "3s", "7d"; value in milliseconds.
// A bare number is rejected: "30" could mean seconds or milliseconds and a wrong guess is silent.
ParsedNumber parse_duration_ms(std::string_view text);

// Shortest exact spelling of a duration for messages: 1500 -> "1500ms", 3600000 -> "1h".
std::string format_duration(std::uint64_t ms);

}  // namespace sticky::config
