// Tests of the reconnect backoff: exponential growth, cap, jitter range.
#include <catch2/catch.hpp>

#include "store/backoff.h"

using namespace sticky::store;

TEST_CASE("Backoff doubles per attempt within the equal-jitter band", "[backoff]") {
  BackoffPolicy p{100, 10000};
  CHECK(backoff_delay_ms(p, 0, 0.0) == 50);
  CHECK(backoff_delay_ms(p, 0, 0.999999) == 99);
  CHECK(backoff_delay_ms(p, 1, 0.0) == 100);
  CHECK(backoff_delay_ms(p, 3, 0.0) == 400);
  CHECK(backoff_delay_ms(p, 3, 0.5) == 600);
}

TEST_CASE("Backoff never exceeds the cap, even after very many attempts", "[backoff]") {
  BackoffPolicy p{50, 5000};
  for (std::uint32_t a : {7u, 20u, 64u, 1000u, 0xffffffffu}) {
    INFO("attempt " << a);
    CHECK(backoff_delay_ms(p, a, 1.0) <= 5000);
    CHECK(backoff_delay_ms(p, a, 0.0) == 2500);
  }
}

TEST_CASE("Backoff is never zero and tolerates out-of-range inputs", "[backoff]") {
  CHECK(backoff_delay_ms({1, 1}, 0, 0.0) >= 1);
  CHECK(backoff_delay_ms({0, 0}, 5, -3.0) >= 1);
  CHECK(backoff_delay_ms({10, 5}, 2, 7.0) == 10);  // max below base: base is the cap
}
