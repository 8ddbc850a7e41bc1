// Tests of ActionList: copying values into its arena, capacity limits and the dropped() count.
#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "model/action_list.h"
#include "wire_bytes.h"

using namespace sticky;
using namespace sticky::model;
using namespace sticky::spop::testing;

TEST_CASE("set_string copies the value so the source may die", "[action_list]") {
  ActionList list;
  std::string source = "s2";
  REQUIRE(list.set_string("srv", source));
  source = "XX";
  REQUIRE(list.items().size() == 1);
  CHECK(list.items()[0].value.bytes == "s2");
  CHECK(list.items()[0].scope == spop::VarScope::Txn);
  CHECK(list.items()[0].type == spop::ActionType::SetVar);
}

TEST_CASE("an action list encodes to the brief's ACK", "[action_list]") {
  ActionList list;
  REQUIRE(list.set_string("srv", "s2"));
  std::uint8_t buf[64];
  ByteWriter w(buf);
  REQUIRE(spop::write_ack(w, 5, 1, list.items(), spop::kDefaultMaxFrameSize));
  CHECK(to_hex(w.written()) == to_hex(hex(kBriefAck)));
}

TEST_CASE("the 25th action is dropped and counted", "[action_list]") {
  ActionList list;
  for (std::size_t i = 0; i < ActionList::kMaxActions; ++i) REQUIRE(list.set_int("n", static_cast<std::int64_t>(i)));
  CHECK(list.dropped() == 0);
  CHECK_FALSE(list.set_int("n", 99));
  CHECK_FALSE(list.unset_var(spop::VarScope::Txn, "n"));
  CHECK_FALSE(list.set_string("s", "x"));
  CHECK(list.dropped() == 3);
  CHECK(list.items().size() == ActionList::kMaxActions);
  CHECK(list.items().back().value.as_int64() == static_cast<std::int64_t>(ActionList::kMaxActions - 1));
}

TEST_CASE("a value filling the arena exactly fits; one more byte is dropped", "[action_list]") {
  ActionList list;
  const std::string full(ActionList::kArenaBytes, 'a');
  REQUIRE(list.set_string("big", full));
  CHECK_FALSE(list.set_string("one", "b"));
  CHECK(list.dropped() == 1);
  // Values without bytes need no arena space.
  CHECK(list.set_int("n", 7));
  CHECK(list.unset_var(spop::VarScope::Sess, "u"));
  CHECK(list.items().size() == 3);
  CHECK(list.items()[0].value.bytes == full);
}

TEST_CASE("a value larger than the whole arena is dropped, not truncated", "[action_list]") {
  ActionList list;
  const std::string huge(ActionList::kArenaBytes + 1, 'a');
  CHECK_FALSE(list.set_string("huge", huge));
  CHECK(list.dropped() == 1);
  CHECK(list.empty());
}

TEST_CASE("values share the arena until it is used up", "[action_list]") {
  ActionList list;
  const std::string part(ActionList::kArenaBytes / 4, 'p');
  for (int i = 0; i < 4; ++i) REQUIRE(list.set_string("p", part));
  CHECK_FALSE(list.set_string("p", "x"));
  CHECK(list.dropped() == 1);
  for (const spop::Action& a : list.items()) CHECK(a.value.bytes == part);
}

TEST_CASE("clear() empties the list, the arena and the drop count", "[action_list]") {
  ActionList list;
  const std::string full(ActionList::kArenaBytes, 'a');
  REQUIRE(list.set_string("big", full));
  CHECK_FALSE(list.set_string("more", "x"));
  list.clear();
  CHECK(list.empty());
  CHECK(list.dropped() == 0);
  CHECK(list.set_string("again", full));
}

TEST_CASE("set_var keeps scope and raw address bytes", "[action_list]") {
  ActionList list;
  std::string addr("\x0a\x00\x00\x01", 4);
  REQUIRE(list.set_var(spop::VarScope::Req, "ip", spop::TypedValue::ipv4(addr)));
  addr[3] = 9;
  CHECK(list.items()[0].scope == spop::VarScope::Req);
  CHECK(list.items()[0].value.bytes == std::string("\x0a\x00\x00\x01", 4));
}
