// Tests of ACK encoding: the brief's exact bytes, every action kind, ids and size limits.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "spop/ack.h"
#include "spop/varint.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

std::string ack_hex(std::uint64_t sid, std::uint64_t fid, std::span<const Action> actions,
                    std::uint32_t max = kDefaultMaxFrameSize) {
  std::vector<std::uint8_t> buf(512);
  ByteWriter w(buf);
  REQUIRE(write_ack(w, sid, fid, actions, max));
  return to_hex(w.written());
}

}  // namespace

TEST_CASE("an ACK setting txn srv = \"s2\" matches the brief's bytes", "[ack]") {
  const Action a{ActionType::SetVar, VarScope::Txn, "srv", TypedValue::string("s2")};
  CHECK(ack_hex(5, 1, {&a, 1}) == to_hex(hex(kBriefAck)));
}

TEST_CASE("an ACK without actions matches the brief's empty ACK", "[ack]") {
  CHECK(ack_hex(5, 1, {}) == to_hex(hex(kBriefEmptyAck)));
}

TEST_CASE("unset-var has two arguments: scope and name", "[ack]") {
  const Action a{ActionType::UnsetVar, VarScope::Sess, "srv", TypedValue::string("ignored")};
  CHECK(ack_hex(5, 1, {&a, 1}) ==
        to_hex(hex("00 00 00 0e  67  00 00 00 01  05 01  02 02 01 03 \"srv\"")));
}

TEST_CASE("several actions in every scope and value type are written in order", "[ack]") {
  const Action actions[] = {
      {ActionType::SetVar, VarScope::Proc, "p", TypedValue::int64(-1)},
      {ActionType::SetVar, VarScope::Sess, "s", TypedValue::boolean(true)},
      {ActionType::SetVar, VarScope::Txn, "t", TypedValue::uint32(300)},
      {ActionType::SetVar, VarScope::Req, "q", TypedValue::ipv4(std::string_view("\x0a\x00\x00\x01", 4))},
      {ActionType::SetVar, VarScope::Res, "r", TypedValue::null()},
      {ActionType::UnsetVar, VarScope::Txn, "u", {}},
  };
  const ByteVec body = hex(
      "67  00 00 00 01  00 00"
      " 01 03 00 01 \"p\" 04 ff f0 fe fe fe fe fe fe fe 0e"
      " 01 03 01 01 \"s\" 11"
      " 01 03 02 01 \"t\" 03 fc 03"
      " 01 03 03 01 \"q\" 06 0a 00 00 01"
      " 01 03 04 01 \"r\" 00"
      " 02 02 02 01 \"u\"");
  CHECK(ack_hex(0, 0, actions) == to_hex(with_length(body)));
}

TEST_CASE("ACK echoes large stream and frame ids exactly", "[ack]") {
  const std::uint64_t sid = GENERATE(0ull, 239ull, 240ull, 4294967295ull, 18446744073709551615ull);
  const std::uint64_t fid = GENERATE(1ull, 2288ull, 18446744073709551615ull);
  std::uint8_t buf[64];
  ByteWriter w(buf);
  REQUIRE(write_ack(w, sid, fid, {}, kDefaultMaxFrameSize));
  ByteReader r(w.written());
  const std::uint32_t length = r.take_u32_be();
  CHECK(length == r.remaining());
  CHECK(r.take_u8() == 103);
  CHECK(r.take_u32_be() == kFlagFin);
  std::uint64_t got_sid = 0, got_fid = 0;
  REQUIRE(take_varint(r, got_sid) == VarintStatus::Ok);
  REQUIRE(take_varint(r, got_fid) == VarintStatus::Ok);
  CHECK(got_sid == sid);
  CHECK(got_fid == fid);
  CHECK(r.empty());
}

TEST_CASE("an ACK above max-frame-size is refused; one exactly at it is written", "[ack]") {
  // Body: 7 header bytes + 1 action type + 1 nb-args + 1 scope + 2 name + 1 data type
  // + 2 length bytes (the value is longer than 239) + N value bytes.
  const std::uint32_t max = 256;
  const std::size_t n_fit = max - 7 - 6 - 2;
  const std::string fits(n_fit, 'x');
  const std::string too_big(n_fit + 1, 'x');
  const Action ok{ActionType::SetVar, VarScope::Txn, "v", TypedValue::string(fits)};
  const Action big{ActionType::SetVar, VarScope::Txn, "v", TypedValue::string(too_big)};
  std::vector<std::uint8_t> buf(1024);
  ByteWriter w1(buf);
  REQUIRE(write_ack(w1, 5, 1, {&ok, 1}, max));
  CHECK(w1.size() == 4 + max);
  ByteWriter w2(buf);
  CHECK_FALSE(write_ack(w2, 5, 1, {&big, 1}, max));
}

TEST_CASE("an ACK into a too-small buffer fails without writing past it", "[ack]") {
  const Action a{ActionType::SetVar, VarScope::Txn, "srv", TypedValue::string("s2")};
  std::uint8_t buf[24];
  std::fill(std::begin(buf), std::end(buf), 0xEE);
  ByteWriter w(std::span<std::uint8_t>(buf, 16));
  CHECK_FALSE(write_ack(w, 5, 1, {&a, 1}, kDefaultMaxFrameSize));
  for (std::size_t i = 16; i < 24; ++i) CHECK(buf[i] == 0xEE);
}
