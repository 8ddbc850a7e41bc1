// Tests of frame splitting and frame headers: every frame type, every cut, every hostile length.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "spop/frame.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

// A NOTIFY (stream-id 300, frame-id 2288) carrying message "echo" with one STRING argument.
const char* const kNotify = "00 00 00 15  03  00 00 00 01  fc 03  f0 80 00  04 \"echo\" 01 00 08 02 \"hi\"";
// HAPROXY-DISCONNECT, status 2 "timeout".
const char* const kHaproxyDisconnect =
    "00 00 00 26  02  00 00 00 01  00 00  0b \"status-code\" 03 02  07 \"message\" 08 07 \"timeout\"";

SplitResult split_all(const ByteVec& bytes, std::uint32_t max = kDefaultMaxFrameSize) {
  return split_frame(view(bytes), max);
}

}  // namespace

TEST_CASE("the brief's health-check probe splits into one HAPROXY-HELLO", "[frame]") {
  const ByteVec probe = hex(kBriefProbe);
  REQUIRE(probe.size() == 82);
  const SplitResult r = split_all(probe);
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.consumed == 82);
  CHECK(r.frame.type == FrameType::HaproxyHello);
  CHECK(r.frame.flags == kFlagFin);
  CHECK(r.frame.fin());
  CHECK_FALSE(r.frame.abort());
  CHECK(r.frame.stream_id == 0);
  CHECK(r.frame.frame_id == 0);
  CHECK(r.frame.payload.size() == 78 - 7);
  CHECK(r.frame.payload.data() == probe.data() + 11);  // a view, not a copy
}

TEST_CASE("a NOTIFY frame yields its multi-byte ids and payload", "[frame]") {
  const ByteVec bytes = hex(kNotify);
  const SplitResult r = split_all(bytes);
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.frame.type == FrameType::Notify);
  CHECK(r.frame.stream_id == 300);
  CHECK(r.frame.frame_id == 2288);
  CHECK(to_hex(r.frame.payload) == to_hex(hex("04 \"echo\" 01 00 08 02 \"hi\"")));
  CHECK(r.consumed == bytes.size());
}

TEST_CASE("a HAPROXY-DISCONNECT frame splits with its KV list", "[frame]") {
  const SplitResult r = split_all(hex(kHaproxyDisconnect));
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.frame.type == FrameType::HaproxyDisconnect);
  CHECK(r.frame.payload.size() == 0x26 - 7);
}

TEST_CASE("an UNSET fragment and a frame without FIN are split; refusing them is the caller's job",
          "[frame]") {
  const SplitResult unset = split_all(hex("00 00 00 08  00  00 00 00 01  01 01  00"));
  REQUIRE(unset.kind == SplitKind::Frame);
  CHECK(unset.frame.type == FrameType::Unset);
  const SplitResult nofin = split_all(hex("00 00 00 07  03  00 00 00 00  01 01"));
  REQUIRE(nofin.kind == SplitKind::Frame);
  CHECK_FALSE(nofin.frame.fin());
  const SplitResult aborted = split_all(hex("00 00 00 07  03  00 00 00 03  01 01"));
  REQUIRE(aborted.kind == SplitKind::Frame);
  CHECK(aborted.frame.abort());
}

TEST_CASE("two frames back to back are split one at a time", "[frame]") {
  const ByteVec stream = concat({hex(kBriefProbe), hex(kNotify)});
  const SplitResult first = split_all(stream);
  REQUIRE(first.kind == SplitKind::Frame);
  CHECK(first.frame.type == FrameType::HaproxyHello);
  const SplitResult second = split_frame(view(stream).subspan(first.consumed), kDefaultMaxFrameSize);
  REQUIRE(second.kind == SplitKind::Frame);
  CHECK(second.frame.type == FrameType::Notify);
  CHECK(first.consumed + second.consumed == stream.size());
}

TEST_CASE("a valid frame cut at any byte asks for more and reads nothing beyond", "[frame]") {
  const char* spec = GENERATE(as<const char*>{}, kBriefProbe.data(), kNotify, kHaproxyDisconnect);
  const ByteVec full = hex(spec);
  for (std::size_t cut = 0; cut < full.size(); ++cut) {
    INFO("cut at " << cut);
    ExactCopy copy(full, cut);
    const SplitResult r = split_frame(copy.view(), kDefaultMaxFrameSize);
    CHECK(r.kind == SplitKind::NeedMore);
    CHECK(r.consumed == 0);
  }
}

TEST_CASE("frames arriving in chunks of any size reassemble to the same frames", "[frame]") {
  const std::size_t chunk = GENERATE(1, 2, 3, 4, 5, 7, 11, 64, 4096);
  const ByteVec stream = concat({hex(kBriefProbe), hex(kNotify), hex(kNotify), hex(kHaproxyDisconnect)});
  // Plays the connection's role: append what "arrived", split what is complete, shift the rest.
  ByteVec buffer;
  std::vector<FrameType> types;
  std::vector<std::uint64_t> stream_ids;
  for (std::size_t at = 0; at < stream.size(); at += chunk) {
    const std::size_t n = std::min(chunk, stream.size() - at);
    buffer.insert(buffer.end(), stream.begin() + static_cast<long>(at), stream.begin() + static_cast<long>(at + n));
    for (;;) {
      ExactCopy copy(buffer, buffer.size());
      const SplitResult r = split_frame(copy.view(), kDefaultMaxFrameSize);
      REQUIRE(r.kind != SplitKind::Error);
      if (r.kind == SplitKind::NeedMore) break;
      types.push_back(r.frame.type);
      stream_ids.push_back(r.frame.stream_id);
      buffer.erase(buffer.begin(), buffer.begin() + static_cast<long>(r.consumed));
    }
  }
  CHECK(buffer.empty());
  CHECK(types == std::vector<FrameType>{FrameType::HaproxyHello, FrameType::Notify, FrameType::Notify,
                                        FrameType::HaproxyDisconnect});
  CHECK(stream_ids == std::vector<std::uint64_t>{0, 300, 300, 0});
}

TEST_CASE("a length above max-frame-size is TooBig from the 4 length bytes alone", "[frame]") {
  // The length alone decides, so a hostile peer cannot make us wait for (or buffer) 4 GB.
  const char* len = GENERATE("00 00 3f fd", "00 01 00 00", "ff ff ff ff");
  const SplitResult r = split_all(hex(len), 16380);
  REQUIRE(r.kind == SplitKind::Error);
  CHECK(r.error == Status::TooBig);
  CHECK_FALSE(r.detail.empty());
}

TEST_CASE("a length exactly at max-frame-size is legal", "[frame]") {
  const SplitResult waiting = split_all(hex("00 00 01 00  03 00 00 00 01"), 256);
  CHECK(waiting.kind == SplitKind::NeedMore);
  ByteVec body = hex("03 00 00 00 01 00 00");
  body.resize(256, 0x00);  // pad the payload with unnamed-message bytes: splitting does not care
  const SplitResult r = split_all(with_length(body), 256);
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.consumed == 260);
}

TEST_CASE("a length below the 7-byte minimum header is Invalid", "[frame]") {
  const int len = GENERATE(range(0, 7));
  ByteVec bytes{0, 0, 0, static_cast<std::uint8_t>(len)};
  bytes.resize(4 + 16, 0x03);  // plenty of bytes behind it: the length alone is wrong
  const SplitResult r = split_all(bytes);
  REQUIRE(r.kind == SplitKind::Error);
  CHECK(r.error == Status::Invalid);
}

TEST_CASE("frame types HAProxy never sends are Invalid", "[frame]") {
  const int type = GENERATE(4, 5, 100, 101, 102, 103, 104, 200, 255);
  ByteVec body = hex("00  00 00 00 01  00 00");
  body[0] = static_cast<std::uint8_t>(type);
  const SplitResult r = split_all(with_length(body));
  REQUIRE(r.kind == SplitKind::Error);
  CHECK(r.error == Status::Invalid);
  CHECK(r.detail == "unknown frame type");
}

TEST_CASE("a malformed stream-id or frame-id is Invalid", "[frame]") {
  const char* spec = GENERATE(
      // stream-id varint never ends within the frame (overlong)
      "00 00 00 11  03  00 00 00 01  ff ff ff ff ff ff ff ff ff ff ff 00",
      // stream-id varint cut by the frame end, although more bytes follow in the stream
      "00 00 00 07  03  00 00 00 01  f0 80  00 00 00 00",
      // frame-id cut by the frame end
      "00 00 00 07  03  00 00 00 01  00 f0  00 00",
      // frame-id overflows 64 bits
      "00 00 00 10  03  00 00 00 01  00  ff f0 fe fe fe fe fe fe fe 0f");
  INFO(spec);
  const SplitResult r = split_all(hex(spec));
  REQUIRE(r.kind == SplitKind::Error);
  CHECK(r.error == Status::Invalid);
  CHECK((r.detail == "malformed stream-id" || r.detail == "malformed frame-id"));
}

TEST_CASE("ids up to 2^64-1 are accepted in frame headers", "[frame]") {
  const ByteVec bytes = hex("00 00 00 19  03  00 00 00 01  ff f0 fe fe fe fe fe fe fe 0e  ff f0 fe fe fe fe fe fe fe 0e");
  const SplitResult r = split_all(bytes);
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.frame.stream_id == 18446744073709551615ull);
  CHECK(r.frame.frame_id == 18446744073709551615ull);
  CHECK(r.frame.payload.empty());
}

TEST_CASE("begin_frame and finish_frame write the brief's empty ACK", "[frame]") {
  std::uint8_t buf[64];
  ByteWriter w(buf);
  const std::size_t at = begin_frame(w, FrameType::Ack, 5, 1);
  REQUIRE(finish_frame(w, at, kDefaultMaxFrameSize));
  CHECK(to_hex(w.written()) == to_hex(hex(kBriefEmptyAck)));
}

TEST_CASE("finish_frame refuses a body above the limit and a writer that overflowed", "[frame]") {
  std::uint8_t buf[32];
  ByteWriter w(buf);
  const std::size_t at = begin_frame(w, FrameType::Ack, 5, 1);
  w.put_bytes("12345678", 8);  // body is now 7 + 8 = 15 bytes
  CHECK_FALSE(finish_frame(w, at, 14));
  CHECK(finish_frame(w, at, 15));

  std::uint8_t tiny[8];
  ByteWriter small(tiny);
  const std::size_t at2 = begin_frame(small, FrameType::Ack, 5, 1);
  CHECK_FALSE(finish_frame(small, at2, kDefaultMaxFrameSize));
}

TEST_CASE("a frame written after another starts at the right offset", "[frame]") {
  std::uint8_t buf[64];
  ByteWriter w(buf);
  const std::size_t a = begin_frame(w, FrameType::Ack, 5, 1);
  REQUIRE(finish_frame(w, a, 100));
  const std::size_t b = begin_frame(w, FrameType::Ack, 5, 1);
  CHECK(b == 11);
  REQUIRE(finish_frame(w, b, 100));
  CHECK(to_hex(w.written()) == to_hex(concat({hex(kBriefEmptyAck), hex(kBriefEmptyAck)})));
}
