// Incremental form of sticky::stable_hash64, so a URL can be hashed piece by piece while it is normalised.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/hash.h"

namespace sticky::hsaf {

// Feeding the same bytes in any split gives exactly stable_hash64(bytes, seed): FNV-1a is a byte-wise
// fold, so the only work at the end is the fmix64 finaliser. Tests pin this equivalence.
class StableHasher {
 public:
  explicit constexpr StableHasher(std::uint64_t seed) {
    for (int i = 0; i < 8; ++i) mix(static_cast<std::uint8_t>((seed >> (8 * i)) & 0xffU));
  }

  constexpr void update(std::string_view bytes) {
    for (char c : bytes) mix(static_cast<std::uint8_t>(c));
  }
  // Same as update() on the ASCII-lowercased bytes; non-ASCII bytes pass through unchanged.
  constexpr void update_lower(std::string_view bytes) {
    for (char c : bytes) mix(ascii_lower(static_cast<std::uint8_t>(c)));
  }
  constexpr void update_byte(char c) { mix(static_cast<std::uint8_t>(c)); }

  constexpr std::uint64_t finish() const { return fmix64(state_); }

  static constexpr std::uint8_t ascii_lower(std::uint8_t c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<std::uint8_t>(c | 0x20U) : c;
  }

 private:
  constexpr void mix(std::uint8_t b) {
    state_ ^= b;
    state_ *= 0x100000001b3ULL;
  }
  std::uint64_t state_ = 0xcbf29ce484222325ULL;
};

// Two hashers fed in one pass: the two FNV chains are independent, so the CPU overlaps them and the
// parent tier's second serial costs almost nothing extra.
class DualHasher {
 public:
  constexpr DualHasher(std::uint64_t seed1, std::uint64_t seed2) : a_(seed1), b_(seed2) {}
  constexpr void update(std::string_view bytes) {
    for (char c : bytes) {
      a_.update_byte(c);
      b_.update_byte(c);
    }
  }
  constexpr void update_lower(std::string_view bytes) {
    for (char c : bytes) {
      const char l = static_cast<char>(StableHasher::ascii_lower(static_cast<std::uint8_t>(c)));
      a_.update_byte(l);
      b_.update_byte(l);
    }
  }
  constexpr void update_byte(char c) {
    a_.update_byte(c);
    b_.update_byte(c);
  }
  constexpr std::uint64_t finish_first() const { return a_.finish(); }
  constexpr std::uint64_t finish_second() const { return b_.finish(); }

 private:
  StableHasher a_;
  StableHasher b_;
};

}  // namespace sticky::hsaf
