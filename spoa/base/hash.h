// The one stable hash of the project: the same bytes give the same 64-bit value on every
// platform, build, restart and node. Persistence placement and hash serials depend on it, so
// it must never change; tests pin known vectors.
//
// Definition: FNV-1a 64 (offset basis 0xcbf29ce484222325, prime 0x100000001b3) over the seed's
// 8 little-endian bytes followed by the input bytes, then MurmurHash3's fmix64 finalizer so
// every input bit reaches every output bit (plain FNV-1a is weak in its low bits).
#pragma once

#include <cstdint>
#include <string_view>

namespace sticky {

constexpr std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

constexpr std::uint64_t stable_hash64(std::string_view data, std::uint64_t seed = 0) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (int i = 0; i < 8; ++i) {
    h ^= (seed >> (8 * i)) & 0xffU;
    h *= 0x100000001b3ULL;
  }
  for (char c : data) {
    h ^= static_cast<std::uint8_t>(c);
    h *= 0x100000001b3ULL;
  }
  return fmix64(h);
}

}  // namespace sticky
