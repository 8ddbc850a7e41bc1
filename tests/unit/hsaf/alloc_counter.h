// Count of heap allocations made by this test binary (global operator new is replaced in alloc_counter.cc).
#pragma once

#include <cstdint>

namespace sticky::hsaf::testing {

// AddressSanitizer owns operator new in sanitizer builds (replacing it there mixes allocators),
// so allocations are only counted in ordinary builds; tests that need the count say so and stop.
#if defined(__SANITIZE_ADDRESS__)
#define STICKY_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define STICKY_TEST_ASAN 1
#endif
#endif
#ifndef STICKY_TEST_ASAN
#define STICKY_TEST_ASAN 0
#endif
inline constexpr bool kCountingAllocations = !STICKY_TEST_ASAN;

std::uint64_t allocation_count();
}  // namespace sticky::hsaf::testing
