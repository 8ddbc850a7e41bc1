// Tests of the StickyRecord msgpack codec: exact bytes, round trips, and every malformed-input status.
#include <catch2/catch.hpp>
#include <msgpack.h>

#include <array>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "store/entry_codec.h"

using namespace sticky;
using namespace sticky::store;

namespace {

StickyRecord small_record() {
  StickyRecord r;
  r.backend = "b1";
  r.kind = 1;
  r.key = std::string("\x0a\x00\x00\x01", 4);
  r.server = "s1";
  r.created_ms = 1;
  r.last_seen_ms = 2;
  r.expires_ms = 3;
  r.origin = "n1";
  r.version = 7;
  return r;
}

std::vector<std::uint8_t> enc(const StickyRecord& r) {
  std::array<std::uint8_t, kMaxEncodedSize> buf{};
  EncodeResult e = encode(r, buf);
  REQUIRE(e.status == CodecStatus::Ok);
  return {buf.begin(), buf.begin() + static_cast<std::ptrdiff_t>(e.size)};
}

CodecStatus dec(const std::vector<std::uint8_t>& b) { return decode(Bytes(b.data(), b.size())).status; }

// Builders for hand-made inputs.
void fixstr(std::vector<std::uint8_t>& out, std::string_view s) {
  out.push_back(static_cast<std::uint8_t>(0xa0 | s.size()));
  out.insert(out.end(), s.begin(), s.end());
}
// A complete valid body (fields after the map header), so tests can add/replace one field.
std::vector<std::uint8_t> body_without(std::string_view skip) {
  std::vector<std::uint8_t> b;
  auto field = [&](std::string_view name, std::vector<std::uint8_t> value) {
    if (name == skip) return;
    fixstr(b, name);
    b.insert(b.end(), value.begin(), value.end());
  };
  field("fv", {0x01});
  field("b", {0xa2, 'b', '1'});
  field("t", {0x01});
  field("k", {0xc4, 0x01, 0x7f});
  field("s", {0xa2, 's', '1'});
  field("c", {0x01});
  field("l", {0x02});
  field("e", {0x03});
  field("o", {0xa2, 'n', '1'});
  field("n", {0x07});
  return b;
}
std::vector<std::uint8_t> map_of(std::size_t n, const std::vector<std::uint8_t>& body) {
  std::vector<std::uint8_t> m(body);
  m.insert(m.begin(), static_cast<std::uint8_t>(0x80 | n));
  return m;
}

}  // namespace

TEST_CASE("Encoding a small record gives the documented format-1 bytes", "[entry_codec]") {
  const std::vector<std::uint8_t> expected = {
      0x8a, 0xa2, 'f', 'v', 0x01, 0xa1, 'b', 0xa2, 'b', '1', 0xa1, 't', 0x01, 0xa1, 'k', 0xc4, 0x04, 0x0a, 0x00,
      0x00, 0x01, 0xa1, 's', 0xa2, 's', '1', 0xa1, 'c', 0x01, 0xa1, 'l', 0x02, 0xa1, 'e', 0x03, 0xa1, 'o', 0xa2,
      'n',  '1',  0xa1, 'n', 0x07};
  CHECK(enc(small_record()) == expected);
}

TEST_CASE("Decoding an encoded record gives the same record back", "[entry_codec]") {
  StickyRecord r = small_record();
  SECTION("small values") {}
  SECTION("extreme values") {
    r.created_ms = std::numeric_limits<std::int64_t>::min();
    r.last_seen_ms = -1;
    r.expires_ms = std::numeric_limits<std::int64_t>::max();
    r.version = std::numeric_limits<std::uint64_t>::max();
    r.kind = 255;
    r.key = std::string(16, '\0');  // a raw IPv6 address
  }
  SECTION("fields at their maximum lengths") {
    r.backend.assign(kMaxBackendLen, 'b');
    r.key.assign(kMaxKeyLen, '\xff');
    r.server.assign(kMaxServerLen, 's');
    r.origin.assign(kMaxOriginLen, 'o');
  }
  SECTION("empty strings") {
    r.backend.clear();
    r.key.clear();
    r.server.clear();
    r.origin.clear();
  }
  auto bytes = enc(r);
  CHECK(bytes.size() <= kMaxEncodedSize);
  DecodeResult d = decode(Bytes(bytes.data(), bytes.size()));
  REQUIRE(d.status == CodecStatus::Ok);
  CHECK(d.record == r);
}

TEST_CASE("libmsgpack's own unpacker reads our encoding as a 10-entry map", "[entry_codec]") {
  auto bytes = enc(small_record());
  msgpack_unpacked u;
  msgpack_unpacked_init(&u);
  std::size_t off = 0;
  auto rc = msgpack_unpack_next(&u, reinterpret_cast<const char*>(bytes.data()), bytes.size(), &off);
  CHECK(rc == MSGPACK_UNPACK_SUCCESS);
  CHECK(off == bytes.size());
  CHECK(u.data.type == MSGPACK_OBJECT_MAP);
  CHECK(u.data.via.map.size == 10);
  msgpack_unpacked_destroy(&u);
}

TEST_CASE("Encoding rejects over-long fields and small buffers", "[entry_codec]") {
  std::array<std::uint8_t, kMaxEncodedSize> buf{};
  StickyRecord r = small_record();
  r.server.assign(kMaxServerLen + 1, 's');
  CHECK(encode(r, buf).status == CodecStatus::FieldTooLong);
  r = small_record();
  r.origin.assign(kMaxOriginLen + 1, 'o');
  CHECK(encode(r, buf).status == CodecStatus::FieldTooLong);
  std::array<std::uint8_t, 10> tiny{};
  CHECK(encode(small_record(), tiny).status == CodecStatus::BufferTooSmall);
}

TEST_CASE("Every strict prefix of a valid record is reported as truncated", "[entry_codec]") {
  auto bytes = enc(small_record());
  CHECK(decode(Bytes()).status == CodecStatus::Empty);
  for (std::size_t n = 1; n < bytes.size(); ++n) {
    INFO("prefix length " << n);
    CHECK(decode(Bytes(bytes.data(), n)).status == CodecStatus::Truncated);
  }
}

TEST_CASE("Malformed records are rejected with a specific status", "[entry_codec]") {
  SECTION("trailing bytes") {
    auto b = enc(small_record());
    b.push_back(0x00);
    CHECK(dec(b) == CodecStatus::TrailingBytes);
  }
  SECTION("top level is an array") { CHECK(dec({0x92, 0x01, 0x02}) == CodecStatus::NotAMap); }
  SECTION("top level is a string") { CHECK(dec({0xa1, 'x'}) == CodecStatus::NotAMap); }
  SECTION("map declares more than the field limit") { CHECK(dec({0xde, 0x00, 0x21}) == CodecStatus::TooManyFields); }
  SECTION("map32 declaring four billion entries") {
    CHECK(dec({0xdf, 0xff, 0xff, 0xff, 0xff}) == CodecStatus::TooManyFields);
  }
  SECTION("integer field name") { CHECK(dec({0x81, 0x01, 0x01}) == CodecStatus::BadFieldName); }
  SECTION("server is an integer") {
    auto b = body_without("s");
    fixstr(b, "s");
    b.push_back(0x05);
    CHECK(dec(map_of(10, b)) == CodecStatus::WrongType);
  }
  SECTION("kind above 255") {
    auto b = body_without("t");
    fixstr(b, "t");
    b.insert(b.end(), {0xcd, 0x01, 0x00});
    CHECK(dec(map_of(10, b)) == CodecStatus::WrongType);
  }
  SECTION("negative version") {
    auto b = body_without("n");
    fixstr(b, "n");
    b.push_back(0xff);  // -1
    CHECK(dec(map_of(10, b)) == CodecStatus::WrongType);
  }
  SECTION("created above int64 range") {
    auto b = body_without("c");
    fixstr(b, "c");
    b.insert(b.end(), {0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0});
    CHECK(dec(map_of(10, b)) == CodecStatus::WrongType);
  }
  SECTION("duplicate field") {
    auto b = body_without("");
    fixstr(b, "s");
    b.insert(b.end(), {0xa1, 'x'});
    CHECK(dec(map_of(11, b)) == CodecStatus::DuplicateField);
  }
  SECTION("missing field") { CHECK(dec(map_of(9, body_without("o"))) == CodecStatus::MissingField); }
  SECTION("format version 2") {
    auto b = body_without("fv");
    fixstr(b, "fv");
    b.push_back(0x02);
    CHECK(dec(map_of(10, b)) == CodecStatus::UnsupportedFormat);
  }
  SECTION("server longer than its limit") {
    auto b = body_without("s");
    fixstr(b, "s");
    b.insert(b.end(), {0xda, 0x01, 0x00});  // str16 of 256 bytes
    b.insert(b.end(), 256, 'x');
    CHECK(dec(map_of(10, b)) == CodecStatus::FieldTooLong);
  }
  SECTION("unknown field nesting too deep") {
    auto b = body_without("");
    fixstr(b, "zz");
    b.insert(b.end(), {0x91, 0x91, 0x91, 0x91, 0x91, 0x01});
    CHECK(dec(map_of(11, b)) == CodecStatus::TooDeep);
  }
  SECTION("reserved type byte in an unknown field") {
    auto b = body_without("");
    fixstr(b, "zz");
    b.push_back(0xc1);
    CHECK(dec(map_of(11, b)) == CodecStatus::InvalidEncoding);
  }
  SECTION("unknown field declaring a huge array is truncated without allocating for it") {
    auto b = body_without("");
    fixstr(b, "zz");
    b.insert(b.end(), {0xdd, 0x7f, 0xff, 0xff, 0xff});
    CHECK(dec(map_of(11, b)) == CodecStatus::Truncated);
  }
}

TEST_CASE("Unknown fields from a later format are skipped", "[entry_codec]") {
  auto b = body_without("");
  fixstr(b, "zz");
  b.insert(b.end(), {0x82, 0xa1, 'a', 0x92, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, 0xc0, 0xa1, 'b', 0xd4, 0x01, 0x02});
  fixstr(b, "yy");
  b.insert(b.end(), {0xc7, 0x02, 0x05, 0xaa, 0xbb});
  auto m = map_of(12, b);
  DecodeResult d = decode(Bytes(m.data(), m.size()));
  REQUIRE(d.status == CodecStatus::Ok);
  CHECK(d.record.server == "s1");
  CHECK(d.record.key == "\x7f");
  CHECK(d.record.version == 7);
}

TEST_CASE("Fields are accepted in any order and in wider integer encodings", "[entry_codec]") {
  std::vector<std::uint8_t> b;
  fixstr(b, "n");
  b.insert(b.end(), {0xd3, 0, 0, 0, 0, 0, 0, 0, 9});  // int64 9 for an unsigned field
  fixstr(b, "o");
  b.insert(b.end(), {0xd9, 0x01, 'z'});  // str8
  fixstr(b, "e");
  b.insert(b.end(), {0xd2, 0xff, 0xff, 0xff, 0xfe});  // int32 -2
  fixstr(b, "l");
  b.insert(b.end(), {0xce, 0, 0, 1, 0});
  fixstr(b, "c");
  b.push_back(0xe0);  // -32
  fixstr(b, "s");
  b.insert(b.end(), {0xa1, 'q'});
  fixstr(b, "k");
  b.insert(b.end(), {0xa2, 'c', 'k'});  // key as str is accepted too
  fixstr(b, "t");
  b.insert(b.end(), {0xcc, 0x03});
  fixstr(b, "b");
  b.insert(b.end(), {0xa2, 'b', 'e'});
  fixstr(b, "fv");
  b.insert(b.end(), {0xcd, 0x00, 0x01});
  auto m = map_of(10, b);
  DecodeResult d = decode(Bytes(m.data(), m.size()));
  REQUIRE(d.status == CodecStatus::Ok);
  CHECK(d.record.version == 9);
  CHECK(d.record.origin == "z");
  CHECK(d.record.expires_ms == -2);
  CHECK(d.record.last_seen_ms == 256);
  CHECK(d.record.created_ms == -32);
  CHECK(d.record.key == "ck");
  CHECK(d.record.kind == 3);
}

TEST_CASE("Every single-byte mutation of a record decodes to a status without crashing", "[entry_codec]") {
  const auto good = enc(small_record());
  std::size_t ok = 0, rejected = 0;
  for (std::size_t pos = 0; pos < good.size(); ++pos) {
    for (int v = 0; v < 256; ++v) {
      auto m = good;
      m[pos] = static_cast<std::uint8_t>(v);
      DecodeResult d = decode(Bytes(m.data(), m.size()));
      if (d.status == CodecStatus::Ok) ++ok;
      else {
        ++rejected;
        CHECK(d.record == StickyRecord{});  // a failed decode never leaks a half-filled record
      }
    }
  }
  CHECK(ok > 0);        // value-byte mutations still decode
  CHECK(rejected > 0);  // structural mutations do not
}

TEST_CASE("Every status has a distinct readable name", "[entry_codec]") {
  CHECK(codec_status_name(CodecStatus::Ok) == "ok");
  CHECK(codec_status_name(CodecStatus::Truncated) == "truncated input");
  CHECK(codec_status_name(CodecStatus::TooDeep) != codec_status_name(CodecStatus::TooManyFields));
}
