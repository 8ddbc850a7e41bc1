// Tests of the SPOP varint: exact bytes at every length boundary, round trips, and hostile input.
#include <catch2/catch.hpp>

#include <cstdint>
#include <limits>
#include <string>

#include "spop/varint.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

struct VarintCase {
  std::uint64_t value;
  const char* bytes;
};

// Hand-computed with the brief's algorithm; the first column of each length pair is the last
// value of one length, the second the first value of the next.
const VarintCase kCases[] = {
    {0, "00"},
    {1, "01"},
    {239, "ef"},
    {240, "f0 00"},
    {255, "ff 00"},
    {256, "f0 01"},
    {300, "fc 03"},
    {2287, "ff 7f"},
    {2288, "f0 80 00"},
    {16380, "fc f0 06"},
    {65535, "ff f0 1e"},
    {264431, "ff ff 7f"},
    {264432, "f0 80 80 00"},
    {33818863, "ff ff ff 7f"},
    {33818864, "f0 80 80 80 00"},
    {4294967295ull, "ff f0 fe fe 7e"},
    {4328786159ull, "ff ff ff ff 7f"},
    {4328786160ull, "f0 80 80 80 80 00"},
    {554084600047ull, "ff ff ff ff ff 7f"},
    {554084600048ull, "f0 80 80 80 80 80 00"},
    {70922828777711ull, "ff ff ff ff ff ff 7f"},
    {70922828777712ull, "f0 80 80 80 80 80 80 00"},
    {9078122083518703ull, "ff ff ff ff ff ff ff 7f"},
    {9078122083518704ull, "f0 80 80 80 80 80 80 80 00"},
    {1161999626690365679ull, "ff ff ff ff ff ff ff ff 7f"},
    {1161999626690365680ull, "f0 80 80 80 80 80 80 80 80 00"},
    {9223372036854775808ull, "f0 f1 fe fe fe fe fe fe fe 06"},
    {18446744073709551615ull, "ff f0 fe fe fe fe fe fe fe 0e"},
};

ByteVec encode(std::uint64_t v) {
  ByteVec out(kMaxVarintBytes);
  out.resize(encode_varint(v, out.data()));
  return out;
}

}  // namespace

TEST_CASE("varint encodes every length boundary to the brief's exact bytes", "[varint]") {
  for (const VarintCase& c : kCases) {
    INFO("value " << c.value);
    const ByteVec want = hex(c.bytes);
    CHECK(to_hex(encode(c.value)) == to_hex(want));
    CHECK(varint_size(c.value) == want.size());
  }
}

TEST_CASE("varint decodes every length boundary and consumes exactly its bytes", "[varint]") {
  for (const VarintCase& c : kCases) {
    INFO("value " << c.value);
    ByteVec bytes = hex(c.bytes);
    bytes.push_back(0xAB);  // a following byte must stay unread
    ByteReader r(view(bytes));
    std::uint64_t out = 0;
    REQUIRE(take_varint(r, out) == VarintStatus::Ok);
    CHECK(out == c.value);
    CHECK(r.remaining() == 1);
  }
}

TEST_CASE("varint sizes are usable at compile time", "[varint]") {
  static_assert(varint_size(239) == 1);
  static_assert(varint_size(240) == 2);
  static_assert(varint_size(2288) == 3);
  static_assert(varint_size(std::numeric_limits<std::uint64_t>::max()) == kMaxVarintBytes);
  SUCCEED();
}

TEST_CASE("varint round-trips powers of two and their neighbours", "[varint]") {
  const int bit = GENERATE(range(0, 64));
  const std::uint64_t p = std::uint64_t{1} << bit;
  for (std::uint64_t v : {p - 1, p, p + 1, ~p}) {
    INFO("value " << v);
    const ByteVec bytes = encode(v);
    ExactCopy copy(bytes, bytes.size());
    ByteReader r(copy.view());
    std::uint64_t out = 0;
    REQUIRE(take_varint(r, out) == VarintStatus::Ok);
    CHECK(out == v);
    CHECK(r.empty());
  }
}

TEST_CASE("put_varint writes through a ByteWriter and reports overflow", "[varint]") {
  std::uint8_t buf[3] = {};
  ByteWriter w(buf);
  put_varint(w, 2288);
  CHECK(w.ok());
  CHECK(to_hex(w.written()) == "f0 80 00");
  put_varint(w, 0);  // no room left
  CHECK_FALSE(w.ok());
  CHECK(w.size() == 3);
}

TEST_CASE("varint cut at every byte is Truncated and reads nothing past the end", "[varint]") {
  const ByteVec full = hex("ff f0 fe fe fe fe fe fe fe 0e");
  const std::size_t cut = GENERATE(range(std::size_t{0}, std::size_t{10}));
  ExactCopy copy(full, cut);
  ByteReader r(copy.view());
  std::uint64_t out = 0;
  CHECK(take_varint(r, out) == VarintStatus::Truncated);
}

TEST_CASE("varint longer than ten bytes is Overlong", "[varint]") {
  // Every byte says "more follows": a decoder without a bound would walk off the frame.
  const ByteVec bytes(16, 0xff);
  ByteReader r(view(bytes));
  std::uint64_t out = 0;
  CHECK(take_varint(r, out) == VarintStatus::Overlong);
  CHECK(r.position() <= kMaxVarintBytes);
}

TEST_CASE("varint whose tenth byte carries bits above 2^64 is Overlong", "[varint]") {
  const ByteVec bytes = hex("ff f0 fe fe fe fe fe fe fe 1e");
  ByteReader r(view(bytes));
  std::uint64_t out = 0;
  CHECK(take_varint(r, out) == VarintStatus::Overlong);
}

TEST_CASE("varint one above 2^64-1 is Overlong, not wrapped to a small value", "[varint]") {
  // Regression: the tenth byte 0x0f fits in four bits, but the sum exceeds 2^64-1; the decoder
  // used to wrap it silently to 2^60-1.
  for (const char* bytes : {"ff f0 fe fe fe fe fe fe fe 0f", "ff ff ff ff ff ff ff ff ff 0f"}) {
    INFO(bytes);
    const ByteVec encoded = hex(bytes);
    ByteReader r(view(encoded));
    std::uint64_t out = 0;
    CHECK(take_varint(r, out) == VarintStatus::Overlong);
  }
}

TEST_CASE("varint decoding accepts any first byte below 240 as the whole value", "[varint]") {
  const int b = GENERATE(range(0, 240));
  const ByteVec bytes{static_cast<std::uint8_t>(b)};
  ExactCopy copy(bytes, 1);
  ByteReader r(copy.view());
  std::uint64_t out = 999;
  REQUIRE(take_varint(r, out) == VarintStatus::Ok);
  CHECK(out == static_cast<std::uint64_t>(b));
}
