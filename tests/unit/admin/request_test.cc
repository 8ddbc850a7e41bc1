// HTTP request parsing, admin routing, queries, names, durations and token checks.
#include <catch2/catch.hpp>

#include <string>

#include "admin/request.h"
#include "io/http_listener.h"

using namespace sticky;
using admin::RouteKind;

namespace {
io::HttpParse parse(std::string_view in, io::HttpRequest& r, std::size_t max_body = 64) {
  std::string why;
  io::HttpLimits limits;
  limits.max_head = 256;
  limits.max_body = max_body;
  return io::parse_http_request(in, limits, r, why);
}
}  // namespace

TEST_CASE("a request is complete only with its whole head and body", "[admin][http]") {
  const std::string req = "POST /api/v1/x?a=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Admin-User: ann\r\n\r\nhello";
  for (std::size_t n = 0; n < req.size(); ++n) {
    io::HttpRequest r;
    REQUIRE(parse(std::string_view(req).substr(0, n), r) == io::HttpParse::Incomplete);
  }
  io::HttpRequest r;
  REQUIRE(parse(req, r) == io::HttpParse::Complete);
  CHECK(r.method == "POST");
  CHECK(r.path == "/api/v1/x");
  CHECK(r.query == "a=1");
  CHECK(r.body == "hello");
  CHECK(r.header("x-admin-user") == "ann");
  CHECK(r.header("host") == "h");
  CHECK(r.header("absent").empty());
}

TEST_CASE("bare LF heads are taken, like the old /metrics endpoint", "[admin][http]") {
  io::HttpRequest r;
  REQUIRE(parse("GET /metrics HTTP/1.0\nHost: x\n\n", r) == io::HttpParse::Complete);
  CHECK(r.path == "/metrics");
}

TEST_CASE("malformed requests get a specific verdict", "[admin][http]") {
  io::HttpRequest r;
  CHECK(parse("GARBAGE\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("GET noslash HTTP/1.1\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("GET / HTTP/2.0\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("GET / HTTP/1.1\r\nno colon here\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("GET / HTTP/1.1\r\nContent-Length: x\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("GET / HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n", r) == io::HttpParse::Bad);
  CHECK(parse("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", r) == io::HttpParse::Unsupported);
  CHECK(parse("POST / HTTP/1.1\r\nContent-Length: 65\r\n\r\n", r) == io::HttpParse::BodyTooLarge);
  CHECK(parse("GET / HTTP/1.1\r\nX: " + std::string(300, 'a') + "\r\n\r\n", r) == io::HttpParse::HeadTooLarge);
  // Too large even before the head ends: no need to wait for the rest.
  CHECK(parse("GET / HTTP/1.1\r\nX: " + std::string(300, 'a'), r) == io::HttpParse::HeadTooLarge);
}

TEST_CASE("routes of the admin API", "[admin][route]") {
  auto route = [](std::string_view m, std::string_view p) { return admin::route_request(m, p); };
  CHECK(route("GET", "/").kind == RouteKind::Page);
  CHECK(route("GET", "/ui").kind == RouteKind::Page);
  CHECK(route("GET", "/healthz").kind == RouteKind::Healthz);
  CHECK(route("GET", "/api/v1/backends").kind == RouteKind::Backends);
  CHECK(route("GET", "/api/v1/hsaf").kind == RouteKind::Hsaf);
  CHECK(route("GET", "/api/v1/dryrun").kind == RouteKind::DryRun);
  auto b = route("GET", "/api/v1/backends/app");
  CHECK(b.kind == RouteKind::Backend);
  CHECK(b.backend == "app");
  CHECK(route("GET", "/api/v1/backends/app/entries").kind == RouteKind::Lookup);
  CHECK(route("DELETE", "/api/v1/backends/app/entries").kind == RouteKind::DeleteEntry);
  CHECK(route("POST", "/api/v1/backends/app/clear").kind == RouteKind::ClearBackend);
  auto s = route("POST", "/api/v1/backends/my%3Aapp/servers/s1/drain");
  CHECK(s.kind == RouteKind::Drain);
  CHECK(s.backend == "my:app");
  CHECK(s.server == "s1");
  CHECK(s.method_allowed);
  CHECK(s.changes());
  CHECK(route("POST", "/api/v1/backends/app/servers/s1/ready").kind == RouteKind::Ready);
  CHECK(route("GET", "/api/v1/backends/app/servers/s1/wait").kind == RouteKind::Wait);
  CHECK(route("GET", "/api/v1/backends/app/servers/s1").kind == RouteKind::Server);
  CHECK_FALSE(route("GET", "/api/v1/backends/app/servers/s1").changes());
  CHECK(route("GET", "/api/v1/backends/app/servers/s1/explode").kind == RouteKind::NotFound);
  CHECK(route("GET", "/api/v2/backends").kind == RouteKind::NotFound);
  CHECK(route("GET", "/etc/passwd").kind == RouteKind::NotFound);
  // Changes need their method: a GET never drains.
  auto g = route("GET", "/api/v1/backends/app/servers/s1/drain");
  CHECK(g.kind == RouteKind::Drain);
  CHECK_FALSE(g.method_allowed);
  CHECK(g.allowed == "POST");
  CHECK_FALSE(route("POST", "/api/v1/backends").method_allowed);
  CHECK(route("HEAD", "/api/v1/backends").method_allowed);
  CHECK(route("GET", "/api/v1/backends/%zz").bad_path);
  CHECK(route("GET", "/api/v1/backends/a%00b").bad_path);
  CHECK(route("GET", "/api/v1/backends").needs_token());
  CHECK_FALSE(route("GET", "/healthz").needs_token());
  CHECK_FALSE(route("GET", "/").needs_token());
}

TEST_CASE("queries decode escapes and refuse broken ones", "[admin][query]") {
  admin::Query q;
  std::string error;
  REQUIRE(admin::parse_query("kind=true_client_ip&value=203.0.113.7&x=a+b%2Fc&&flag", q, error));
  CHECK(q.get("kind") == "true_client_ip");
  CHECK(q.get("value") == "203.0.113.7");
  CHECK(q.get("x") == "a b/c");
  CHECK(q.get("flag") == "");
  CHECK_FALSE(q.get("absent").has_value());
  CHECK_FALSE(admin::parse_query("a=%4", q, error));
  CHECK_FALSE(admin::parse_query("a=%g1", q, error));
  CHECK_FALSE(admin::parse_query("=1", q, error));
  std::string many;
  for (int i = 0; i < 40; ++i) many += "p" + std::to_string(i) + "=1&";
  CHECK_FALSE(admin::parse_query(many, q, error));
  CHECK(error.find("32") != std::string::npos);
}

TEST_CASE("names handed to the runtime API are plain", "[admin][names]") {
  CHECK(admin::valid_haproxy_name("app"));
  CHECK(admin::valid_haproxy_name("be_web-1.eu:x"));
  CHECK_FALSE(admin::valid_haproxy_name(""));
  CHECK_FALSE(admin::valid_haproxy_name("s1 state ready"));
  CHECK_FALSE(admin::valid_haproxy_name("s1\nshutdown sessions"));
  CHECK_FALSE(admin::valid_haproxy_name("s1;x"));
  CHECK_FALSE(admin::valid_haproxy_name(std::string(128, 'a')));
}

TEST_CASE("durations", "[admin][duration]") {
  CHECK(admin::parse_duration_text("250") == 250);
  CHECK(admin::parse_duration_text("250ms") == 250);
  CHECK(admin::parse_duration_text("30s") == 30000);
  CHECK(admin::parse_duration_text("5m") == 300000);
  CHECK(admin::parse_duration_text("1h") == 3600000);
  CHECK_FALSE(admin::parse_duration_text("").has_value());
  CHECK_FALSE(admin::parse_duration_text("-1s").has_value());
  CHECK_FALSE(admin::parse_duration_text("5 m").has_value());
  CHECK_FALSE(admin::parse_duration_text("5d").has_value());
  CHECK_FALSE(admin::parse_duration_text("99999999999999h").has_value());
}

TEST_CASE("bearer tokens and their comparison", "[admin][auth]") {
  CHECK(admin::bearer_token("Bearer abc") == "abc");
  CHECK(admin::bearer_token("bearer   abc") == "abc");
  CHECK(admin::bearer_token("Basic abc").empty());
  CHECK(admin::bearer_token("Bearer").empty());
  CHECK(admin::bearer_token("").empty());
  CHECK(admin::secrets_equal("0123456789abcdef", "0123456789abcdef"));
  CHECK_FALSE(admin::secrets_equal("0123456789abcdef", "0123456789abcdeX"));
  CHECK_FALSE(admin::secrets_equal("0123456789abcdef", "0123456789abcde"));
  CHECK_FALSE(admin::secrets_equal("0123456789abcdef", "0123456789abcdef0"));
  CHECK_FALSE(admin::secrets_equal("", "x"));
}
