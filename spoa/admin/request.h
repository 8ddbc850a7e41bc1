// Pure parsing of admin requests: percent-decoding, query strings, path routes, names that may be
// handed to HAProxy's runtime API, and durations. No I/O; the unit tests drive every branch.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sticky::admin {

// Decodes %XX and (in queries) '+'; false on a truncated or non-hex escape or a NUL byte.
bool percent_decode(std::string_view in, bool plus_is_space, std::string& out);

struct Query {
  std::vector<std::pair<std::string, std::string>> params;
  // The first value of `name`, or nullopt.
  std::optional<std::string_view> get(std::string_view name) const;
};
// "a=1&b=x%20y" -> params; false (with `error`) on a bad escape, an empty name or over 32 params.
bool parse_query(std::string_view raw, Query& out, std::string& error);

// What a request asks for. Names are decoded path segments.
enum class RouteKind : std::uint8_t {
  NotFound,
  Page,          // GET / or /ui: the web page
  Healthz,       // GET /healthz
  Backends,      // GET /api/v1/backends
  Backend,       // GET /api/v1/backends/{b}
  Lookup,        // GET /api/v1/backends/{b}/entries?kind=&value=
  DeleteEntry,   // DELETE /api/v1/backends/{b}/entries?kind=&value=
  ClearBackend,  // POST /api/v1/backends/{b}/clear
  Server,        // GET /api/v1/backends/{b}/servers/{s}  (drain status)
  Drain,         // POST /api/v1/backends/{b}/servers/{s}/drain
  Ready,         // POST /api/v1/backends/{b}/servers/{s}/ready
  Wait,          // GET /api/v1/backends/{b}/servers/{s}/wait?below=&timeout=
  DryRun,        // GET /api/v1/dryrun?backend=&server=&change=
  Hsaf,          // GET /api/v1/hsaf
  Reload,        // POST /api/v1/reload: re-read the config file (like SIGHUP)
  Config,        // GET /api/v1/config: generation, last reload, settings waiting for a restart
};
std::string_view route_kind_name(RouteKind k);

struct Route {
  RouteKind kind = RouteKind::NotFound;
  std::string backend;
  std::string server;
  bool method_allowed = true;  // false: the path exists but not with this method (405)
  std::string allowed;         // the method it takes, for the Allow header
  bool bad_path = false;       // a segment did not decode (400)
  bool changes() const {
    return kind == RouteKind::DeleteEntry || kind == RouteKind::ClearBackend || kind == RouteKind::Drain ||
           kind == RouteKind::Ready;
  }
  bool needs_token() const { return kind != RouteKind::Page && kind != RouteKind::Healthz; }
};
Route route_request(std::string_view method, std::string_view path);

// HAProxy proxy and server names: letters, digits, '-', '_', '.', ':' (HAProxy's own rule), 1..127
// bytes. Anything else never reaches the runtime API (no spaces, no newlines, no ';').
bool valid_haproxy_name(std::string_view name);

// "30s", "5m", "250ms", or plain milliseconds; nullopt when unparsable.
std::optional<std::int64_t> parse_duration_text(std::string_view text);

// Constant-time comparison of two secrets (the time depends only on the lengths).
bool secrets_equal(std::string_view a, std::string_view b);

// The token of an "Authorization: Bearer <token>" header value, or "" when it is not one.
std::string_view bearer_token(std::string_view authorization);

}  // namespace sticky::admin
