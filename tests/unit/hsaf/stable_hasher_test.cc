// Pins the serial seeds and proves the incremental hashers are exactly stable_hash64 for every split.
#include <catch2/catch.hpp>

#include <string>

#include "base/hash.h"
#include "hsaf/serial.h"
#include "hsaf/stable_hasher.h"

using sticky::stable_hash64;
using sticky::hsaf::DualHasher;
using sticky::hsaf::StableHasher;

namespace {

std::string ascii_lower(std::string s) {
  for (char& c : s)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c | 0x20);
  return s;
}

// Mixed case, digits, punctuation and non-ASCII bytes (including 0xC1..0xDA, which are 'A'..'Z' + 0x80
// and must not be lowercased), 41 bytes: every pending-buffer fill level is crossed.
const std::string kText = "WWW.Ex-Ample.COM/Zoo@[`{/\xC3\x89t\xC3\xA9\xC1\xDA?Q=Hd&z=\x7f\x80\xff";

}  // namespace

// The definition itself is pinned in tests/unit/base/hash_test.cc; these vectors tie the HSAF inputs to it.
TEST_CASE("stable_hash64 matches pinned HSAF vectors", "[stable_hasher]") {
  CHECK(stable_hash64("example.com/index.html", sticky::hsaf::kSerialSeed1) == 0xe8ea1c933ca8ba23ULL);
  CHECK(stable_hash64("example.com/index.html", sticky::hsaf::kSerialSeed2) == 0x13d30cb772c036bfULL);
}

TEST_CASE("the serial seeds are pinned", "[stable_hasher]") {
  CHECK(sticky::hsaf::kSerialSeed1 == 0x4853414600000001ULL);
  CHECK(sticky::hsaf::kSerialSeed2 == 0x4853414600000002ULL);
}

TEST_CASE("ascii_lower_word lowercases exactly 'A'..'Z' in every byte position", "[stable_hasher]") {
  for (int pos = 0; pos < 8; ++pos)
    for (int b = 0; b < 256; ++b) {
      // Neighbours of the probed byte are 'Z' and '@' so a carry or borrow across bytes would show.
      const std::uint64_t fill = 0x5a405a405a405a40ULL;
      const std::uint64_t mask = 0xffULL << (8 * pos);
      const std::uint64_t w = (fill & ~mask) | (std::uint64_t(b) << (8 * pos));
      const std::uint64_t lowered_b = (b >= 'A' && b <= 'Z') ? std::uint64_t(b | 0x20) : std::uint64_t(b);
      const std::uint64_t want = (0x7a407a407a407a40ULL & ~mask) | (lowered_b << (8 * pos));
      INFO("byte " << b << " at " << pos);
      REQUIRE(sticky::hsaf::ascii_lower_word(w) == want);
    }
}

TEST_CASE("incremental hashing equals stable_hash64 for every two- and three-way split", "[stable_hasher]") {
  const std::uint64_t seed = GENERATE(0ULL, 1ULL, sticky::hsaf::kSerialSeed1);
  for (std::size_t len = 0; len <= kText.size(); ++len) {
    const std::string_view text = std::string_view(kText).substr(0, len);
    const std::uint64_t want = stable_hash64(text, seed);
    for (std::size_t i = 0; i <= len; ++i)
      for (std::size_t j = i; j <= len; ++j) {
        StableHasher h(seed);
        h.update(text.substr(0, i));
        h.update(text.substr(i, j - i));
        h.update(text.substr(j));
        INFO("len " << len << " cuts " << i << "," << j);
        REQUIRE(h.finish() == want);
      }
  }
}

TEST_CASE("update_lower hashes the ASCII-lowercased bytes at every split", "[stable_hasher]") {
  for (std::size_t len = 0; len <= kText.size(); ++len) {
    const std::string text = kText.substr(0, len);
    const std::uint64_t want = stable_hash64(ascii_lower(text), 7);
    for (std::size_t i = 0; i <= len; ++i)
      for (std::size_t j = i; j <= len; ++j) {
        // Lowercase the middle piece through update_lower, the outer pieces already lowered.
        StableHasher h(7);
        h.update(ascii_lower(text.substr(0, i)));
        h.update_lower(std::string_view(text).substr(i, j - i));
        h.update(ascii_lower(text.substr(j)));
        INFO("len " << len << " cuts " << i << "," << j);
        REQUIRE(h.finish() == want);
      }
  }
  StableHasher h(7);
  h.update_lower("WWW.Example.COM/\xC3\x89t\xC3\xA9");
  CHECK(h.finish() == stable_hash64("www.example.com/\xC3\x89t\xC3\xA9", 7));
}

TEST_CASE("byte-at-a-time and mixed feeding give the same hash", "[stable_hasher]") {
  for (std::size_t len = 0; len <= kText.size(); ++len) {
    const std::string_view text = std::string_view(kText).substr(0, len);
    StableHasher bytes(42), mixed(42);
    for (std::size_t i = 0; i < len; ++i) {
      bytes.update_byte(text[i]);
      if (i % 3 == 0) mixed.update_byte(text[i]);
      else mixed.update(text.substr(i, 1));
    }
    CHECK(bytes.finish() == stable_hash64(text, 42));
    CHECK(mixed.finish() == stable_hash64(text, 42));
  }
}

TEST_CASE("the dual hasher gives the two single-seed hashes at every split", "[stable_hasher]") {
  for (std::size_t len = 0; len <= kText.size(); ++len) {
    const std::string text = kText.substr(0, len);
    const std::string lowered = ascii_lower(text);
    for (std::size_t i = 0; i <= len; ++i) {
      DualHasher d(sticky::hsaf::kSerialSeed1, sticky::hsaf::kSerialSeed2);
      d.update_lower(std::string_view(text).substr(0, i));
      if (i < len) {
        d.update_byte(lowered[i]);
        d.update(std::string_view(lowered).substr(i + 1));
      }
      INFO("len " << len << " cut " << i);
      REQUIRE(d.finish_first() == stable_hash64(lowered, sticky::hsaf::kSerialSeed1));
      REQUIRE(d.finish_second() == stable_hash64(lowered, sticky::hsaf::kSerialSeed2));
    }
  }
  DualHasher d(11, 22);
  d.update("Host.Example");
  d.update_lower("/A/B");
  d.update_byte('?');
  CHECK(d.finish_first() == stable_hash64("Host.Example/a/b?", 11));
  CHECK(d.finish_second() == stable_hash64("Host.Example/a/b?", 22));
  CHECK(d.finish_first() != d.finish_second());
}

TEST_CASE("the hasher works in constant expressions", "[stable_hasher]") {
  constexpr std::uint64_t h = [] {
    StableHasher s(sticky::hsaf::kSerialSeed1);
    s.update("example.com");
    s.update_lower("/INDEX.html");
    return s.finish();
  }();
  STATIC_REQUIRE(h == stable_hash64("example.com/index.html", sticky::hsaf::kSerialSeed1));
}
