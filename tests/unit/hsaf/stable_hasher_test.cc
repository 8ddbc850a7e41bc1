// Pins the project's stable hash and proves the incremental hasher is the same function.
#include <catch2/catch.hpp>

#include "base/hash.h"
#include "hsaf/serial.h"
#include "hsaf/stable_hasher.h"

using sticky::stable_hash64;
using sticky::hsaf::DualHasher;
using sticky::hsaf::StableHasher;

// Expected values were computed by an independent Python implementation of the definition in
// base/hash.h (FNV-1a 64 over seed LE bytes + data, then fmix64). If one changes, every node re-buckets.
TEST_CASE("stable_hash64 matches pinned vectors", "[stable_hasher]") {
  CHECK(stable_hash64("", 0) == 0x7bd3144f29c0cc9eULL);
  CHECK(stable_hash64("a", 0) == 0x6df9901ee878b6beULL);
  CHECK(stable_hash64("abc", 0) == 0xd16881089f6d3b14ULL);
  CHECK(stable_hash64("abc", 1) == 0x72577830b6d9ad1dULL);
  CHECK(stable_hash64("example.com/index.html", 0) == 0x674020b364f4e25fULL);
  CHECK(stable_hash64("example.com/index.html", sticky::hsaf::kSerialSeed1) == 0xe39c7139dfc76455ULL);
  CHECK(stable_hash64("example.com/index.html", sticky::hsaf::kSerialSeed2) == 0x1aa862c2562fb622ULL);
}

TEST_CASE("the serial seeds are pinned", "[stable_hasher]") {
  CHECK(sticky::hsaf::kSerialSeed1 == 0x4853414600000001ULL);
  CHECK(sticky::hsaf::kSerialSeed2 == 0x4853414600000002ULL);
}

TEST_CASE("incremental hashing equals stable_hash64 at every split point", "[stable_hasher]") {
  const std::string_view text = "cdn.example.org/videos/intro.mp4?quality=hd";
  const std::uint64_t seed = GENERATE(0ULL, 1ULL, sticky::hsaf::kSerialSeed1);
  for (std::size_t cut = 0; cut <= text.size(); ++cut) {
    StableHasher h(seed);
    h.update(text.substr(0, cut));
    h.update(text.substr(cut));
    CHECK(h.finish() == stable_hash64(text, seed));
  }
}

TEST_CASE("update_lower hashes the ASCII-lowercased bytes and leaves others alone", "[stable_hasher]") {
  StableHasher h(7);
  h.update_lower("WWW.Example.COM/\xC3\x89t\xC3\xA9");
  CHECK(h.finish() == stable_hash64("www.example.com/\xC3\x89t\xC3\xA9", 7));
}

TEST_CASE("the dual hasher gives the two single-seed hashes", "[stable_hasher]") {
  DualHasher d(11, 22);
  d.update("Host.Example");
  d.update_lower("/A/B");
  d.update_byte('?');
  CHECK(d.finish_first() == stable_hash64("Host.Example/a/b?", 11));
  CHECK(d.finish_second() == stable_hash64("Host.Example/a/b?", 22));
  CHECK(d.finish_first() != d.finish_second());
}
