// Test helpers: byte vectors written the way spop-brief.md writes frames (hex pairs and "quoted
// ASCII"), and exact-size copies so that AddressSanitizer flags any read past a view's end.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "base/bytes.h"

namespace sticky::spop::testing {

using ByteVec = std::vector<std::uint8_t>;

// "00 0a \"abc\" ff" -> {0x00, 0x0a, 'a', 'b', 'c', 0xff}. Throws on a malformed spec, which is
// a bug in the test itself.
inline ByteVec hex(std::string_view spec) {
  ByteVec out;
  std::size_t i = 0;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  while (i < spec.size()) {
    const char c = spec[i];
    if (c == ' ' || c == '\n' || c == '\t') {
      ++i;
    } else if (c == '"') {
      const std::size_t end = spec.find('"', i + 1);
      if (end == std::string_view::npos) throw std::invalid_argument("unterminated quote");
      for (std::size_t k = i + 1; k < end; ++k) out.push_back(static_cast<std::uint8_t>(spec[k]));
      i = end + 1;
    } else {
      if (i + 1 >= spec.size() || nibble(c) < 0 || nibble(spec[i + 1]) < 0)
        throw std::invalid_argument("bad hex at " + std::to_string(i));
      out.push_back(static_cast<std::uint8_t>(nibble(c) * 16 + nibble(spec[i + 1])));
      i += 2;
    }
  }
  return out;
}

inline ByteVec concat(std::initializer_list<ByteVec> parts) {
  ByteVec out;
  for (const ByteVec& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// A heap block of exactly n bytes holding a copy of data[0..n): reading byte n is a
// heap-buffer-overflow under ASan instead of a silent read of the next vector element.
class ExactCopy {
 public:
  ExactCopy(const ByteVec& data, std::size_t n) : bytes_(new std::uint8_t[n == 0 ? 1 : n]), n_(n) {
    for (std::size_t i = 0; i < n; ++i) bytes_[i] = data[i];
  }
  Bytes view() const { return {bytes_.get(), n_}; }

 private:
  std::unique_ptr<std::uint8_t[]> bytes_;
  std::size_t n_;
};

inline Bytes view(const ByteVec& v) { return {v.data(), v.size()}; }

inline ByteVec to_vec(std::span<const std::uint8_t> s) { return {s.begin(), s.end()}; }

// Printable form for failure messages.
inline std::string to_hex(std::span<const std::uint8_t> s) {
  static const char* kDigits = "0123456789abcdef";
  std::string out;
  for (std::uint8_t b : s) {
    if (!out.empty()) out += ' ';
    out += kDigits[b >> 4];
    out += kDigits[b & 15];
  }
  return out;
}

// Wraps a body (type, flags, ids, payload) in its 4-byte big-endian length.
inline ByteVec with_length(const ByteVec& body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  ByteVec out{static_cast<std::uint8_t>(n >> 24), static_cast<std::uint8_t>(n >> 16),
              static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n)};
  out.insert(out.end(), body.begin(), body.end());
  return out;
}

// Frames copied from spop-brief.md section 1 (checked there against HAProxy's source).
// HAProxy 3.1+ "option spop-check" probe; 2.6 sends the same content.
inline constexpr std::string_view kBriefProbe =
    "00 00 00 4e  01  00 00 00 01  00 00"
    " 12 \"supported-versions\" 08 03 \"2.0\"   0e \"max-frame-size\" 03 fc f0 06"
    " 0c \"capabilities\" 08 00               0b \"healthcheck\" 11";
// The AGENT-HELLO answering it.
inline constexpr std::string_view kBriefAgentHello =
    "00 00 00 40  65  00 00 00 01  00 00"
    " 07 \"version\" 08 03 \"2.0\"   0e \"max-frame-size\" 03 fc f0 06"
    " 0c \"capabilities\" 08 0a \"pipelining\"";
// ACK for stream-id 5 / frame-id 1 doing set-var(txn, "srv") = STRING "s2".
inline constexpr std::string_view kBriefAck =
    "00 00 00 12  67  00 00 00 01  05 01   01 03 02 03 \"srv\" 08 02 \"s2\"";
inline constexpr std::string_view kBriefEmptyAck = "00 00 00 07  67  00 00 00 01  05 01";
// AGENT-DISCONNECT, status 0 "normal".
inline constexpr std::string_view kBriefAgentDisconnect =
    "00 00 00 25  66  00 00 00 01  00 00   0b \"status-code\" 03 00   07 \"message\" 08 06 "
    "\"normal\"";

}  // namespace sticky::spop::testing
