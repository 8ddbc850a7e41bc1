// Pure syntax checks for config values (addresses, CIDRs, cookie and HAProxy names) and "did you mean".
#include "config/validators.h"

#include <arpa/inet.h>

#include <algorithm>
#include <charconv>
#include <vector>

namespace sticky::config {
namespace {

bool parse_port(std::string_view text) {
  if (text.empty() || text.size() > 5) return false;
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  return ec == std::errc{} && ptr == text.data() + text.size() && v >= 1 && v <= 65535;
}

bool is_v4(std::string_view text) {
  std::string s(text);
  in_addr a{};
  return inet_pton(AF_INET, s.c_str(), &a) == 1;
}

bool is_v6(std::string_view text) {
  std::string s(text);
  in6_addr a{};
  return inet_pton(AF_INET6, s.c_str(), &a) == 1;
}

bool is_hostname(std::string_view host) {
  if (host.empty() || host.size() > 253) return false;
  for (char c : host) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '.' || c == '_';
    if (!ok) return false;
  }
  return true;
}

bool is_tchar(char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

}  // namespace

std::string_view check_address(std::string_view text, bool allow_unix) {
  if (text.empty()) return "empty address";
  if (text.starts_with("unix:")) {
    if (!allow_unix) return "a unix socket is not accepted here, expected host:port";
    std::string_view path = text.substr(5);
    if (path.empty() || path.front() != '/') return "unix socket path must be absolute";
    if (path.size() > 107) return "unix socket path longer than 107 bytes";
    return {};
  }
  if (text.front() == '[') {
    std::size_t close = text.find(']');
    if (close == std::string_view::npos) return "missing ']' after IPv6 address";
    if (!is_v6(text.substr(1, close - 1))) return "invalid IPv6 address";
    std::string_view rest = text.substr(close + 1);
    if (rest.size() < 2 || rest.front() != ':') return "missing :port after ']'";
    if (!parse_port(rest.substr(1))) return "port must be 1..65535";
    return {};
  }
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) return "missing :port (use host:port, [v6]:port or unix:/path)";
  std::string_view host = text.substr(0, colon);
  if (host.find(':') != std::string_view::npos) return "IPv6 addresses must be written [addr]:port";
  if (!is_hostname(host)) return "invalid host name";
  if (!parse_port(text.substr(colon + 1))) return "port must be 1..65535";
  return {};
}

std::string_view check_cidr(std::string_view text) {
  if (text.empty()) return "empty CIDR";
  std::size_t slash = text.find('/');
  std::string_view addr = text.substr(0, slash);
  bool v6 = addr.find(':') != std::string_view::npos;
  if (v6 ? !is_v6(addr) : !is_v4(addr)) return v6 ? "invalid IPv6 address in CIDR" : "invalid IPv4 address in CIDR";
  if (slash == std::string_view::npos) return {};
  std::string_view len = text.substr(slash + 1);
  unsigned v = 0;
  auto [ptr, ec] = std::from_chars(len.data(), len.data() + len.size(), v);
  if (len.empty() || ec != std::errc{} || ptr != len.data() + len.size()) return "prefix length is not a number";
  if (v > (v6 ? 128U : 32U)) return v6 ? "IPv6 prefix length must be 0..128" : "IPv4 prefix length must be 0..32";
  return {};
}

std::string_view check_cookie_name(std::string_view text, char& bad) {
  if (text.empty()) return "empty cookie name";
  for (char c : text) {
    if (!is_tchar(c)) {
      bad = c;
      return "illegal character in cookie name";
    }
  }
  return {};
}

std::string_view check_header_name(std::string_view text) {
  if (text.empty()) return "empty header name";
  for (char c : text)
    if (!is_tchar(c)) return "illegal character in header name";
  return {};
}

std::string_view check_haproxy_name(std::string_view text) {
  if (text.empty()) return "empty name";
  for (char c : text) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.' || c == ':';
    if (!ok) return "HAProxy names use only letters, digits, '-', '_', '.' and ':'";
  }
  return {};
}

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t up = row[j];
      std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + cost});
      diag = up;
    }
  }
  return row[b.size()];
}

std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates) {
  std::string_view best;
  std::size_t best_d = 3;
  for (std::string_view c : candidates) {
    std::size_t d = edit_distance(word, c);
    if (d < best_d && d * 2 < std::max(word.size(), c.size())) {
      best = c;
      best_d = d;
    }
  }
  return best;
}

}  // namespace sticky::config
