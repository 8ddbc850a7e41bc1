// Learning an application session cookie (JSESSIONID, PHPSESSID, ...) from Set-Cookie values.
//
// Accepted input: one Set-Cookie header value, or several joined by '\n' (optionally "\r\n", as
// in a raw header block) or by ',' (how a proxy folds repeated headers). A ',' only starts a new
// cookie when "name=" follows it, so the comma inside "Expires=Wed, 21 Oct 2015 ..." is not a
// split point. When the name appears several times the last one wins, as in a browser.
#pragma once

#include <cstdint>
#include <string_view>

namespace sticky::policy {

enum class SetCookieOutcome : std::uint8_t {
  NotFound = 0,  // no Set-Cookie for that name
  Learn,         // `value` is the session key to remember
  Forget,        // the app deletes the cookie: Max-Age <= 0, Expires in the past, or empty value
};

struct LearnedCookie {
  SetCookieOutcome outcome = SetCookieOutcome::NotFound;
  std::string_view value;  // view into the input; quotes around the value are removed
};

// Problems survived while parsing; the caller owns them (one per worker) and reads them.
struct SetCookieCounters {
  std::uint64_t learned = 0;
  std::uint64_t forgotten = 0;
  std::uint64_t not_found = 0;
  std::uint64_t bad_max_age = 0;      // Max-Age not an integer: ignored, as browsers do
  std::uint64_t bad_expires = 0;      // Expires not a date: ignored, as browsers do
  std::uint64_t unbalanced_quote = 0; // value opened a '"' it never closed: taken literally
};

// Finds cookie `name` (case-sensitive) in `set_cookie` and decides learn or forget. `now` is
// seconds since the epoch (for Expires). Pure, allocation-free; never reads outside the input.
LearnedCookie parse_set_cookie(std::string_view set_cookie, std::string_view name, std::int64_t now,
                               SetCookieCounters& counters);

// Removes one pair of surrounding double quotes, the same normalisation parse_set_cookie
// applies, so a request-side cookie value yields the same key as the learned one.
std::string_view strip_cookie_quotes(std::string_view value);

// Parses a cookie date per RFC 6265 section 5.1.1 (IMF-fixdate, RFC 850, asctime and the
// usual variants). Returns false if it is not a date; otherwise seconds since the epoch.
bool parse_cookie_date(std::string_view text, std::int64_t& out);

}  // namespace sticky::policy
