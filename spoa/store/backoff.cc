// Exponential backoff with equal jitter.
#include "store/backoff.h"

#include <algorithm>

namespace sticky::store {

std::int64_t backoff_delay_ms(const BackoffPolicy& policy, std::uint32_t attempt, double unit_random) {
  std::int64_t base = std::max<std::int64_t>(1, policy.base_ms);
  std::int64_t cap = std::max(base, policy.max_ms);
  std::int64_t ceiling = base;
  for (std::uint32_t i = 0; i < attempt && ceiling < cap; ++i) ceiling *= 2;  // no shift overflow
  ceiling = std::min(ceiling, cap);
  double r = std::clamp(unit_random, 0.0, 1.0);
  std::int64_t half = ceiling / 2;
  return std::max<std::int64_t>(1, half + static_cast<std::int64_t>(r * static_cast<double>(ceiling - half)));
}

}  // namespace sticky::store
