// Serial formula vectors, prime helpers, range messages, and uniformity/independence of the two serials.
#include <catch2/catch.hpp>

#include <initializer_list>
#include <string>
#include <vector>

#include "base/hash.h"
#include "hsaf/serial.h"
#include "hsaf/stable_hasher.h"
#include "hsaf/url_normalizer.h"
#include "hsaf_test_support.h"

using namespace sticky::hsaf;

TEST_CASE("serials of known inputs are pinned", "[serial]") {
  const SerialRange r1{100, 500}, r2{600, 1000}, wide{2, 2046};
  // Values from the independent Python reference of base/hash.h (see tests/unit/base/hash_test.cc).
  const auto s1 = [&](std::string_view in, const SerialRange& r) {
    return serial_of(sticky::stable_hash64(in, kSerialSeed1), r);
  };
  const auto s2 = [&](std::string_view in) { return serial_of(sticky::stable_hash64(in, kSerialSeed2), r2); };
  CHECK(s1("example.com/index.html", r1) == 137);
  CHECK(s2("example.com/index.html") == 822);
  CHECK(s1("example.com/index.html", wide) == 952);
  CHECK(s1("cdn.example.org/videos/intro.mp4", r1) == 188);
  CHECK(s2("cdn.example.org/videos/intro.mp4") == 672);
  CHECK(s1("www.example.com/a/b?x=1", r1) == 210);
  CHECK(s2("www.example.com/a/b?x=1") == 756);
}

TEST_CASE("serials stay inside the inclusive range, including its ends", "[serial]") {
  const SerialRange r{100, 500};
  CHECK(r.count() == 401);
  CHECK(serial_of(0, r) == 100);
  CHECK(serial_of(400, r) == 500);
  CHECK(serial_of(401, r) == 100);
  CHECK(serial_of(~0ULL, r) == 100 + (~0ULL % 401));
  CHECK(serial_of(12345, SerialRange{7, 7}) == 7);
}

TEST_CASE("prime helpers find the nearest primes", "[serial]") {
  CHECK(is_prime(2));
  CHECK(is_prime(401));
  CHECK(is_prime(65537));
  CHECK_FALSE(is_prime(1));
  CHECK_FALSE(is_prime(400));
  CHECK_FALSE(is_prime(65535));
  CHECK(prime_below(400) == 397);
  CHECK(prime_above(400) == 401);
  CHECK(prime_below(401) == 397);
  CHECK(prime_above(401) == 409);
  CHECK(prime_below(2) == 0);
  CHECK(prime_above(1) == 2);
}

TEST_CASE("range checks: errors for empty and oversized ranges, warnings for non-prime counts", "[serial]") {
  std::vector<std::string> errors, warnings;
  check_serial_range("serials", {100, 500}, errors, warnings);
  CHECK(errors.empty());
  CHECK(warnings.empty());

  check_serial_range("serials", {100, 499}, errors, warnings);
  CHECK(errors.empty());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0] ==
        "serials range 100..499 holds 400 serials, which is not prime (a prime count avoids sharing factors with "
        "the peer count); nearest primes: 397 below and 401 above");

  warnings.clear();
  check_serial_range("serials2", {500, 100}, errors, warnings);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "serials2 range 500..100 is empty: min is greater than max");
  CHECK(warnings.empty());

  errors.clear();
  check_serial_range("serials", {0, 10000}, errors, warnings);
  REQUIRE(errors.size() == 1);
  CHECK(errors[0] == "serials range 0..10000 holds 10001 serials; at most 8192 are supported");

  errors.clear();
  check_serial_range("serials", {5, 5}, errors, warnings);
  CHECK(errors.empty());
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("nearest primes: none below and 2 above") != std::string::npos);
}

TEST_CASE("serials of 1,000,000 URLs are uniform and the two serials are independent", "[serial][slow]") {
  const SerialRange r1{100, 500}, r2{600, 1000};
  const UrlNormalizer norm(UrlNormalization{});
  std::vector<std::uint32_t> c1(r1.count()), c2(r2.count()), joint(std::size_t{r1.count()} * r2.count());
  constexpr int kUrls = 1000000;
  std::string target;
  for (int i = 0; i < kUrls; ++i) {
    target = "/objects/" + std::to_string(i) + ".jpg";
    DualHasher h(kSerialSeed1, kSerialSeed2);
    norm.feed("cdn.example.com", target, h);
    const std::uint32_t a = serial_of(h.finish_first(), r1) - r1.min;
    const std::uint32_t b = serial_of(h.finish_second(), r2) - r2.min;
    ++c1[a];
    ++c2[b];
    ++joint[std::size_t{a} * r2.count() + b];
  }
  const auto chi2 = [](const std::vector<std::uint32_t>& counts, double expected) {
    double x = 0;
    for (std::uint32_t c : counts) x += (c - expected) * (c - expected) / expected;
    return x;
  };
  const double e1 = double(kUrls) / r1.count();
  const double e2 = double(kUrls) / r2.count();
  const double ej = double(kUrls) / double(joint.size());
  const double crit = testing::chi_square_critical_p001(r1.count() - 1);
  const double crit_joint = testing::chi_square_critical_p001(double(joint.size()) - 1);
  INFO("chi2 serial1=" << chi2(c1, e1) << " serial2=" << chi2(c2, e2) << " joint=" << chi2(joint, ej)
                       << " critical(400)=" << crit << " critical(joint)=" << crit_joint);
  CHECK(crit == Approx(493.1).epsilon(0.002));
  CHECK(chi2(c1, e1) < crit);
  CHECK(chi2(c2, e2) < crit);
  // Uniform joint buckets (s1, s2) means knowing s1 says nothing about s2.
  CHECK(chi2(joint, ej) < crit_joint);
}

TEST_CASE("the divide-free serial reduction equals the % formula", "[serial]") {
  const std::uint32_t max = GENERATE(0U, 1U, 400U, 2044U, 8191U, 65535U, 4000000000U);
  const SerialRange r{0, max};
  const SerialDivisor d(r);
  std::uint64_t x = 0x9e3779b97f4a7c15ULL;
  for (int i = 0; i < 100000; ++i) {
    x = sticky::fmix64(x + static_cast<std::uint64_t>(i));
    REQUIRE(d.mod(x) == serial_of(x, r) - r.min);
  }
  const std::uint64_t n = r.count();
  for (std::uint64_t edge : std::initializer_list<std::uint64_t>{0, 1, ~0ULL, ~0ULL - 1, n - 1, n})
    CHECK(d.mod(edge) == serial_of(edge, r));
}
