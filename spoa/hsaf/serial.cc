// Range checks and the prime helpers behind the "count should be prime" warning.
#include "hsaf/serial.h"

namespace sticky::hsaf {

bool is_prime(std::uint32_t n) {
  if (n < 2) return false;
  if (n % 2 == 0) return n == 2;
  for (std::uint64_t d = 3; d * d <= n; d += 2)
    if (n % d == 0) return false;
  return true;
}

std::uint32_t prime_below(std::uint32_t n) {
  for (std::uint32_t c = n; c > 2;) {
    --c;
    if (is_prime(c)) return c;
  }
  return 0;
}

std::uint32_t prime_above(std::uint32_t n) {
  for (std::uint64_t c = std::uint64_t{n} + 1;; ++c)
    if (c > 0xffffffffULL || is_prime(static_cast<std::uint32_t>(c))) return static_cast<std::uint32_t>(c);
}

void check_serial_range(std::string_view what, const SerialRange& r, std::vector<std::string>& errors,
                        std::vector<std::string>& warnings) {
  const std::string name(what);
  const std::string text = std::to_string(r.min) + ".." + std::to_string(r.max);
  if (r.max < r.min) {
    errors.push_back(name + " range " + text + " is empty: min is greater than max");
    return;
  }
  const std::uint64_t count = std::uint64_t{r.max} - r.min + 1;
  if (count > kMaxSerialCount) {
    errors.push_back(name + " range " + text + " holds " + std::to_string(count) + " serials; at most " +
                     std::to_string(kMaxSerialCount) + " are supported");
    return;
  }
  const auto n = static_cast<std::uint32_t>(count);
  if (!is_prime(n)) {
    const std::uint32_t below = prime_below(n);
    std::string msg = name + " range " + text + " holds " + std::to_string(n) +
                      " serials, which is not prime (a prime count avoids sharing factors with the "
                      "peer count); nearest primes: ";
    msg += below ? std::to_string(below) + " below" : std::string("none below");
    msg += " and " + std::to_string(prime_above(n)) + " above";
    warnings.push_back(std::move(msg));
  }
}

}  // namespace sticky::hsaf
