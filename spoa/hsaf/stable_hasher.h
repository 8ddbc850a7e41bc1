// Incremental form of sticky::stable_hash64, so a URL can be hashed piece by piece while it is normalised.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/hash.h"

namespace sticky::hsaf {

// ASCII 'A'..'Z' -> 'a'..'z' in all eight bytes of a word at once; other bytes (including non-ASCII
// ones) are unchanged. Per byte b: with the top bit masked off (so no carry crosses into the next
// byte), b + 0x3f sets bit 7 iff b >= 'A' and b + 0x25 sets bit 7 iff b > 'Z'; bytes with bit 7 set
// in the input are excluded; bit 7 shifted right by 2 is 0x20, the case bit.
constexpr std::uint64_t ascii_lower_word(std::uint64_t w) {
  constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
  constexpr std::uint64_t kHigh = 0x80 * kOnes;
  const std::uint64_t low7 = w & ~kHigh;
  const std::uint64_t ge_a = low7 + (0x80 - 'A') * kOnes;
  const std::uint64_t gt_z = low7 + (0x7f - 'Z') * kOnes;
  const std::uint64_t upper = ge_a & ~gt_z & ~w & kHigh;
  return w | (upper >> 2);
}

// N hash states over one byte stream: stable_hash64 needs whole 8-byte words, so up to 7 bytes wait
// in `pending_` until the next piece completes them. mix(word) does not depend on the seed, so N
// seeds cost one mix and N folds per word. Feeding the same bytes in any split gives exactly
// stable_hash64(bytes, seed[i]); tests pin this for every split.
template <std::size_t N>
class MultiStableHasher {
 public:
  explicit constexpr MultiStableHasher(const std::array<std::uint64_t, N>& seeds) {
    for (std::size_t i = 0; i < N; ++i) state_[i] = stable_hash_init(seeds[i]);
  }

  // The feeding functions are forced inline (GCC would not inline absorb, used three times per URL):
  // in the caller the states and pending bytes stay in registers instead of memory between pieces.
  [[gnu::always_inline]] constexpr void update(std::string_view bytes) { absorb<false>(bytes); }
  // Same as update() on the ASCII-lowercased bytes; non-ASCII bytes pass through unchanged.
  [[gnu::always_inline]] constexpr void update_lower(std::string_view bytes) { absorb<true>(bytes); }
  [[gnu::always_inline]] constexpr void update_byte(char c) {
    pending_ |= std::uint64_t{static_cast<unsigned char>(c)} << (8 * pending_len_);
    ++length_;
    if (++pending_len_ == 8) take_pending();
  }

  constexpr std::uint64_t finish(std::size_t i) const { return stable_hash_finish(state_[i], pending_, length_); }

 private:
  template <bool kLower>
  static constexpr std::uint64_t word(std::uint64_t w) {
    if constexpr (kLower) return ascii_lower_word(w);
    return w;
  }

  // Pieces of 8+ bytes (most hosts and paths) need no byte loop and no branch on the pending count:
  // the first word completes the pending bytes (or is a whole word when none wait), and the last
  // r < 8 bytes are the top of the word that ends the piece.
  template <bool kLower>
  [[gnu::always_inline]] constexpr void absorb(std::string_view bytes) {
    const char* p = bytes.data();
    const std::size_t n = bytes.size();
    length_ += n;
    if (n < 8) return absorb_short<kLower>(p, n);
    const char* const end = p + n;
    fold(pending_ | (word<kLower>(load_le64(p)) << (8 * pending_len_)));
    p += 8 - pending_len_;
    for (; end - p >= 8; p += 8) fold(word<kLower>(load_le64(p)));
    const auto r = static_cast<std::size_t>(end - p);
    // Shift by 8 * (8 - r) in two steps so r = 0 gives 0 instead of an undefined 64-bit shift.
    pending_ = (word<kLower>(load_le64(end - 8)) >> (8 * (8 - r) - 1)) >> 1;
    pending_len_ = r;
  }

  template <bool kLower>
  [[gnu::always_inline]] constexpr void absorb_short(const char* p, std::size_t n) {
    if (n == 0) return;
    const std::uint64_t w = word<kLower>(load_le_partial(p, n));
    const std::size_t total = pending_len_ + n;
    pending_ |= w << (8 * pending_len_);
    if (total < 8) {
      pending_len_ = total;
      return;
    }
    fold(pending_);
    pending_ = w >> (8 * (8 - pending_len_));  // pending_len_ >= 1 here, so the shift is < 64
    pending_len_ = total - 8;
  }

  constexpr void take_pending() {
    fold(pending_);
    pending_ = 0;
    pending_len_ = 0;
  }

  constexpr void fold(std::uint64_t w) {
    const std::uint64_t mixed = stable_hash_mix(w);
    for (std::size_t i = 0; i < N; ++i) state_[i] = stable_hash_fold(state_[i], mixed);
  }

  std::array<std::uint64_t, N> state_{};
  std::uint64_t pending_ = 0;     // the last length_ % 8 bytes, little-endian, zeros above
  std::size_t pending_len_ = 0;   // always length_ % 8
  std::uint64_t length_ = 0;
};

class StableHasher {
 public:
  explicit constexpr StableHasher(std::uint64_t seed) : h_({seed}) {}
  [[gnu::always_inline]] constexpr void update(std::string_view bytes) { h_.update(bytes); }
  [[gnu::always_inline]] constexpr void update_lower(std::string_view bytes) { h_.update_lower(bytes); }
  [[gnu::always_inline]] constexpr void update_byte(char c) { h_.update_byte(c); }
  constexpr std::uint64_t finish() const { return h_.finish(0); }

 private:
  MultiStableHasher<1> h_;
};

// Two seeds in one pass: the parent tier's second serial costs one extra multiply per word.
class DualHasher {
 public:
  constexpr DualHasher(std::uint64_t seed1, std::uint64_t seed2) : h_({seed1, seed2}) {}
  [[gnu::always_inline]] constexpr void update(std::string_view bytes) { h_.update(bytes); }
  [[gnu::always_inline]] constexpr void update_lower(std::string_view bytes) { h_.update_lower(bytes); }
  [[gnu::always_inline]] constexpr void update_byte(char c) { h_.update_byte(c); }
  constexpr std::uint64_t finish_first() const { return h_.finish(0); }
  constexpr std::uint64_t finish_second() const { return h_.finish(1); }

 private:
  MultiStableHasher<2> h_;
};

}  // namespace sticky::hsaf
