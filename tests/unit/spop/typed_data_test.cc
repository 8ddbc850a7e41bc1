// Tests of SPOP typed data: exact bytes for every kind, decoding, and malformed values.
#include <catch2/catch.hpp>

#include <cstdint>
#include <memory>
#include <set>
#include <string>

#include "spop/typed_data.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

std::string encode(const TypedValue& v) {
  std::uint8_t buf[512];
  ByteWriter w(buf);
  put_typed(w, v);
  REQUIRE(w.ok());
  return to_hex(w.written());
}

TypedValue with_type(DataType t, std::uint64_t u) {
  TypedValue v;
  v.type = t;
  v.u = u;
  return v;
}

// Decodes `bytes` (plus one trailing sentinel that must stay unread) and checks it is all used.
// The value's views point into `storage_`, which lives as long as the Decoded.
struct Decoded {
  std::unique_ptr<ByteVec> storage_;
  TypedValue value;
};

Decoded decode_all(const ByteVec& bytes) {
  Decoded d{std::make_unique<ByteVec>(bytes), {}};
  d.storage_->push_back(0xAB);
  ByteReader r(view(*d.storage_));
  REQUIRE(take_typed(r, d.value) == DecodeStatus::Ok);
  CHECK(r.remaining() == 1);
  return d;
}

DecodeStatus decode_status(const ByteVec& bytes) {
  ExactCopy copy(bytes, bytes.size());
  ByteReader r(copy.view());
  TypedValue out;
  return take_typed(r, out);
}

const std::string kIpv4 = std::string("\xc0\x00\x02\x01", 4);  // 192.0.2.1
const std::string kIpv6 = std::string("\x20\x01\x0d\xb8\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x01", 16);

}  // namespace

TEST_CASE("NULL encodes as 00 and decodes back", "[typed_data]") {
  CHECK(encode(TypedValue::null()) == "00");
  CHECK(decode_all(hex("00")).value.type == DataType::Null);
}

TEST_CASE("BOOL carries its value in flag bit 4: true 11, false 01", "[typed_data]") {
  CHECK(encode(TypedValue::boolean(true)) == "11");
  CHECK(encode(TypedValue::boolean(false)) == "01");
  const Decoded dt = decode_all(hex("11"));
  const TypedValue& t = dt.value;
  CHECK(t.type == DataType::Bool);
  CHECK(t.b);
  const Decoded df = decode_all(hex("01"));
  const TypedValue& f = df.value;
  CHECK(f.type == DataType::Bool);
  CHECK_FALSE(f.b);
}

TEST_CASE("a flagged NULL (10) is still NULL, not BOOL true", "[typed_data]") {
  CHECK(decode_all(hex("10")).value.type == DataType::Null);
}

TEST_CASE("INT32 is a varint of the 64-bit two's complement", "[typed_data]") {
  CHECK(encode(with_type(DataType::Int32, 5)) == "02 05");
  CHECK(encode(with_type(DataType::Int32, static_cast<std::uint64_t>(std::int64_t{-1}))) ==
        "02 ff f0 fe fe fe fe fe fe fe 0e");
  const Decoded dv = decode_all(hex("02 ff f0 fe fe fe fe fe fe fe 0e"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Int32);
  CHECK(v.as_int64() == -1);
}

TEST_CASE("UINT32 encodes its value as a varint", "[typed_data]") {
  CHECK(encode(TypedValue::uint32(16380)) == "03 fc f0 06");
  CHECK(encode(TypedValue::uint32(4294967295u)) == "03 ff f0 fe fe 7e");
  const Decoded dv = decode_all(hex("03 ff f0 fe fe 7e"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Uint32);
  CHECK(v.u == 4294967295u);
}

TEST_CASE("INT64 -1 takes ten varint bytes", "[typed_data]") {
  CHECK(encode(TypedValue::int64(-1)) == "04 ff f0 fe fe fe fe fe fe fe 0e");
  CHECK(encode(TypedValue::int64(300)) == "04 fc 03");
  CHECK(encode(TypedValue::int64(0)) == "04 00");
  const Decoded dv = decode_all(hex("04 ff f0 fe fe fe fe fe fe fe 0e"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Int64);
  CHECK(v.as_int64() == -1);
  CHECK(decode_all(hex("04 fc 03")).value.as_int64() == 300);
}

TEST_CASE("UINT64 covers the full unsigned range", "[typed_data]") {
  CHECK(encode(with_type(DataType::Uint64, 18446744073709551615ull)) ==
        "05 ff f0 fe fe fe fe fe fe fe 0e");
  CHECK(encode(with_type(DataType::Uint64, 240)) == "05 f0 00");
  const Decoded dv = decode_all(hex("05 ff f0 fe fe fe fe fe fe fe 0e"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Uint64);
  CHECK(v.u == 18446744073709551615ull);
}

TEST_CASE("IPV4 is four raw bytes in network order", "[typed_data]") {
  CHECK(encode(TypedValue::ipv4(kIpv4)) == "06 c0 00 02 01");
  const Decoded dv = decode_all(hex("06 c0 00 02 01"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Ipv4);
  CHECK(v.bytes == kIpv4);
}

TEST_CASE("IPV6 is sixteen raw bytes in network order", "[typed_data]") {
  CHECK(encode(TypedValue::ipv6(kIpv6)) == "07 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01");
  const Decoded dv = decode_all(hex("07 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 01"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Ipv6);
  CHECK(v.bytes == kIpv6);
}

TEST_CASE("STRING is a varint length and the bytes, empty string included", "[typed_data]") {
  CHECK(encode(TypedValue::string("s2")) == "08 02 73 32");
  CHECK(encode(TypedValue::string("")) == "08 00");
  const Decoded dv = decode_all(hex("08 02 \"s2\""));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::String);
  CHECK(v.bytes == "s2");
  const Decoded de = decode_all(hex("08 00"));
  const TypedValue& e = de.value;
  CHECK(e.type == DataType::String);
  CHECK(e.bytes.empty());
}

TEST_CASE("a STRING of 240 bytes gets a two-byte length", "[typed_data]") {
  const std::string s(240, 'x');
  CHECK(encode(TypedValue::string(s)).substr(0, 8) == "08 f0 00");
  ByteVec bytes = hex("08 f0 00");
  bytes.insert(bytes.end(), s.begin(), s.end());
  CHECK(decode_all(bytes).value.bytes == s);
}

TEST_CASE("BINARY keeps arbitrary bytes including NUL", "[typed_data]") {
  const std::string raw("\x00\xff\x10", 3);
  CHECK(encode(TypedValue::binary(raw)) == "09 03 00 ff 10");
  const Decoded dv = decode_all(hex("09 03 00 ff 10"));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::Binary);
  CHECK(v.bytes == raw);
}

TEST_CASE("flag bits in the high nibble do not change the type", "[typed_data]") {
  const Decoded dv = decode_all(hex("f8 02 \"ab\""));
  const TypedValue& v = dv.value;
  CHECK(v.type == DataType::String);
  CHECK(v.bytes == "ab");
  CHECK(decode_all(hex("24 05")).value.type == DataType::Int64);
}

TEST_CASE("reserved type ids 10 to 15 are UnknownType whatever the flags", "[typed_data]") {
  const int id = GENERATE(range(10, 16));
  const int flags = GENERATE(0x00, 0x10, 0xF0);
  CHECK(decode_status({static_cast<std::uint8_t>(id | flags), 0, 0, 0}) == DecodeStatus::UnknownType);
}

TEST_CASE("a value cut short is Truncated, never read past the end", "[typed_data]") {
  const char* spec = GENERATE("",                              // no type byte at all
                              "02", "04 ff f0 fe",             // varint missing or cut
                              "06 c0 00 02",                   // IPV4 with 3 bytes
                              "07 20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00",  // IPV6 with 15
                              "08", "08 05 \"abc\"",           // string length beyond the end
                              "09 f0", "08 f0 00 \"short\"");  // two-byte length, too few bytes
  INFO(spec);
  CHECK(decode_status(hex(spec)) == DecodeStatus::Truncated);
}

TEST_CASE("a length of 2^64-1 is Truncated, not an overflowing size", "[typed_data]") {
  CHECK(decode_status(hex("08 ff f0 fe fe fe fe fe fe fe 0e \"abc\"")) == DecodeStatus::Truncated);
}

TEST_CASE("an overlong varint in an integer or a length is BadVarint", "[typed_data]") {
  const char* spec = GENERATE("04 ff ff ff ff ff ff ff ff ff ff ff", "08 ff ff ff ff ff ff ff ff ff ff 00",
                              "05 ff f0 fe fe fe fe fe fe fe 0f");
  INFO(spec);
  CHECK(decode_status(hex(spec)) == DecodeStatus::BadVarint);
}

TEST_CASE("take_name reads bare length-prefixed names", "[typed_data]") {
  const ByteVec bytes = hex("03 \"abc\" 00 05 \"ab\"");
  ByteReader r(view(bytes));
  std::string_view name;
  REQUIRE(take_name(r, name) == DecodeStatus::Ok);
  CHECK(name == "abc");
  REQUIRE(take_name(r, name) == DecodeStatus::Ok);  // unnamed argument: a single 00
  CHECK(name.empty());
  CHECK(take_name(r, name) == DecodeStatus::Truncated);
}

TEST_CASE("put_name writes the length then the bytes", "[typed_data]") {
  std::uint8_t buf[8];
  ByteWriter w(buf);
  put_name(w, "srv");
  put_name(w, "");
  CHECK(to_hex(w.written()) == "03 73 72 76 00");
}

TEST_CASE("skip_typed moves past one value of each kind", "[typed_data]") {
  const ByteVec bytes = hex("00 11 02 05 03 ff 00 04 fc 03 05 01 06 01 02 03 04 "
                            "07 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 08 01 \"x\" 09 00");
  ByteReader r(view(bytes));
  int values = 0;
  while (!r.empty()) {
    REQUIRE(skip_typed(r) == DecodeStatus::Ok);
    ++values;
  }
  CHECK(values == 10);
}

TEST_CASE("encoding into a full writer fails without writing past it", "[typed_data]") {
  std::uint8_t buf[4] = {0xEE, 0xEE, 0xEE, 0xEE};
  ByteWriter w(std::span<std::uint8_t>(buf, 3));
  put_typed(w, TypedValue::string("abcdef"));
  CHECK_FALSE(w.ok());
  CHECK(buf[3] == 0xEE);
}

TEST_CASE("every decode status has its own readable name", "[typed_data]") {
  std::set<std::string_view> names;
  for (DecodeStatus s : {DecodeStatus::Ok, DecodeStatus::Truncated, DecodeStatus::BadVarint,
                         DecodeStatus::UnknownType}) {
    CHECK_FALSE(decode_status_name(s).empty());
    names.insert(decode_status_name(s));
  }
  CHECK(names.size() == 4);
}

TEST_CASE("TypedValue classifies integers and text", "[typed_data]") {
  CHECK(TypedValue::int64(1).is_integer());
  CHECK(TypedValue::uint32(1).is_integer());
  CHECK(with_type(DataType::Int32, 1).is_integer());
  CHECK(with_type(DataType::Uint64, 1).is_integer());
  CHECK_FALSE(TypedValue::string("1").is_integer());
  CHECK(TypedValue::string("a").is_text());
  CHECK(TypedValue::binary("a").is_text());
  CHECK_FALSE(TypedValue::ipv4(kIpv4).is_text());
  CHECK_FALSE(TypedValue::null().is_integer());
}
