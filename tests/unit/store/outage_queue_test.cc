// Tests of the bounded outage queue: FIFO order, count and byte limits, oldest-first eviction, counters.
#include <catch2/catch.hpp>

#include <string>

#include "store/outage_queue.h"

using namespace sticky::store;

namespace {
QueuedWrite write_for(int i, std::size_t server_len = 2) {
  QueuedWrite w;
  w.kind = WriteKind::New;
  w.record.backend = "be";
  w.record.key = "k" + std::to_string(i);
  w.record.server = std::string(server_len, 's');
  return w;
}
}  // namespace

TEST_CASE("Queued writes come out in the order they went in", "[outage_queue]") {
  OutageQueue q({10, 1 << 20});
  for (int i = 0; i < 5; ++i) CHECK(q.push(write_for(i)) == 0);
  CHECK(q.size() == 5);
  for (int i = 0; i < 5; ++i) {
    auto w = q.pop_front();
    REQUIRE(w);
    CHECK(w->record.key == "k" + std::to_string(i));
  }
  CHECK_FALSE(q.pop_front());
  CHECK(q.bytes() == 0);
  CHECK(q.counters().pushed == 5);
  CHECK(q.counters().popped == 5);
}

TEST_CASE("A full queue drops its oldest writes first and counts them", "[outage_queue]") {
  OutageQueue q({3, 1 << 20});
  for (int i = 0; i < 5; ++i) q.push(write_for(i));
  CHECK(q.size() == 3);
  CHECK(q.counters().dropped_oldest == 2);
  CHECK(q.pop_front()->record.key == "k2");
}

TEST_CASE("The byte limit evicts as many old writes as the new one needs", "[outage_queue]") {
  const std::size_t small = OutageQueue::cost(write_for(0));
  OutageQueue q({100, 3 * small});
  for (int i = 0; i < 3; ++i) q.push(write_for(i));
  CHECK(q.bytes() == 3 * small);
  // A write with a longer server name costs more than one small slot: two old ones must go.
  QueuedWrite big = write_for(9, 2 + small / 2);
  CHECK(q.push(big) == 2);
  CHECK(q.size() == 2);
  CHECK(q.bytes() <= 3 * small);
  CHECK(q.pop_front()->record.key == "k2");
  CHECK(q.pop_front()->record.key == "k9");
}

TEST_CASE("A write larger than the whole byte budget is refused and counted", "[outage_queue]") {
  OutageQueue q({100, OutageQueue::cost(write_for(0, 1)) + 10});
  CHECK(q.push(write_for(0, 1)) == 0);
  CHECK(q.push(write_for(1, 1000)) == 1);
  CHECK(q.counters().dropped_too_big == 1);
  CHECK(q.size() == 1);  // the queued write survives a refused oversized one
  CHECK(q.pop_front()->record.key == "k0");
}

TEST_CASE("Clearing the queue counts what it discards", "[outage_queue]") {
  OutageQueue q({10, 1 << 20});
  q.push(write_for(0));
  q.push(write_for(1));
  CHECK(q.clear() == 2);
  CHECK(q.empty());
  CHECK(q.bytes() == 0);
  CHECK(q.counters().dropped_cleared == 2);
}
