// Tests of DISCONNECT frames: the agent's exact bytes and parsing HAProxy's reason.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "spop/disconnect.h"
#include "spop/frame.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

// Body of a HAPROXY-DISCONNECT: status 2 "timeout"; items end at offsets 14 and 31.
const char* const kTimeoutPayload = "0b \"status-code\" 03 02  07 \"message\" 08 07 \"timeout\"";

}  // namespace

TEST_CASE("AGENT-DISCONNECT status 0 \"normal\" matches the brief's bytes", "[disconnect]") {
  std::uint8_t buf[128];
  ByteWriter w(buf);
  REQUIRE(write_agent_disconnect(w, Status::Normal, "normal", kMinFrameSize));
  CHECK(to_hex(w.written()) == to_hex(hex(kBriefAgentDisconnect)));
}

TEST_CASE("AGENT-DISCONNECT carries the status code and message", "[disconnect]") {
  std::uint8_t buf[128];
  ByteWriter w(buf);
  REQUIRE(write_agent_disconnect(w, Status::TooBig, "frame is too big", kMinFrameSize));
  CHECK(to_hex(w.written()) ==
        to_hex(hex("00 00 00 2f  66  00 00 00 01  00 00  0b \"status-code\" 03 03"
                   "  07 \"message\" 08 10 \"frame is too big\"")));
}

TEST_CASE("an AGENT-DISCONNECT message is cut to 255 bytes", "[disconnect]") {
  const std::string long_message(400, 'm');
  std::vector<std::uint8_t> buf(1024);
  ByteWriter w(buf);
  REQUIRE(write_agent_disconnect(w, Status::Invalid, long_message, kDefaultMaxFrameSize));
  // Skip length, type, flags and ids (11 bytes): the payload parses back.
  DisconnectInfo info;
  REQUIRE(parse_disconnect(w.written().subspan(11), info));
  CHECK(info.status_code == 4);
  CHECK(info.message == long_message.substr(0, 255));
}

TEST_CASE("AGENT-DISCONNECT refuses to exceed the frame size", "[disconnect]") {
  const std::string message(255, 'm');
  std::vector<std::uint8_t> buf(1024);
  ByteWriter w(buf);
  CHECK_FALSE(write_agent_disconnect(w, Status::Invalid, message, 256));
}

TEST_CASE("HAPROXY-DISCONNECT status and message are parsed", "[disconnect]") {
  const ByteVec payload = hex(kTimeoutPayload);
  DisconnectInfo info;
  REQUIRE(parse_disconnect(view(payload), info));
  CHECK(info.status_code == 2);
  CHECK(info.message == "timeout");
}

TEST_CASE("HAPROXY-DISCONNECT with an empty list is status 0", "[disconnect]") {
  DisconnectInfo info;
  info.status_code = 77;
  REQUIRE(parse_disconnect(Bytes{}, info));
  CHECK(info.status_code == 0);
  CHECK(info.message.empty());
}

TEST_CASE("unknown keys and wrongly typed values in HAPROXY-DISCONNECT are ignored", "[disconnect]") {
  const ByteVec payload =
      hex("05 \"extra\" 11  0b \"status-code\" 08 01 \"9\"  07 \"message\" 04 05");
  DisconnectInfo info;
  REQUIRE(parse_disconnect(view(payload), info));
  CHECK(info.status_code == 0);
  CHECK(info.message.empty());
}

TEST_CASE("a malformed HAPROXY-DISCONNECT is refused", "[disconnect]") {
  const char* spec = GENERATE("0b \"status-code\"", "0b \"status-code\" 0c", "0b \"status-code\" 04 ff ff ff ff ff ff ff ff ff ff ff",
                              "30 \"x\"");
  INFO(spec);
  const ByteVec payload = hex(spec);
  ExactCopy copy(payload, payload.size());
  DisconnectInfo info;
  CHECK_FALSE(parse_disconnect(copy.view(), info));
}

TEST_CASE("a HAPROXY-DISCONNECT cut at any byte parses only at an item boundary", "[disconnect]") {
  const ByteVec full = hex(kTimeoutPayload);
  REQUIRE(full.size() == 31);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    INFO("cut at " << cut);
    ExactCopy copy(full, cut);
    DisconnectInfo info;
    const bool boundary = cut == 0 || cut == 14 || cut == 31;
    CHECK(parse_disconnect(copy.view(), info) == boundary);
  }
}

TEST_CASE("a whole HAPROXY-DISCONNECT frame splits and parses", "[disconnect]") {
  const ByteVec frame = with_length(concat({hex("02 00 00 00 01 00 00"), hex(kTimeoutPayload)}));
  const SplitResult r = split_frame(view(frame), kDefaultMaxFrameSize);
  REQUIRE(r.kind == SplitKind::Frame);
  CHECK(r.frame.type == FrameType::HaproxyDisconnect);
  DisconnectInfo info;
  REQUIRE(parse_disconnect(r.frame.payload, info));
  CHECK(info.status_code == 2);
}

TEST_CASE("every status code has its own reason text", "[disconnect]") {
  std::set<std::string_view> reasons;
  const Status all[] = {Status::Normal, Status::Io, Status::Timeout, Status::TooBig, Status::Invalid,
                        Status::NoVersion, Status::NoFrameSize, Status::NoCapabilities, Status::BadVersion,
                        Status::BadFrameSize, Status::FragNotSupported, Status::InterlacedFrames,
                        Status::FrameIdNotFound, Status::Resource, Status::Unknown};
  for (Status s : all) {
    CHECK_FALSE(status_reason(s).empty());
    reasons.insert(status_reason(s));
  }
  CHECK(reasons.size() == std::size(all));
  CHECK(static_cast<int>(Status::FragNotSupported) == 10);
  CHECK(static_cast<int>(Status::Unknown) == 99);
}
