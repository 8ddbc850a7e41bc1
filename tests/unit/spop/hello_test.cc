// Tests of the handshake: parsing HAPROXY-HELLO, negotiate() and the AGENT-HELLO bytes.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <string>

#include "spop/frame.h"
#include "spop/hello.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

// KV-list payload of a normal 2.6 HELLO: comma list with a space, the legacy capabilities and a
// per-thread engine id.
const char* const kNormalHelloPayload =
    "12 \"supported-versions\" 08 03 \"2.0\""
    " 0e \"max-frame-size\" 03 fc f0 06"
    " 0c \"capabilities\" 08 10 \"pipelining,async\""
    " 09 \"engine-id\" 08 24 \"8a1c4b2e-3f5d-4e6a-9b7c-0d1e2f3a4b5c\"";

HaproxyHello hello_with(std::string_view versions, std::uint64_t max_frame_size) {
  HaproxyHello h;
  h.supported_versions = versions;
  h.has_versions = true;
  h.max_frame_size = max_frame_size;
  h.has_max_frame_size = true;
  h.capabilities = "pipelining";
  h.has_capabilities = true;
  return h;
}

}  // namespace

TEST_CASE("the health-check probe parses as a healthcheck without engine-id", "[hello]") {
  const ByteVec probe = hex(kBriefProbe);
  const SplitResult f = split_frame(view(probe), kDefaultMaxFrameSize);
  REQUIRE(f.kind == SplitKind::Frame);
  HaproxyHello h;
  const HelloResult res = parse_haproxy_hello(f.frame.payload, h);
  REQUIRE(res.status == Status::Normal);
  CHECK(h.has_versions);
  CHECK(h.supported_versions == "2.0");
  CHECK(h.has_max_frame_size);
  CHECK(h.max_frame_size == 16380);
  CHECK(h.capabilities.empty());
  CHECK(h.has_capabilities);  // an empty list, present: the probe passes negotiate()
  CHECK(h.engine_id.empty());
  CHECK(h.healthcheck);
}

TEST_CASE("a normal HELLO yields versions, size, capabilities and engine-id", "[hello]") {
  const ByteVec payload = hex(kNormalHelloPayload);
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(view(payload), h).status == Status::Normal);
  CHECK(h.supported_versions == "2.0");
  CHECK(h.max_frame_size == 16380);
  CHECK(h.capabilities == "pipelining,async");
  CHECK(h.engine_id == "8a1c4b2e-3f5d-4e6a-9b7c-0d1e2f3a4b5c");
  CHECK_FALSE(h.healthcheck);
  Negotiated n;
  REQUIRE(negotiate(h, kDefaultMaxFrameSize, n).status == Status::Normal);
  CHECK(n.max_frame_size == 16380);
  CHECK(n.pipelining);
}

TEST_CASE("unknown keys are skipped whatever their type", "[hello]") {
  const ByteVec payload = concat({hex("05 \"extra\" 07 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01"
                                      " 03 \"big\" 04 ff f0 fe fe fe fe fe fe fe 0e 01 \"n\" 00"),
                                  hex(kNormalHelloPayload), hex("03 \"bin\" 09 02 00 01")});
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(view(payload), h).status == Status::Normal);
  CHECK(h.supported_versions == "2.0");
  CHECK(h.engine_id.size() == 36);
}

TEST_CASE("a known key with the wrong type does not count as present", "[hello]") {
  const ByteVec payload = hex("12 \"supported-versions\" 03 02 0e \"max-frame-size\" 08 05 \"16380\"");
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(view(payload), h).status == Status::Normal);
  CHECK_FALSE(h.has_versions);
  CHECK_FALSE(h.has_max_frame_size);
}

TEST_CASE("max-frame-size is accepted in any integer type", "[hello]") {
  const char* type = GENERATE("02", "03", "04", "05");
  const ByteVec payload =
      concat({hex("12 \"supported-versions\" 08 03 \"2.0\" 0e \"max-frame-size\""), hex(type), hex("f0 01")});
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(view(payload), h).status == Status::Normal);
  CHECK(h.max_frame_size == 256);
}

TEST_CASE("a malformed KV list is Invalid", "[hello]") {
  const char* spec = GENERATE("12 \"supported-versions\"",              // key without a value
                              "12 \"supported-versions\" 0a 00",        // unknown data type
                              "12 \"supported-versions\" 08 09 \"2.0\"",  // string length lies
                              "ff ff ff ff ff ff ff ff ff ff ff",        // overlong key length
                              "20 \"short\"");                           // key length lies
  INFO(spec);
  const ByteVec payload = hex(spec);
  HaproxyHello h;
  const HelloResult res = parse_haproxy_hello(view(payload), h);
  CHECK(res.status == Status::Invalid);
  CHECK_FALSE(res.detail.empty());
}

TEST_CASE("a HELLO payload cut at any byte is Normal at a KV boundary and Invalid elsewhere",
          "[hello]") {
  const ByteVec full = hex(kNormalHelloPayload);
  // KV boundaries of kNormalHelloPayload: after each of its four items.
  const std::size_t boundaries[] = {0, 24, 43, 74, 122};
  REQUIRE(full.size() == 122);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    INFO("cut at " << cut);
    ExactCopy copy(full, cut);
    HaproxyHello h;
    const HelloResult res = parse_haproxy_hello(copy.view(), h);
    const bool at_boundary = std::find(std::begin(boundaries), std::end(boundaries), cut) != std::end(boundaries);
    CHECK(res.status == (at_boundary ? Status::Normal : Status::Invalid));
  }
}

TEST_CASE("negotiate accepts 2.0 anywhere in a comma list with spaces", "[hello]") {
  const char* versions = GENERATE("2.0", " 2.0 ", "1.0, 2.0", "2.0,3.0", "1.0 ,\t2.0\t, 9.9");
  INFO(versions);
  Negotiated n;
  CHECK(negotiate(hello_with(versions, 16380), kDefaultMaxFrameSize, n).status == Status::Normal);
}

TEST_CASE("negotiate refuses a missing version list with status 5", "[hello]") {
  HaproxyHello h = hello_with("2.0", 16380);
  h.has_versions = false;
  h.has_max_frame_size = false;  // the version is checked first
  Negotiated n;
  const HelloResult res = negotiate(h, kDefaultMaxFrameSize, n);
  CHECK(res.status == Status::NoVersion);
  CHECK(static_cast<int>(res.status) == 5);
}

TEST_CASE("negotiate refuses versions other than 2.0 with status 8", "[hello]") {
  const char* versions = GENERATE("1.0", "", "2.00", "2", "3.0, 2.1", "2.0.1", "12.0");
  INFO(versions);
  Negotiated n;
  const HelloResult res = negotiate(hello_with(versions, 16380), kDefaultMaxFrameSize, n);
  CHECK(res.status == Status::BadVersion);
  CHECK(static_cast<int>(res.status) == 8);
}

TEST_CASE("negotiate refuses a missing max-frame-size with status 6", "[hello]") {
  HaproxyHello h = hello_with("2.0", 16380);
  h.has_max_frame_size = false;
  Negotiated n;
  CHECK(static_cast<int>(negotiate(h, kDefaultMaxFrameSize, n).status) == 6);
}

TEST_CASE("negotiate refuses a max-frame-size below 256 with status 9", "[hello]") {
  const std::uint64_t offer = GENERATE(0u, 1u, 100u, 255u);
  Negotiated n;
  CHECK(static_cast<int>(negotiate(hello_with("2.0", offer), kDefaultMaxFrameSize, n).status) == 9);
}

TEST_CASE("negotiate refuses a HELLO without capabilities with status 7", "[hello]") {
  // Mandatory in SPOE.txt 3.2.4, and every HAProxy (2.6 to 3.x, health checks included) sends it.
  const ByteVec payload = hex("12 \"supported-versions\" 08 03 \"2.0\" 0e \"max-frame-size\" 03 fc f0 06");
  HaproxyHello h;
  REQUIRE(parse_haproxy_hello(view(payload), h).status == Status::Normal);
  CHECK_FALSE(h.has_capabilities);
  Negotiated n;
  CHECK(static_cast<int>(negotiate(h, kDefaultMaxFrameSize, n).status) == 7);
  // Of another type it is not a capabilities list either.
  const ByteVec typed = concat({payload, hex("0c \"capabilities\" 03 01")});
  REQUIRE(parse_haproxy_hello(view(typed), h).status == Status::Normal);
  CHECK(static_cast<int>(negotiate(h, kDefaultMaxFrameSize, n).status) == 7);
  // An empty list is a list.
  const ByteVec empty = concat({payload, hex("0c \"capabilities\" 08 00")});
  REQUIRE(parse_haproxy_hello(view(empty), h).status == Status::Normal);
  CHECK(negotiate(h, kDefaultMaxFrameSize, n).status == Status::Normal);
}

TEST_CASE("negotiate never goes above HAProxy's offer nor below the floor", "[hello]") {
  struct Case {
    std::uint64_t offer;
    std::uint32_t mine;
    std::uint32_t agreed;
  };
  const Case c = GENERATE(Case{256, 16380, 256}, Case{1000, 16380, 1000}, Case{16380, 16380, 16380},
                          Case{100000, 16380, 16380}, Case{std::uint64_t{1} << 40, 16380, 16380},
                          Case{16380, 100, 256}, Case{16380, 0, 256}, Case{16380, 4096, 4096});
  INFO("offer " << c.offer << " mine " << c.mine);
  Negotiated n;
  REQUIRE(negotiate(hello_with("2.0", c.offer), c.mine, n).status == Status::Normal);
  CHECK(n.max_frame_size == c.agreed);
  CHECK(n.max_frame_size <= c.offer);
}

TEST_CASE("pipelining is on only when HAProxy lists it", "[hello]") {
  HaproxyHello h = hello_with("2.0", 16380);
  Negotiated n;
  h.capabilities = "async, pipelining";
  REQUIRE(negotiate(h, kDefaultMaxFrameSize, n).status == Status::Normal);
  CHECK(n.pipelining);
  h.capabilities = "";
  Negotiated n2;
  REQUIRE(negotiate(h, kDefaultMaxFrameSize, n2).status == Status::Normal);
  CHECK_FALSE(n2.pipelining);
  h.capabilities = "pipelining-ish,async";
  Negotiated n3;
  REQUIRE(negotiate(h, kDefaultMaxFrameSize, n3).status == Status::Normal);
  CHECK_FALSE(n3.pipelining);
}

TEST_CASE("list_contains matches whole trimmed entries only", "[hello]") {
  CHECK(list_contains("a,b,c", "b"));
  CHECK(list_contains(" a , b ", "b"));
  CHECK(list_contains("b", "b"));
  CHECK(list_contains("a,,b", "b"));
  CHECK_FALSE(list_contains("ab,c", "b"));
  CHECK_FALSE(list_contains("", "b"));
  CHECK_FALSE(list_contains(",", "b"));
  CHECK_FALSE(list_contains("a b", "b"));
}

TEST_CASE("AGENT-HELLO for the probe matches the brief's bytes exactly", "[hello]") {
  Negotiated n;
  n.max_frame_size = 16380;
  std::uint8_t buf[256];
  ByteWriter w(buf);
  REQUIRE(write_agent_hello(w, n));
  CHECK(to_hex(w.written()) == to_hex(hex(kBriefAgentHello)));
}

TEST_CASE("AGENT-HELLO carries the negotiated size and fits the protocol floor", "[hello]") {
  Negotiated n;
  n.max_frame_size = 256;
  std::uint8_t buf[300];
  ByteWriter w(buf);
  REQUIRE(write_agent_hello(w, n));
  CHECK(to_hex(w.written()).find(to_hex(hex("0e \"max-frame-size\" 03 f0 01"))) != std::string::npos);
  CHECK(w.size() == 4 + 0x3f);  // one byte shorter than the brief's: 256 takes a 2-byte varint
}

TEST_CASE("AGENT-HELLO into a too-small buffer fails without overflowing it", "[hello]") {
  Negotiated n;
  std::uint8_t buf[40];
  ByteWriter w(buf);
  CHECK_FALSE(write_agent_hello(w, n));
}
