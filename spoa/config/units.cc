// Pure parsers for the number forms the config file accepts: plain integers, sizes, durations.
#include "config/units.h"

#include <charconv>
#include <limits>

namespace sticky::config {
namespace {

// Splits "123abc" into its leading digits and the rest.
std::string_view leading_digits(std::string_view text) {
  std::size_t n = 0;
  while (n < text.size() && text[n] >= '0' && text[n] <= '9') ++n;
  return text.substr(0, n);
}

bool checked_mul(std::uint64_t a, std::uint64_t b, std::uint64_t& out) {
  if (a != 0 && b > std::numeric_limits<std::uint64_t>::max() / a) return false;
  out = a * b;
  return true;
}

}  // namespace

ParsedNumber parse_uint(std::string_view text) {
  if (text.empty()) return {0, "empty value, expected a number"};
  std::string_view digits = leading_digits(text);
  if (digits.size() != text.size()) return {0, "not a plain non-negative integer"};
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || ptr != digits.data() + digits.size()) return {0, "number too large"};
  return {v, {}};
}

ParsedNumber parse_size(std::string_view text) {
  if (text.empty()) return {0, "empty value, expected a size"};
  std::string_view digits = leading_digits(text);
  if (digits.empty()) return {0, "a size starts with digits, e.g. 4096, 64k, 64m"};
  std::string_view suffix = text.substr(digits.size());
  std::uint64_t mult = 1;
  if (suffix == "k" || suffix == "K") {
    mult = 1ULL << 10;
  } else if (suffix == "m" || suffix == "M") {
    mult = 1ULL << 20;
  } else if (suffix == "g" || suffix == "G") {
    mult = 1ULL << 30;
  } else if (!suffix.empty()) {
    return {0, "unknown size suffix (use k, m or g)"};
  }
  ParsedNumber n = parse_uint(digits);
  if (!n.ok()) return n;
  std::uint64_t out = 0;
  if (!checked_mul(n.value, mult, out)) return {0, "size too large"};
  return {out, {}};
}

ParsedNumber parse_duration_ms(std::string_view text) {
  if (text.empty()) return {0, "empty value, expected a duration"};
  std::string_view digits = leading_digits(text);
  if (digits.empty()) return {0, "a duration starts with digits, e.g. 500ms, 3s, 30m"};
  std::string_view unit = text.substr(digits.size());
  std::uint64_t mult = 0;
  if (unit == "ms") {
    mult = 1;
  } else if (unit == "s") {
    mult = 1000;
  } else if (unit == "m") {
    mult = 60 * 1000;
  } else if (unit == "h") {
    mult = 3600 * 1000;
  } else if (unit == "d") {
    mult = 24ULL * 3600 * 1000;
  } else if (unit.empty()) {
    return {0, "duration needs a unit (ms, s, m, h or d)"};
  } else {
    return {0, "unknown duration unit (use ms, s, m, h or d)"};
  }
  ParsedNumber n = parse_uint(digits);
  if (!n.ok()) return n;
  std::uint64_t out = 0;
  if (!checked_mul(n.value, mult, out)) return {0, "duration too large"};
  return {out, {}};
}

std::string format_duration(std::uint64_t ms) {
  struct Unit {
    std::uint64_t ms;
    const char* name;
  };
  static constexpr Unit kUnits[] = {
      {24ULL * 3600 * 1000, "d"}, {3600 * 1000, "h"}, {60 * 1000, "m"}, {1000, "s"}};
  if (ms != 0) {
    for (const Unit& u : kUnits)
      if (ms % u.ms == 0) return std::to_string(ms / u.ms) + u.name;
  }
  return std::to_string(ms) + "ms";
}

}  // namespace sticky::config
