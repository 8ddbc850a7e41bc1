// Bounded oldest-first-dropped queue of pending Redis writes.
#include "store/outage_queue.h"

#include <utility>

namespace sticky::store {

std::size_t OutageQueue::cost(const QueuedWrite& w) {
  constexpr std::size_t kEntryOverhead = sizeof(QueuedWrite);
  const StickyRecord& r = w.record;
  return kEntryOverhead + r.backend.size() + r.key.size() + r.server.size() + r.origin.size();
}

std::size_t OutageQueue::push(QueuedWrite w) {
  std::size_t c = cost(w);
  if (c > limits_.max_bytes || limits_.max_items == 0) {
    ++counters_.dropped_too_big;
    return 1;
  }
  std::size_t evicted = 0;
  while (!items_.empty() && (items_.size() + 1 > limits_.max_items || bytes_ + c > limits_.max_bytes)) {
    bytes_ -= cost(items_.front());
    items_.pop_front();
    ++evicted;
  }
  counters_.dropped_oldest += evicted;
  bytes_ += c;
  items_.push_back(std::move(w));
  ++counters_.pushed;
  return evicted;
}

std::optional<QueuedWrite> OutageQueue::pop_front() {
  if (items_.empty()) return std::nullopt;
  QueuedWrite w = std::move(items_.front());
  items_.pop_front();
  bytes_ -= cost(w);
  ++counters_.popped;
  return w;
}

std::size_t OutageQueue::clear() {
  std::size_t n = items_.size();
  counters_.dropped_cleared += n;
  items_.clear();
  bytes_ = 0;
  return n;
}

}  // namespace sticky::store
