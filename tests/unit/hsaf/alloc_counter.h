// Count of heap allocations made by this test binary (global operator new is replaced in alloc_counter.cc).
#pragma once

#include <cstdint>

namespace sticky::hsaf::testing {
std::uint64_t allocation_count();
}  // namespace sticky::hsaf::testing
