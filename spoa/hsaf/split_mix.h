// A tiny seedable generator (SplitMix64) for the per-request region coin; callers own and seed it.
#pragma once

#include <cstdint>

namespace sticky::hsaf {

// Not for secrets: it only spreads first hops evenly. Seeded per worker (or per test) by the caller.
class SplitMix64 {
 public:
  explicit constexpr SplitMix64(std::uint64_t seed) : state_(seed) {}
  constexpr std::uint64_t next() {
    std::uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

 private:
  std::uint64_t state_;
};

}  // namespace sticky::hsaf
