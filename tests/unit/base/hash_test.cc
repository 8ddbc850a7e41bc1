// Pins the project's stable hash (vectors from an independent implementation) and checks its mixing quality.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/hash.h"

using namespace std::string_view_literals;

using sticky::stable_hash64;

namespace {

// 100 bytes "abc...zabc...": long enough for 12 full blocks and a 4-byte tail.
std::string alphabet(std::size_t n, char first = 'a', std::size_t period = 26) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(static_cast<std::size_t>(first) + i % period));
  return s;
}

// Deterministic pseudo-random bytes for the statistical checks (fixed inputs: the checks never flake).
std::string random_bytes(std::uint64_t sample, std::size_t n) {
  std::string s(n, '\0');
  for (std::size_t i = 0; i < n; ++i)
    s[i] = static_cast<char>(sticky::fmix64(sample * 0x9e3779b97f4a7c15ULL + i + 1) >> 56);
  return s;
}

}  // namespace

// Expected values come from a Python implementation written from the definition in base/hash.h
// ("sticky-hash-1"), not from this code. A change here re-buckets every key on every node.
TEST_CASE("stable_hash64 matches pinned vectors", "[hash]") {
  CHECK(stable_hash64("", 0) == 0xd6c0f2940a72b857ULL);
  CHECK(stable_hash64("a", 0) == 0x752e288929b35cabULL);
  CHECK(stable_hash64("abc", 0) == 0x0c13d932429297c5ULL);
  CHECK(stable_hash64("abcdefg", 0) == 0xc675b9c47e83ab6aULL);            // 7: tail only
  CHECK(stable_hash64("abcdefgh", 0) == 0x5de43e7208fcb42eULL);           // 8: one block, empty tail
  CHECK(stable_hash64("abcdefghi", 0) == 0x2dc283e1bfc538e9ULL);          // 9
  CHECK(stable_hash64("abcdefghijklmno", 0) == 0x677817bb4e995f1eULL);    // 15
  CHECK(stable_hash64("abcdefghijklmnop", 0) == 0xed93d4102d038070ULL);   // 16
  CHECK(stable_hash64("abcdefghijklmnopq", 0) == 0x5010084969668890ULL);  // 17
  CHECK(stable_hash64(alphabet(100), 0) == 0x94ce5697abc20790ULL);
  CHECK(stable_hash64(alphabet(300, '0', 10), 0) == 0x884c937dfb86f610ULL);  // length byte wraps (300 % 256)
  CHECK(stable_hash64(std::string(256, '\0'), 0) == 0x5abd459a7a1c66e9ULL);
  CHECK(stable_hash64("abc\0"sv, 0) == 0x8d6255b2b7995206ULL);  // differs from "abc" by the length only
  CHECK(stable_hash64("\xff\x80\xc3\x89\x7f\x00\xfe\x81\x90\xa0\x01"sv, 7) == 0xf44cec199be21c74ULL);
}

TEST_CASE("the seed is part of the pinned definition", "[hash]") {
  CHECK(stable_hash64("", 1) == 0x862c6cc9058f4158ULL);
  CHECK(stable_hash64("", 0xffffffffffffffffULL) == 0x2b88f670393bb1d9ULL);
  CHECK(stable_hash64("abc", 1) == 0x2732153e6295d818ULL);
  CHECK(stable_hash64("abc", 0xdeadbeefcafef00dULL) == 0xd4eb500a8941a67bULL);
  CHECK(stable_hash64(alphabet(100), 0xffffffffffffffffULL) == 0x20d0b2abcc089b0bULL);
  CHECK(stable_hash64("example.com/index.html", 0) == 0x69351fcf044e3fb3ULL);
  CHECK(stable_hash64("example.com/index.html", 0x4853414600000001ULL) == 0xe8ea1c933ca8ba23ULL);
  CHECK(stable_hash64("example.com/index.html", 0x4853414600000002ULL) == 0x13d30cb772c036bfULL);
}

TEST_CASE("the compile-time and run-time hash agree", "[hash]") {
  STATIC_REQUIRE(stable_hash64("abcdefghijklmnopq", 0) == 0x5010084969668890ULL);
  volatile std::size_t n = 17;  // forces the run-time path
  CHECK(stable_hash64(std::string_view("abcdefghijklmnopq", n), 0) == 0x5010084969668890ULL);
}

TEST_CASE("partial loads read exactly the first count bytes, little-endian", "[hash]") {
  const char bytes[8] = {'\x01', '\x02', '\x03', '\x04', '\x05', '\x06', '\x07', '\xff'};
  CHECK(sticky::load_le_partial(bytes, 0) == 0);
  CHECK(sticky::load_le_partial(bytes, 1) == 0x01);
  CHECK(sticky::load_le_partial(bytes, 2) == 0x0201);
  CHECK(sticky::load_le_partial(bytes, 3) == 0x030201);
  CHECK(sticky::load_le_partial(bytes, 4) == 0x04030201);
  CHECK(sticky::load_le_partial(bytes, 5) == 0x0504030201ULL);
  CHECK(sticky::load_le_partial(bytes, 6) == 0x060504030201ULL);
  CHECK(sticky::load_le_partial(bytes, 7) == 0x07060504030201ULL);
  CHECK(sticky::load_le64(bytes) == 0xff07060504030201ULL);
}

TEST_CASE("flipping any input bit flips each output bit with probability about 1/2", "[hash]") {
  // For every (input bit, output bit) pair: the share of 2000 (input, seed) samples in which the output
  // bit flips.
  // A missing finaliser or a weak word mix shows up as pairs near 0 or 1.
  constexpr int kSamples = 2000;
  for (const std::size_t len : {1U, 3U, 8U, 13U, 24U}) {
    std::vector<std::array<int, 64>> flips(len * 8, std::array<int, 64>{});
    for (int s = 0; s < kSamples; ++s) {
      // A fresh seed per sample: a 1-byte input has only 128 pairs per flipped bit to measure on.
      const std::uint64_t seed = sticky::fmix64(static_cast<std::uint64_t>(s) + 1000 * len);
      std::string in = random_bytes(static_cast<std::uint64_t>(s) + 1000 * len, len);
      const std::uint64_t base = stable_hash64(in, seed);
      for (std::size_t bit = 0; bit < len * 8; ++bit) {
        in[bit / 8] = static_cast<char>(in[bit / 8] ^ (1 << (bit % 8)));
        const std::uint64_t diff = base ^ stable_hash64(in, seed);
        in[bit / 8] = static_cast<char>(in[bit / 8] ^ (1 << (bit % 8)));
        for (int o = 0; o < 64; ++o) flips[bit][static_cast<std::size_t>(o)] += static_cast<int>((diff >> o) & 1U);
      }
    }
    double worst = 0, total = 0;
    for (const auto& row : flips)
      for (const int f : row) {
        worst = std::max(worst, std::abs(f / double(kSamples) - 0.5));
        total += f;
      }
    INFO("length " << len);
    CHECK(worst < 0.05);  // sampling sd is 0.011; a biased pair is far beyond this
    CHECK(total / (double(kSamples) * double(len) * 8 * 64) == Approx(0.5).margin(0.002));
  }
}

TEST_CASE("flipping any seed bit or appending a byte changes about half the output bits", "[hash]") {
  constexpr int kSamples = 2000;
  std::array<int, 64> seed_flips{};
  long appended_bits = 0;
  for (int s = 0; s < kSamples; ++s) {
    const std::string in = random_bytes(static_cast<std::uint64_t>(s), 1 + static_cast<std::size_t>(s) % 40);
    const std::uint64_t seed = sticky::fmix64(static_cast<std::uint64_t>(s) + 77);
    const std::uint64_t base = stable_hash64(in, seed);
    for (int b = 0; b < 64; ++b)
      seed_flips[static_cast<std::size_t>(b)] += std::popcount(base ^ stable_hash64(in, seed ^ (1ULL << b)));
    appended_bits += std::popcount(base ^ stable_hash64(in + std::string(1, '\0'), seed));
  }
  for (const int f : seed_flips) CHECK(f / double(kSamples * 64) == Approx(0.5).margin(0.01));
  CHECK(static_cast<double>(appended_bits) / double(kSamples * 64) == Approx(0.5).margin(0.01));
}

TEST_CASE("1M sequential keys spread evenly over 401 buckets (chi-square, p = 0.001)", "[hash]") {
  // 493.1 is the 0.999 quantile of chi-square with 400 degrees of freedom. Two key shapes: decimal
  // strings (URL ids, cookies) and 8-byte little-endian counters (one full block, empty tail).
  constexpr std::size_t kBuckets = 401;
  constexpr int kKeys = 1000000;
  const auto chi_square = [&](const std::vector<long>& counts) {
    const double expected = double(kKeys) / kBuckets;
    double chi = 0;
    for (const long c : counts) chi += (static_cast<double>(c) - expected) * (static_cast<double>(c) - expected) / expected;
    return chi;
  };
  std::vector<long> decimal(kBuckets), binary(kBuckets);
  for (int i = 0; i < kKeys; ++i) {
    ++decimal[stable_hash64(std::to_string(i), 0x4853414600000001ULL) % kBuckets];
    char word[8];
    for (int b = 0; b < 8; ++b) word[b] = static_cast<char>((static_cast<std::uint64_t>(i) >> (8 * b)) & 0xff);
    ++binary[stable_hash64(std::string_view(word, 8), 0) % kBuckets];
  }
  CHECK(chi_square(decimal) < 493.1);
  CHECK(chi_square(binary) < 493.1);
}
