// Fuzz entry point: Set-Cookie parsing (learning the application's session cookie) and cookie dates.
// Input: one byte naming the cookie length n (low 4 bits; 0 = JSESSIONID), n bytes of name, then
// the header text. Checked: the learned value is a view into the input, Learn never yields an
// empty value, exactly one outcome is counted; a well-formed Set-Cookie built from the input's
// bytes is learned as written (also behind another cookie folded with ','), and a date formatted
// from the input's first eight bytes parses back to the same second.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "policy/set_cookie_parse.h"

using namespace sticky::policy;

namespace {

constexpr std::int64_t kNow = 1'750'000'000;

bool inside(std::string_view part, std::string_view whole) {
  return part.empty() || (part.data() >= whole.data() && part.data() + part.size() <= whole.data() + whole.size());
}

LearnedCookie parse_counted(std::string_view header, std::string_view name) {
  SetCookieCounters c;
  const LearnedCookie l = parse_set_cookie(header, name, kNow, c);
  FUZZ_CHECK(c.learned + c.forgotten + c.not_found == 1, "not exactly one outcome counted");
  FUZZ_CHECK(inside(l.value, header), "learned value is not a view into the header");
  if (l.outcome == SetCookieOutcome::Learn) FUZZ_CHECK(!l.value.empty(), "learned an empty value");
  if (l.outcome == SetCookieOutcome::NotFound) FUZZ_CHECK(l.value.empty(), "a value without a cookie");
  const std::string_view stripped = strip_cookie_quotes(l.value);
  FUZZ_CHECK(inside(stripped, l.value), "strip_cookie_quotes left its input");
  return l;
}

// RFC 6265 cookie-octet: what a server may put in a value without quoting.
bool cookie_octet(unsigned char c) {
  return c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) || (c >= 0x3C && c <= 0x5B) ||
         (c >= 0x5D && c <= 0x7E);
}

void check_date_round_trip(const std::uint8_t* data, std::size_t size) {
  std::uint64_t raw = 0;
  for (std::size_t i = 0; i < 8 && i < size; ++i) raw = raw << 8 | data[i];
  // 1601-01-01 .. 9999-12-31, the years a cookie date can carry.
  constexpr std::int64_t kFirst = -11644473600, kLast = 253402300799;
  const std::int64_t t = kFirst + static_cast<std::int64_t>(raw % static_cast<std::uint64_t>(kLast - kFirst + 1));
  const std::time_t tt = static_cast<std::time_t>(t);
  std::tm tm{};
  FUZZ_CHECK(gmtime_r(&tt, &tm) != nullptr, "gmtime_r failed");
  char buf[64];
  const std::size_t n = std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  FUZZ_CHECK(n > 0, "strftime failed");
  std::int64_t back = 0;
  FUZZ_CHECK(parse_cookie_date(std::string_view(buf, n), back), "a formatted date does not parse");
  FUZZ_CHECK(back == t, "a formatted date parses to another second");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::size_t n = std::min<std::size_t>(data[0] & 0x0F, size - 1);
  const char* p = reinterpret_cast<const char*>(data + 1);
  const std::string_view name = n ? std::string_view(p, n) : std::string_view("JSESSIONID");
  const std::string_view header(p + n, size - 1 - n);
  parse_counted(header, name);
  std::int64_t when = 0;
  (void)parse_cookie_date(header, when);
  check_date_round_trip(data, size);

  // A well-formed cookie from the input's value-safe bytes.
  std::string value;
  for (char c : header)
    if (cookie_octet(static_cast<unsigned char>(c)) && value.size() < 200) value.push_back(c);
  if (value.empty()) return 0;
  const std::string made = "JSESSIONID=" + value + "; Path=/; Max-Age=3600; HttpOnly";
  LearnedCookie l = parse_counted(made, "JSESSIONID");
  FUZZ_CHECK(l.outcome == SetCookieOutcome::Learn && l.value == value, "a plain Set-Cookie is not learned as written");
  const std::string folded = "other=1; Expires=Wed, 21 Oct 2015 07:28:00 GMT, " + made;
  l = parse_counted(folded, "JSESSIONID");
  FUZZ_CHECK(l.outcome == SetCookieOutcome::Learn && l.value == value, "a folded Set-Cookie is not learned as written");
  return 0;
}
