// The one stable hash of the project: the same bytes give the same 64-bit value on every
// platform, build, restart and node. Persistence placement (Maglev), sticky-table sharding and
// HSAF serials depend on it, so once shipped it must never change; tests pin known vectors.
//
// Definition ("sticky-hash-1"). All arithmetic is on unsigned 64-bit integers modulo 2^64;
// `>>` is a logical shift. Input: bytes d[0..n) (unsigned, 0..255) and a 64-bit seed.
//
//   M = 0xc6a4a7935bd1e995          (MurmurHash64A's multiplier; odd)
//   S = 0x9e3779b97f4a7c15          (2^64 / golden ratio; keeps seed 0 from starting at state 0)
//   fmix64(x): x ^= x >> 33; x *= 0xff51afd7ed558ccd; x ^= x >> 33; x *= 0xc4ceb9fe1a85ec53; x ^= x >> 33
//   mix(w):    k = w * M; k ^= k >> 47; k *= M; return k
//   round(h, w) = (h ^ mix(w)) * M
//
//   h = fmix64(seed ^ S)
//   for each full 8-byte block d[8i .. 8i+8), i = 0 .. n/8 - 1 (in order):
//       w = d[8i] | d[8i+1] << 8 | ... | d[8i+7] << 56     (little-endian, assembled from bytes)
//       h = round(h, w)
//   last word: the r = n mod 8 remaining bytes (0..7) little-endian in bytes 0..r-1, zeros above,
//       and byte 7 = n mod 256:  L = d[n-r] | d[n-r+1] << 8 | ... | (n mod 256) << 56
//   h = round(h, L)                                     (always done, also when r = 0 or n = 0)
//   result = fmix64(h)
//
// Why this shape: one 8-byte word costs one dependent xor+multiply on the chain (mix(w) does not
// depend on h, so the CPU computes it ahead): well under a cycle per byte instead of FNV-1a's ~4,
// and only 64-bit multiplies, so any language can implement it. The seed goes through fmix64
// first, so related seeds (HSAF's ...01 and ...02) start from unrelated states.
// The length byte in the last word separates "abc" from "abc\0"; inputs whose lengths differ by a
// multiple of 256 also differ in their number of rounds. mix and fmix64 are bijections, and fmix64
// at the end gives every output bit (the low ones used by `% count` too) a dependence on every
// input bit. It is not keyed against crafted collisions: the seed is public by design.
//
// Test vectors (from an independent Python implementation): tests/unit/base/hash_test.cc.
// The pieces below are public so the streaming form (hsaf/stable_hasher.h) is the same code.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>
#include <type_traits>

namespace sticky {

inline constexpr std::uint64_t kStableHashMul = 0xc6a4a7935bd1e995ULL;
inline constexpr std::uint64_t kStableHashSeedSalt = 0x9e3779b97f4a7c15ULL;

constexpr std::uint64_t fmix64(std::uint64_t k) {
  k ^= k >> 33;
  k *= 0xff51afd7ed558ccdULL;
  k ^= k >> 33;
  k *= 0xc4ceb9fe1a85ec53ULL;
  k ^= k >> 33;
  return k;
}

// Starting state for a seed.
constexpr std::uint64_t stable_hash_init(std::uint64_t seed) { return fmix64(seed ^ kStableHashSeedSalt); }

// The per-word mix; independent of the state, so two seeds fed the same bytes can share it.
constexpr std::uint64_t stable_hash_mix(std::uint64_t w) {
  w *= kStableHashMul;
  w ^= w >> 47;
  return w * kStableHashMul;
}

// Folds one mixed word into the state.
constexpr std::uint64_t stable_hash_fold(std::uint64_t h, std::uint64_t mixed) { return (h ^ mixed) * kStableHashMul; }

// Final value from the state after all full blocks, the r = n mod 8 tail bytes packed little-endian
// (zeros above them) and the total length n.
constexpr std::uint64_t stable_hash_finish(std::uint64_t h, std::uint64_t tail, std::uint64_t length) {
  return fmix64(stable_hash_fold(h, stable_hash_mix(tail | (length << 56))));
}

// Byte i of p as bits 8i..8i+7 of a word.
constexpr std::uint64_t byte_at(const char* p, int i) {
  return std::uint64_t{static_cast<unsigned char>(p[i])} << (8 * i);
}

// Eight / four bytes as a little-endian word, whatever the host's byte order. The byte-assembled
// form is the definition (and what constant evaluation runs, so constexpr tests check it against
// the run-time path); on little-endian hosts the run-time path is a plain 8-byte copy, which is the
// same value by definition of little-endian. GCC does not always fuse the byte form after inlining.
constexpr std::uint64_t load_le64(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    if (!std::is_constant_evaluated()) {
      std::uint64_t w;
      std::memcpy(&w, p, sizeof w);
      return w;
    }
  }
  return byte_at(p, 0) | byte_at(p, 1) | byte_at(p, 2) | byte_at(p, 3) | byte_at(p, 4) | byte_at(p, 5) |
         byte_at(p, 6) | byte_at(p, 7);
}
constexpr std::uint64_t load_le32(const char* p) {
  if constexpr (std::endian::native == std::endian::little) {
    if (!std::is_constant_evaluated()) {
      std::uint32_t w;
      std::memcpy(&w, p, sizeof w);
      return w;
    }
  }
  return byte_at(p, 0) | byte_at(p, 1) | byte_at(p, 2) | byte_at(p, 3);
}

// The first `count` (< 8) bytes as a little-endian word, zeros above. Reads only p[0..count), without
// a byte loop: 4..7 bytes are two overlapping 4-byte loads (shared bytes are equal, so OR is exact),
// 1..3 bytes are the first, middle and last byte.
constexpr std::uint64_t load_le_partial(const char* p, std::size_t count) {
  if (count >= 4) return load_le32(p) | (load_le32(p + count - 4) << (8 * (count - 4)));
  if (count == 0) return 0;
  const auto mid = static_cast<int>(count / 2), last = static_cast<int>(count - 1);
  return byte_at(p, 0) | byte_at(p, mid) | byte_at(p, last);
}

constexpr std::uint64_t stable_hash64(std::string_view data, std::uint64_t seed = 0) {
  std::uint64_t h = stable_hash_init(seed);
  const char* p = data.data();
  const std::size_t blocks = data.size() / 8;
  for (std::size_t i = 0; i < blocks; ++i) h = stable_hash_fold(h, stable_hash_mix(load_le64(p + 8 * i)));
  return stable_hash_finish(h, load_le_partial(p + 8 * blocks, data.size() % 8), data.size());
}

}  // namespace sticky
