// Admin request parsing (see request.h).
#include "admin/request.h"

#include <charconv>

namespace sticky::admin {

namespace {

int hex(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string_view> split_path(std::string_view path) {
  std::vector<std::string_view> out;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t slash = path.find('/');
    out.push_back(path.substr(0, slash));
    if (slash == std::string_view::npos) break;
    path.remove_prefix(slash);
  }
  return out;
}

}  // namespace

bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  out.reserve(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      const int hi = hex(in[i + 1]), lo = hex(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi << 4 | lo);
      i += 2;
    } else if (c == '+' && plus_is_space) {
      c = ' ';
    }
    if (c == '\0') return false;
    out += c;
  }
  return true;
}

std::optional<std::string_view> Query::get(std::string_view name) const {
  for (const auto& [n, v] : params)
    if (n == name) return std::string_view(v);
  return std::nullopt;
}

bool parse_query(std::string_view raw, Query& out, std::string& error) {
  out.params.clear();
  while (!raw.empty()) {
    const std::size_t amp = raw.find('&');
    const std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view() : raw.substr(amp + 1);
    if (part.empty()) continue;
    const std::size_t eq = part.find('=');
    std::string name, value;
    if (!percent_decode(part.substr(0, eq), true, name) ||
        (eq != std::string_view::npos && !percent_decode(part.substr(eq + 1), true, value))) {
      error = "query: bad %-escape in '" + std::string(part.substr(0, 64)) + "'";
      return false;
    }
    if (name.empty()) {
      error = "query: a parameter without a name";
      return false;
    }
    if (out.params.size() >= 32) {
      error = "query: more than 32 parameters";
      return false;
    }
    out.params.emplace_back(std::move(name), std::move(value));
  }
  return true;
}

std::string_view route_kind_name(RouteKind k) {
  switch (k) {
    case RouteKind::NotFound: return "not_found";
    case RouteKind::Page: return "page";
    case RouteKind::Healthz: return "healthz";
    case RouteKind::Backends: return "backends";
    case RouteKind::Backend: return "backend";
    case RouteKind::Lookup: return "lookup";
    case RouteKind::DeleteEntry: return "delete_entry";
    case RouteKind::ClearBackend: return "clear_backend";
    case RouteKind::Server: return "server";
    case RouteKind::Drain: return "drain";
    case RouteKind::Ready: return "ready";
    case RouteKind::Wait: return "wait";
    case RouteKind::DryRun: return "dry_run";
    case RouteKind::Hsaf: return "hsaf";
    case RouteKind::Reload: return "reload";
    case RouteKind::Config: return "config";
  }
  return "?";
}

Route route_request(std::string_view method, std::string_view path) {
  Route r;
  const std::vector<std::string_view> seg = split_path(path);
  auto want = [&r, method](RouteKind kind, std::string_view m) {
    r.kind = kind;
    r.allowed = std::string(m);
    r.method_allowed = method == m || (m == "GET" && method == "HEAD");
  };
  auto decode = [&r](std::string_view in, std::string& out) {
    if (!percent_decode(in, false, out) || out.empty()) r.bad_path = true;
  };
  if (seg.empty() || (seg.size() == 1 && (seg[0] == "ui" || seg[0] == "index.html"))) {
    want(RouteKind::Page, "GET");
    return r;
  }
  if (seg.size() == 1 && seg[0] == "healthz") {
    want(RouteKind::Healthz, "GET");
    return r;
  }
  if (seg.size() < 3 || seg[0] != "api" || seg[1] != "v1") return r;
  const std::string_view top = seg[2];
  if (top == "dryrun" && seg.size() == 3) {
    want(RouteKind::DryRun, "GET");
  } else if (top == "hsaf" && seg.size() == 3) {
    want(RouteKind::Hsaf, "GET");
  } else if (top == "reload" && seg.size() == 3) {
    want(RouteKind::Reload, "POST");
  } else if (top == "config" && seg.size() == 3) {
    want(RouteKind::Config, "GET");
  } else if (top == "backends") {
    if (seg.size() == 3) {
      want(RouteKind::Backends, "GET");
      return r;
    }
    decode(seg[3], r.backend);
    if (seg.size() == 4) {
      want(RouteKind::Backend, "GET");
    } else if (seg.size() == 5 && seg[4] == "entries") {
      if (method == "DELETE") want(RouteKind::DeleteEntry, "DELETE");
      else want(RouteKind::Lookup, "GET");
    } else if (seg.size() == 5 && seg[4] == "clear") {
      want(RouteKind::ClearBackend, "POST");
    } else if (seg.size() >= 6 && seg[4] == "servers") {
      decode(seg[5], r.server);
      if (seg.size() == 6) want(RouteKind::Server, "GET");
      else if (seg.size() == 7 && seg[6] == "drain") want(RouteKind::Drain, "POST");
      else if (seg.size() == 7 && seg[6] == "ready") want(RouteKind::Ready, "POST");
      else if (seg.size() == 7 && seg[6] == "wait") want(RouteKind::Wait, "GET");
    }
  }
  return r;
}

bool valid_haproxy_name(std::string_view name) {
  if (name.empty() || name.size() > 127) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                    c == '_' || c == '.' || c == ':';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::int64_t> parse_duration_text(std::string_view text) {
  std::int64_t n = 0;
  auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec != std::errc() || p == text.data() || n < 0) return std::nullopt;
  const std::string_view unit(p, static_cast<std::size_t>(text.data() + text.size() - p));
  std::int64_t mult = 0;
  if (unit.empty() || unit == "ms") mult = 1;
  else if (unit == "s") mult = 1000;
  else if (unit == "m") mult = 60 * 1000;
  else if (unit == "h") mult = 3600 * 1000;
  else return std::nullopt;
  if (n > (std::int64_t{1} << 40) / mult) return std::nullopt;
  return n * mult;
}

bool secrets_equal(std::string_view a, std::string_view b) {
  // Every byte of the longer one is looked at whatever matches, so timing reveals no prefix.
  const std::size_t n = a.size() > b.size() ? a.size() : b.size();
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < n; ++i) {
    const auto x = static_cast<unsigned char>(i < a.size() ? a[i] : 0);
    const auto y = static_cast<unsigned char>(i < b.size() ? b[i] : 0);
    diff |= static_cast<unsigned char>(x ^ y);
  }
  // Keep the compiler from turning the loop into an early exit.
  volatile unsigned char sink = diff;
  return sink == 0;
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() <= kScheme.size()) return {};
  for (std::size_t i = 0; i < kScheme.size(); ++i) {
    const char c = authorization[i];
    if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != kScheme[i]) return {};
  }
  std::string_view t = authorization.substr(kScheme.size());
  while (!t.empty() && t.front() == ' ') t.remove_prefix(1);
  return t;
}

}  // namespace sticky::admin
