// Bounded FIFO of Redis writes that could not be sent (Redis down, or the write failed in flight).
// Bounded by item count and by bytes; when full the oldest writes are dropped first and counted,
// because a newer write for a client is worth more than an older one. Pure: no I/O, no clock.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>

#include "store/sticky_record.h"

namespace sticky::store {

enum class WriteKind : std::uint8_t {
  New = 0,      // SET NX: first pin of a client; on_conflict reports another node's winner
  Move = 1,     // SET: server changed (down/drain), caller already bumped the version
  Refresh = 2,  // PEXPIRE: extend the TTL only
};

using ConflictFn = std::function<void(const StickyRecord& winner)>;

struct QueuedWrite {
  WriteKind kind = WriteKind::New;
  StickyRecord record;
  ConflictFn on_conflict;  // only for New; may be empty
};

struct OutageQueueLimits {
  std::size_t max_items = 10000;
  std::size_t max_bytes = 4u << 20;
  bool operator==(const OutageQueueLimits&) const = default;
};

struct OutageQueueCounters {
  std::uint64_t pushed = 0;
  std::uint64_t popped = 0;
  std::uint64_t dropped_oldest = 0;   // evicted to make room for a newer write
  std::uint64_t dropped_too_big = 0;  // a single write larger than max_bytes (never queued)
  std::uint64_t dropped_cleared = 0;  // discarded by clear() (client stopped)
};

class OutageQueue {
 public:
  explicit OutageQueue(OutageQueueLimits limits) : limits_(limits) {}

  // Appends `w`, evicting the oldest entries until both limits hold. Returns how many were evicted
  // (plus one if `w` itself can never fit).
  std::size_t push(QueuedWrite w);
  std::optional<QueuedWrite> pop_front();
  std::size_t clear();  // drops everything (counted); returns how many

  bool empty() const { return items_.empty(); }
  std::size_t size() const { return items_.size(); }
  std::size_t bytes() const { return bytes_; }
  const OutageQueueCounters& counters() const { return counters_; }

  // Accounted size: the record's variable bytes plus a fixed per-entry overhead.
  static std::size_t cost(const QueuedWrite& w);

 private:
  OutageQueueLimits limits_;
  std::deque<QueuedWrite> items_;
  std::size_t bytes_ = 0;
  OutageQueueCounters counters_;
};

}  // namespace sticky::store
