// Tests of NOTIFY decoding: several messages and arguments, and every kind of malformed list.
#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <vector>

#include "spop/frame.h"
#include "spop/notify.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::spop;
using namespace sticky::spop::testing;

namespace {

// Three messages, as one event's group: "check-client" with four arguments (one unnamed), "echo"
// with one, "ping" with none. Offsets of the message boundaries are in kBoundaries.
const char* const kMessages =
    "0c \"check-client\" 04"
    "   02 \"ip\" 06 c0 00 02 01"
    "   04 \"port\" 04 fc 03"
    "   00 08 05 \"hello\""
    "   03 \"tci\" 00"
    " 04 \"echo\" 01  03 \"arg\" 08 02 \"hi\""
    " 04 \"ping\" 00";
const std::size_t kBoundaries[] = {0, 43, 57, 63};

using Scratch = std::array<Arg, kMaxArgs>;

struct Decoded {
  std::vector<std::string> names;
  std::vector<std::size_t> arg_counts;
  DecodeStatus error = DecodeStatus::Ok;
};

Decoded read_all(Bytes payload) {
  Scratch scratch;
  MessageReader reader(payload);
  Message m;
  Decoded d;
  while (reader.next(m, scratch)) {
    d.names.emplace_back(m.name);
    d.arg_counts.push_back(m.args.size());
  }
  d.error = reader.error();
  return d;
}

DecodeStatus error_of(const char* spec) {
  const ByteVec bytes = hex(spec);
  ExactCopy copy(bytes, bytes.size());
  return read_all(copy.view()).error;
}

}  // namespace

TEST_CASE("a NOTIFY with several messages yields each with its arguments", "[notify]") {
  const ByteVec frame = with_length(concat({hex("03 00 00 00 01 05 01"), hex(kMessages)}));
  const SplitResult f = split_frame(view(frame), kDefaultMaxFrameSize);
  REQUIRE(f.kind == SplitKind::Frame);
  REQUIRE(f.frame.type == FrameType::Notify);

  Scratch scratch;
  MessageReader reader(f.frame.payload);
  Message m;
  REQUIRE(reader.next(m, scratch));
  CHECK(m.name == "check-client");
  REQUIRE(m.args.size() == 4);
  CHECK(m.args[0].name == "ip");
  CHECK(m.args[0].value.type == DataType::Ipv4);
  CHECK(m.args[0].value.bytes == std::string("\xc0\x00\x02\x01", 4));
  CHECK(m.args[1].value.as_int64() == 300);
  CHECK(m.args[2].name.empty());
  CHECK(m.args[2].value.bytes == "hello");
  CHECK(m.args[3].value.type == DataType::Null);
  REQUIRE(m.find("port") != nullptr);
  CHECK(m.find("port")->value.type == DataType::Int64);
  CHECK(m.find("missing") == nullptr);

  REQUIRE(reader.next(m, scratch));
  CHECK(m.name == "echo");
  REQUIRE(m.args.size() == 1);
  CHECK(m.args[0].value.bytes == "hi");

  REQUIRE(reader.next(m, scratch));
  CHECK(m.name == "ping");
  CHECK(m.args.empty());

  CHECK_FALSE(reader.next(m, scratch));
  CHECK(reader.error() == DecodeStatus::Ok);
}

TEST_CASE("an empty NOTIFY payload has no messages and no error", "[notify]") {
  const Decoded d = read_all(Bytes{});
  CHECK(d.names.empty());
  CHECK(d.error == DecodeStatus::Ok);
}

TEST_CASE("a message list cut at any byte ends cleanly only at a message boundary", "[notify]") {
  const ByteVec full = hex(kMessages);
  REQUIRE(full.size() == 63);
  for (std::size_t cut = 0; cut <= full.size(); ++cut) {
    INFO("cut at " << cut);
    ExactCopy copy(full, cut);
    const Decoded d = read_all(copy.view());
    const auto* at = std::find(std::begin(kBoundaries), std::end(kBoundaries), cut);
    if (at != std::end(kBoundaries)) {
      CHECK(d.error == DecodeStatus::Ok);
      CHECK(d.names.size() == static_cast<std::size_t>(at - std::begin(kBoundaries)));
    } else {
      CHECK(d.error == DecodeStatus::Truncated);
    }
  }
}

TEST_CASE("a message without its NB-ARGS byte is Truncated", "[notify]") {
  CHECK(error_of("04 \"echo\"") == DecodeStatus::Truncated);
}

TEST_CASE("NB-ARGS larger than the arguments present is Truncated", "[notify]") {
  CHECK(error_of("04 \"echo\" 03  01 \"a\" 00  01 \"b\" 00") == DecodeStatus::Truncated);
}

TEST_CASE("an argument of a reserved type is UnknownType", "[notify]") {
  CHECK(error_of("04 \"echo\" 01  01 \"a\" 0b 00") == DecodeStatus::UnknownType);
}

TEST_CASE("an overlong varint in an argument value or a name is BadVarint", "[notify]") {
  CHECK(error_of("04 \"echo\" 01  01 \"a\" 04 ff ff ff ff ff ff ff ff ff ff ff") == DecodeStatus::BadVarint);
  CHECK(error_of("ff ff ff ff ff ff ff ff ff ff ff \"echo\" 00") == DecodeStatus::BadVarint);
}

TEST_CASE("a string argument longer than the frame is Truncated", "[notify]") {
  CHECK(error_of("04 \"echo\" 01  01 \"a\" 08 f0 10 \"only a few bytes\"") == DecodeStatus::Truncated);
}

TEST_CASE("messages before a bad one are delivered, then the error sticks", "[notify]") {
  const ByteVec bytes = hex("04 \"ping\" 00  04 \"echo\" 01 01 \"a\" 0f");
  Scratch scratch;
  MessageReader reader(view(bytes));
  Message m;
  REQUIRE(reader.next(m, scratch));
  CHECK(m.name == "ping");
  CHECK_FALSE(reader.next(m, scratch));
  CHECK(reader.error() == DecodeStatus::UnknownType);
  CHECK_FALSE(reader.next(m, scratch));  // sticky: no resynchronisation on garbage
  CHECK(reader.error() == DecodeStatus::UnknownType);
}

TEST_CASE("a message with the maximum 255 arguments decodes", "[notify]") {
  ByteVec bytes = hex("04 \"many\" ff");
  for (int i = 0; i < 255; ++i) {
    bytes.push_back(0x00);                          // unnamed
    bytes.push_back(0x04);                          // INT64
    bytes.push_back(static_cast<std::uint8_t>(i % 200));
  }
  Scratch scratch;
  MessageReader reader(view(bytes));
  Message m;
  REQUIRE(reader.next(m, scratch));
  REQUIRE(m.args.size() == 255);
  CHECK(m.args[254].value.u == 254 % 200);
  CHECK_FALSE(reader.next(m, scratch));
  CHECK(reader.error() == DecodeStatus::Ok);
}

TEST_CASE("a scratch array smaller than NB-ARGS is refused, not overrun", "[notify]") {
  const ByteVec bytes = hex("04 \"echo\" 03  00 00  00 00  00 00");
  std::array<Arg, 2> small;
  MessageReader reader(view(bytes));
  Message m;
  CHECK_FALSE(reader.next(m, small));
  CHECK(reader.error() != DecodeStatus::Ok);
}
