// Shared by the fuzz targets: an invariant a sanitizer cannot see is checked with FUZZ_CHECK, which
// aborts (so libFuzzer records the input, and the replay test fails) with the target and the rule.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace sticky::fuzz {

[[noreturn]] inline void invariant_broken(const char* file, int line, const char* what) {
  std::fprintf(stderr, "%s:%d: fuzz invariant broken: %s\n", file, line, what);
  std::abort();
}

}  // namespace sticky::fuzz

#define FUZZ_CHECK(cond, what) \
  do {                         \
    if (!(cond)) ::sticky::fuzz::invariant_broken(__FILE__, __LINE__, what); \
  } while (0)
