// SPOP's variable-length integer (the HAProxy "peers" encoding, not LEB128).
//
// Values below 240 take one byte. Otherwise the first byte carries the low 4 bits | 0xF0, and
// each following byte carries 7 more bits, with bit 7 meaning "more follows". The decoder adds
// each raw byte shifted into place (continuation bit included) exactly as HAProxy does, so the
// two agree on every input, including the 10-byte encoding of 2^64-1.
#pragma once

#include <cstddef>
#include <cstdint>

#include "base/bytes.h"

namespace sticky::spop {

inline constexpr std::size_t kMaxVarintBytes = 10;

// Writes the encoding of v into out (at least kMaxVarintBytes long); returns bytes written.
constexpr std::size_t encode_varint(std::uint64_t v, std::uint8_t* out) {
  if (v < 240) {
    out[0] = static_cast<std::uint8_t>(v);
    return 1;
  }
  std::size_t n = 0;
  out[n++] = static_cast<std::uint8_t>(v | 0xF0);
  v = (v - 240) >> 4;
  while (v >= 128) {
    out[n++] = static_cast<std::uint8_t>(v | 0x80);
    v = (v - 128) >> 7;
  }
  out[n++] = static_cast<std::uint8_t>(v);
  return n;
}

constexpr std::size_t varint_size(std::uint64_t v) {
  std::uint8_t tmp[kMaxVarintBytes] = {};
  return encode_varint(v, tmp);
}

inline void put_varint(ByteWriter& w, std::uint64_t v) {
  if (v < 240) {  // lengths, ids and small values: nearly every varint on the wire
    w.put_u8(static_cast<std::uint8_t>(v));
    return;
  }
  std::uint8_t tmp[kMaxVarintBytes];
  const std::size_t n = encode_varint(v, tmp);
  for (std::size_t i = 0; i < n; ++i) w.put_u8(tmp[i]);
}

enum class VarintStatus : std::uint8_t { Ok, Truncated, Overlong };

// Decodes one varint from r. Never reads past the reader's end; an encoding longer than 10
// bytes (or one that overflows 64 bits) is Overlong, an encoding cut by the end is Truncated.
inline VarintStatus take_varint(ByteReader& r, std::uint64_t& out) {
  if (r.empty()) return VarintStatus::Truncated;
  std::uint64_t value = r.take_u8();
  if (value < 240) {
    out = value;
    return VarintStatus::Ok;
  }
  unsigned shift = 4;
  for (std::size_t i = 1; i < kMaxVarintBytes; ++i) {
    if (r.empty()) return VarintStatus::Truncated;
    std::uint64_t b = r.take_u8();
    // The tenth byte has 4 bits left, and even those may carry the sum past 2^64-1: both are
    // Overlong rather than a silently wrapped value.
    if (shift == 60 && (b > 0x0F || value + (b << shift) < value)) return VarintStatus::Overlong;
    value += b << shift;
    if (b < 128) {
      out = value;
      return VarintStatus::Ok;
    }
    shift += 7;
  }
  return VarintStatus::Overlong;
}

}  // namespace sticky::spop
