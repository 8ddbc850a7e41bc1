// Reconnect delay: exponential growth capped at a maximum, with "equal jitter" so that many agents
// losing the same Redis do not reconnect in lock-step. Pure: the random draw is an argument.
#pragma once

#include <cstdint>

namespace sticky::store {

struct BackoffPolicy {
  std::int64_t base_ms = 50;   // ceiling of the first attempt's delay
  std::int64_t max_ms = 5000;  // ceiling of any attempt's delay
  bool operator==(const BackoffPolicy&) const = default;
};

// attempt 0 is the first retry. unit_random is in [0, 1). The result lies in [ceiling/2, ceiling] where
// ceiling = min(max_ms, base_ms * 2^attempt), so it is never 0 and never above max_ms.
std::int64_t backoff_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt, double unit_random);

}  // namespace sticky::store
