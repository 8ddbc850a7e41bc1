// Pure syntax checks for config values (addresses, CIDRs, cookie and HAProxy names) and "did you mean".
// Each check returns an empty string_view when the value is fine, else a static reason.
#pragma once

#include <cstddef>
#include <span>
#include <string>
#include <string_view>

namespace sticky::config {

// "host:port" or "[v6]:port" with port 1..65535; also "unix:/abs/path" when allow_unix.
// The host is not resolved here: that would make loading depend on DNS.
std::string_view check_address(std::string_view text, bool allow_unix);

// "a.b.c.d/len" (len 0..32), "v6/len" (len 0..128), or a bare address (one host).
// A syntax check only; policy/cidr.h does the real parsing and matching.
std::string_view check_cidr(std::string_view text);

// RFC 6265 cookie-name token: visible ASCII without separators. On failure `bad` gets the culprit.
std::string_view check_cookie_name(std::string_view text, char& bad);

// HTTP header field name (RFC 9110 token).
std::string_view check_header_name(std::string_view text);

// Characters HAProxy accepts in proxy and server names: letters, digits, '-', '_', '.', ':'.
std::string_view check_haproxy_name(std::string_view text);

// Levenshtein distance, for suggestions on misspelt keys.
std::size_t edit_distance(std::string_view a, std::string_view b);

// The candidate closest to `word` if it is a plausible typo (distance <= 2 and less than half
// the word), else empty.
std::string_view closest_match(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace sticky::config
