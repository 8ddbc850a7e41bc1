// Tests for learning an application cookie from Set-Cookie values, and cookie date parsing.
#include <catch2/catch.hpp>

#include <string>

#include "policy/set_cookie_parse.h"

using namespace sticky::policy;

namespace {

constexpr std::int64_t kNow = 1'700'000'000;  // 2023-11-14T22:13:20Z

LearnedCookie parse(std::string_view header, std::string_view name = "JSESSIONID") {
  SetCookieCounters n;
  return parse_set_cookie(header, name, kNow, n);
}

}  // namespace

TEST_CASE("A plain Set-Cookie yields its value", "[set_cookie]") {
  const LearnedCookie c = parse("JSESSIONID=ABC123; Path=/; HttpOnly");
  CHECK(c.outcome == SetCookieOutcome::Learn);
  CHECK(c.value == "ABC123");
  CHECK(parse("JSESSIONID=ABC123").value == "ABC123");
  CHECK(parse("  JSESSIONID =  ABC123  ;Secure").value == "ABC123");
}

TEST_CASE("Another cookie name is NotFound and counted", "[set_cookie]") {
  SetCookieCounters n;
  const LearnedCookie c = parse_set_cookie("PHPSESSID=xyz; path=/", "JSESSIONID", kNow, n);
  CHECK(c.outcome == SetCookieOutcome::NotFound);
  CHECK(c.value.empty());
  CHECK(n.not_found == 1);
  CHECK(parse("").outcome == SetCookieOutcome::NotFound);
  // Names are case-sensitive, and a prefix is not a match.
  CHECK(parse("jsessionid=abc").outcome == SetCookieOutcome::NotFound);
  CHECK(parse("JSESSIONID2=abc").outcome == SetCookieOutcome::NotFound);
  // An attribute that happens to carry the name is not the cookie.
  CHECK(parse("other=1; JSESSIONID=abc").outcome == SetCookieOutcome::NotFound);
}

TEST_CASE("Quoted values lose their quotes; an unbalanced quote is taken literally", "[set_cookie]") {
  CHECK(parse("JSESSIONID=\"q-123\"; Path=/").value == "q-123");
  SetCookieCounters n;
  const LearnedCookie c = parse_set_cookie("JSESSIONID=\"q-123; Path=/", "JSESSIONID", kNow, n);
  CHECK(c.value == "\"q-123");
  CHECK(n.unbalanced_quote == 1);
  CHECK(strip_cookie_quotes("\"abc\"") == "abc");
  CHECK(strip_cookie_quotes("\"") == "\"");
  CHECK(strip_cookie_quotes("abc") == "abc");
}

TEST_CASE("Several Set-Cookie values joined by newlines or commas are split", "[set_cookie]") {
  CHECK(parse("a=1; Path=/\nJSESSIONID=N1; HttpOnly\nb=2").value == "N1");
  CHECK(parse("a=1; Path=/\r\nJSESSIONID=N2\r\n").value == "N2");
  CHECK(parse("a=1, JSESSIONID=C1; Path=/, b=2").value == "C1");
  // The comma inside an Expires date does not split the cookie.
  const LearnedCookie c = parse("lang=en; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/, JSESSIONID=C2; Path=/");
  CHECK(c.outcome == SetCookieOutcome::Learn);
  CHECK(c.value == "C2");
  const LearnedCookie d = parse("JSESSIONID=C3; Expires=Wed, 21 Oct 2037 07:28:00 GMT; Path=/, lang=en");
  CHECK(d.value == "C3");
}

TEST_CASE("When a name appears twice the last one wins", "[set_cookie]") {
  CHECK(parse("JSESSIONID=first\nJSESSIONID=second").value == "second");
  CHECK(parse("JSESSIONID=first\nJSESSIONID=; Max-Age=0").outcome == SetCookieOutcome::Forget);
  CHECK(parse("JSESSIONID=; Max-Age=0\nJSESSIONID=again").value == "again");
}

TEST_CASE("A deleted cookie means forget", "[set_cookie]") {
  SetCookieCounters n;
  CHECK(parse_set_cookie("JSESSIONID=x; Max-Age=0", "JSESSIONID", kNow, n).outcome == SetCookieOutcome::Forget);
  CHECK(parse_set_cookie("JSESSIONID=x; max-age=-1", "JSESSIONID", kNow, n).outcome == SetCookieOutcome::Forget);
  CHECK(parse_set_cookie("JSESSIONID=x; Expires=Thu, 01 Jan 1970 00:00:00 GMT", "JSESSIONID", kNow, n).outcome ==
        SetCookieOutcome::Forget);
  CHECK(parse_set_cookie("JSESSIONID=; Path=/", "JSESSIONID", kNow, n).outcome == SetCookieOutcome::Forget);
  CHECK(parse_set_cookie("JSESSIONID=\"\"", "JSESSIONID", kNow, n).outcome == SetCookieOutcome::Forget);
  CHECK(n.forgotten == 5);
  const LearnedCookie f = parse("JSESSIONID=x; Max-Age=0");
  CHECK(f.value.empty());
}

TEST_CASE("Expiry is judged against now, and Max-Age beats Expires", "[set_cookie]") {
  // 2023-11-14T22:13:19Z is one second before kNow; 22:13:21 one after.
  CHECK(parse("JSESSIONID=x; Expires=Tue, 14 Nov 2023 22:13:19 GMT").outcome == SetCookieOutcome::Forget);
  CHECK(parse("JSESSIONID=x; Expires=Tue, 14 Nov 2023 22:13:20 GMT").outcome == SetCookieOutcome::Forget);
  CHECK(parse("JSESSIONID=x; Expires=Tue, 14 Nov 2023 22:13:21 GMT").outcome == SetCookieOutcome::Learn);
  CHECK(parse("JSESSIONID=x; Max-Age=60; Expires=Thu, 01 Jan 1970 00:00:00 GMT").outcome ==
        SetCookieOutcome::Learn);
  CHECK(parse("JSESSIONID=x; Expires=Thu, 01 Jan 2037 00:00:00 GMT; Max-Age=0").outcome ==
        SetCookieOutcome::Forget);
  CHECK(parse("JSESSIONID=x; Max-Age=99999999999999999999999").outcome == SetCookieOutcome::Learn);
  CHECK(parse("JSESSIONID=x; Max-Age=-99999999999999999999999").outcome == SetCookieOutcome::Forget);
}

TEST_CASE("Unparseable Max-Age and Expires are ignored and counted", "[set_cookie]") {
  SetCookieCounters n;
  LearnedCookie c = parse_set_cookie("JSESSIONID=x; Max-Age=soon; Expires=never", "JSESSIONID", kNow, n);
  CHECK(c.outcome == SetCookieOutcome::Learn);
  CHECK(n.bad_max_age == 1);
  CHECK(n.bad_expires == 1);
  c = parse_set_cookie("JSESSIONID=x; Max-Age=+5; Max-Age=5s; Max-Age=", "JSESSIONID", kNow, n);
  CHECK(c.outcome == SetCookieOutcome::Learn);
  CHECK(n.bad_max_age == 4);
}

TEST_CASE("A Set-Cookie string without '=' is ignored", "[set_cookie]") {
  CHECK(parse("JSESSIONID; Path=/").outcome == SetCookieOutcome::NotFound);
  CHECK(parse("garbage\nJSESSIONID=ok").value == "ok");
  CHECK(parse(";;;\n,,,\n=").outcome == SetCookieOutcome::NotFound);
}

TEST_CASE("Cookie dates in the common formats parse to epoch seconds", "[set_cookie]") {
  std::int64_t t = 0;
  REQUIRE(parse_cookie_date("Thu, 01 Jan 1970 00:00:00 GMT", t));
  CHECK(t == 0);
  REQUIRE(parse_cookie_date("Tue, 14 Nov 2023 22:13:20 GMT", t));
  CHECK(t == kNow);
  REQUIRE(parse_cookie_date("Tuesday, 14-Nov-23 22:13:20 GMT", t));  // RFC 850
  CHECK(t == kNow);
  REQUIRE(parse_cookie_date("Tue Nov 14 22:13:20 2023", t));  // asctime
  CHECK(t == kNow);
  REQUIRE(parse_cookie_date("Tue, 14-Nov-2023 22:13:20 GMT", t));  // Netscape
  CHECK(t == kNow);
  REQUIRE(parse_cookie_date("Thu, 29 Feb 2024 12:00:00 GMT", t));
  CHECK(t == 1709208000);
  REQUIRE(parse_cookie_date("Fri, 31 Dec 1999 23:59:59 GMT", t));
  CHECK(t == 946684799);
}

TEST_CASE("Non-dates and out-of-range fields are refused", "[set_cookie]") {
  std::int64_t t = 0;
  CHECK_FALSE(parse_cookie_date("", t));
  CHECK_FALSE(parse_cookie_date("never", t));
  CHECK_FALSE(parse_cookie_date("Tue, 14 Nov 2023", t));           // no time
  CHECK_FALSE(parse_cookie_date("Tue, 14 2023 22:13:20 GMT", t));  // no month
  CHECK_FALSE(parse_cookie_date("Tue, 32 Nov 2023 22:13:20 GMT", t));
  CHECK_FALSE(parse_cookie_date("Tue, 14 Nov 2023 24:00:00 GMT", t));
  CHECK_FALSE(parse_cookie_date("Tue, 14 Nov 2023 22:60:00 GMT", t));
  CHECK_FALSE(parse_cookie_date("Tue, 14 Nov 1600 22:13:20 GMT", t));
}

TEST_CASE("Learn, forget and not-found outcomes are counted once per call", "[set_cookie]") {
  SetCookieCounters n;
  parse_set_cookie("JSESSIONID=a\nJSESSIONID=b", "JSESSIONID", kNow, n);
  parse_set_cookie("JSESSIONID=; Max-Age=0", "JSESSIONID", kNow, n);
  parse_set_cookie("x=1", "JSESSIONID", kNow, n);
  CHECK(n.learned == 1);
  CHECK(n.forgotten == 1);
  CHECK(n.not_found == 1);
}

TEST_CASE("Every truncation of a header parses without reading past it", "[set_cookie]") {
  // Run under ASan in CI: each prefix is copied to its own heap buffer so an over-read is caught.
  const std::string full =
      "lang=en; Expires=Wed, 21 Oct 2037 07:28:00 GMT, JSESSIONID=\"abc\"; Max-Age=100; Path=/\nb=2";
  for (std::size_t len = 0; len <= full.size(); ++len) {
    const std::string prefix = full.substr(0, len);
    SetCookieCounters n;
    const LearnedCookie c = parse_set_cookie(prefix, "JSESSIONID", kNow, n);
    if (c.outcome == SetCookieOutcome::Learn) {
      CHECK(c.value.data() >= prefix.data());
      CHECK(c.value.data() + c.value.size() <= prefix.data() + prefix.size());
    }
  }
  CHECK(parse(full).value == "abc");
}
