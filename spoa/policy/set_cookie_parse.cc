// Set-Cookie splitting, name/value and attribute parsing, and the RFC 6265 date algorithm.
#include "policy/set_cookie_parse.h"

#include <array>
#include <charconv>

namespace sticky::policy {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

char lower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

bool is_name_char(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u > 0x20 && u < 0x7f && std::string_view("()<>@,;:\\\"/[]?={}").find(c) == std::string_view::npos;
}

// Does a new cookie start at `s` (the text right after a ','), i.e. "  name=" ?
bool starts_cookie(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  const std::size_t name_start = i;
  while (i < s.size() && is_name_char(s[i])) ++i;
  return i > name_start && i < s.size() && s[i] == '=';
}

// Length of the next Set-Cookie string at the start of `s` (up to the separator).
std::size_t next_cookie_len(std::string_view s) {
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\n') return i;
    if (s[i] == ',' && starts_cookie(s.substr(i + 1))) return i;
  }
  return s.size();
}

// RFC 6265 5.1.1 delimiter set.
bool is_date_delimiter(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u == 0x09 || (u >= 0x20 && u <= 0x2f) || (u >= 0x3b && u <= 0x40) || (u >= 0x5b && u <= 0x60) ||
         (u >= 0x7b && u <= 0x7e);
}

// Reads 1..max_digits digits at the start of `t` into `v`; the token may continue with a
// non-digit (the RFC's "( non-digit *OCTET )"). Returns digits consumed, 0 if it does not match.
std::size_t leading_number(std::string_view t, std::size_t min_digits, std::size_t max_digits, int& v) {
  std::size_t i = 0;
  v = 0;
  while (i < t.size() && is_digit(t[i])) {
    if (i == max_digits) return 0;
    v = v * 10 + (t[i] - '0');
    ++i;
  }
  if (i < min_digits) return 0;
  return i;
}

bool parse_time_token(std::string_view t, int& h, int& m, int& s) {
  std::size_t a = leading_number(t, 1, 2, h);
  if (a == 0 || a >= t.size() || t[a] != ':') return false;
  t.remove_prefix(a + 1);
  std::size_t b = leading_number(t, 1, 2, m);
  if (b == 0 || b >= t.size() || t[b] != ':') return false;
  t.remove_prefix(b + 1);
  return leading_number(t, 1, 2, s) != 0;
}

int month_index(std::string_view t) {
  static constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                               "jul", "aug", "sep", "oct", "nov", "dec"};
  if (t.size() < 3) return 0;
  for (std::size_t i = 0; i < kMonths.size(); ++i)
    if (iequals(t.substr(0, 3), kMonths[i])) return static_cast<int>(i) + 1;
  return 0;
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

struct Attributes {
  bool has_max_age = false;
  std::int64_t max_age = 0;
  bool has_expires = false;
  std::int64_t expires = 0;
};

void parse_attributes(std::string_view attrs, Attributes& out, SetCookieCounters& n) {
  while (!attrs.empty()) {
    const std::size_t semi = attrs.find(';');
    std::string_view av = trim(attrs.substr(0, semi));
    attrs = semi == std::string_view::npos ? std::string_view{} : attrs.substr(semi + 1);
    const std::size_t eq = av.find('=');
    const std::string_view key = trim(av.substr(0, eq));
    const std::string_view val = eq == std::string_view::npos ? std::string_view{} : trim(av.substr(eq + 1));
    if (iequals(key, "max-age")) {
      // RFC 6265 5.2.2: a DIGIT or '-' then digits only; anything else ignores the attribute.
      std::int64_t v = 0;
      const char* end = val.data() + val.size();
      auto [ptr, ec] = std::from_chars(val.data(), end, v);
      const bool digits_only = !val.empty() && (is_digit(val[0]) || val[0] == '-') && ptr == end;
      if (ec == std::errc::result_out_of_range && digits_only) {
        v = val[0] == '-' ? -1 : INT64_MAX;  // huge: only the sign matters
      } else if (ec != std::errc{} || !digits_only) {
        ++n.bad_max_age;
        continue;
      }
      out.has_max_age = true;
      out.max_age = v;
    } else if (iequals(key, "expires")) {
      std::int64_t t = 0;
      if (!parse_cookie_date(val, t)) {
        ++n.bad_expires;
        continue;
      }
      out.has_expires = true;
      out.expires = t;
    }
  }
}

}  // namespace

std::string_view strip_cookie_quotes(std::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') return value.substr(1, value.size() - 2);
  return value;
}

bool parse_cookie_date(std::string_view text, std::int64_t& out) {
  bool have_time = false, have_day = false, have_month = false, have_year = false;
  int hour = 0, minute = 0, second = 0, day = 0, month = 0, year = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_date_delimiter(text[i])) ++i;
    const std::size_t start = i;
    while (i < text.size() && !is_date_delimiter(text[i])) ++i;
    if (i == start) break;
    const std::string_view tok = text.substr(start, i - start);
    int v = 0;
    if (!have_time && parse_time_token(tok, hour, minute, second)) {
      have_time = true;
    } else if (!have_day && leading_number(tok, 1, 2, v) != 0) {
      have_day = true;
      day = v;
    } else if (!have_month && month_index(tok) != 0) {
      have_month = true;
      month = month_index(tok);
    } else if (!have_year && leading_number(tok, 2, 4, v) != 0) {
      have_year = true;
      year = v;
    }
  }
  if (year >= 70 && year <= 99) year += 1900;
  if (year >= 0 && year <= 69) year += 2000;
  if (!have_time || !have_day || !have_month || !have_year) return false;
  if (day < 1 || day > 31 || year < 1601 || hour > 23 || minute > 59 || second > 59) return false;
  out = days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day)) * 86400 + hour * 3600 +
        minute * 60 + second;
  return true;
}

LearnedCookie parse_set_cookie(std::string_view set_cookie, std::string_view name, std::int64_t now,
                               SetCookieCounters& counters) {
  LearnedCookie result;
  while (!set_cookie.empty()) {
    const std::size_t len = next_cookie_len(set_cookie);
    const std::string_view one = set_cookie.substr(0, len);
    set_cookie = len < set_cookie.size() ? set_cookie.substr(len + 1) : std::string_view{};

    const std::size_t semi = one.find(';');
    const std::string_view pair = one.substr(0, semi);
    const std::size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;  // RFC 6265 5.2: no '=' ignores the whole string
    if (trim(pair.substr(0, eq)) != name || name.empty()) continue;

    std::string_view value = trim(pair.substr(eq + 1));
    if (!value.empty() && value.front() == '"' && (value.size() < 2 || value.back() != '"')) {
      ++counters.unbalanced_quote;
    } else {
      value = strip_cookie_quotes(value);
    }
    Attributes attrs;
    if (semi != std::string_view::npos) parse_attributes(one.substr(semi + 1), attrs, counters);
    // Max-Age wins over Expires (RFC 6265 5.3 step 3).
    const bool expired = attrs.has_max_age ? attrs.max_age <= 0 : (attrs.has_expires && attrs.expires <= now);
    result.outcome = (expired || value.empty()) ? SetCookieOutcome::Forget : SetCookieOutcome::Learn;
    result.value = result.outcome == SetCookieOutcome::Learn ? value : std::string_view{};
  }
  switch (result.outcome) {
    case SetCookieOutcome::NotFound: ++counters.not_found; break;
    case SetCookieOutcome::Learn: ++counters.learned; break;
    case SetCookieOutcome::Forget: ++counters.forgotten; break;
  }
  return result;
}

}  // namespace sticky::policy
