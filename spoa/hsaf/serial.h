// Serial ranges and the serial formula: serial = min + H(input) mod count, H = sticky::stable_hash64.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace sticky::hsaf {

// The seeds of the two independent serial hashes. Changing either re-buckets every URL on every node,
// so they are part of the wire contract and pinned by tests ("HSAF" + set number).
inline constexpr std::uint64_t kSerialSeed1 = 0x4853414600000001ULL;
inline constexpr std::uint64_t kSerialSeed2 = 0x4853414600000002ULL;

// Upper bound on serials per range: the assignment build costs count x peers pairs.
inline constexpr std::uint32_t kMaxSerialCount = 8192;

// Inclusive range min..max (100..500 holds 401 serials).
struct SerialRange {
  std::uint32_t min = 0;
  std::uint32_t max = 0;

  std::uint32_t count() const { return max - min + 1; }  // valid ranges only
  bool contains(std::uint32_t s) const { return s >= min && s <= max; }
  bool overlaps(const SerialRange& o) const { return min <= o.max && o.min <= max; }
};

inline std::uint32_t serial_of(std::uint64_t hash, const SerialRange& r) {
  return r.min + static_cast<std::uint32_t>(hash % r.count());
}

// hash % count without a hardware divide (Barrett reduction, one correction step); equal to `%` for
// every 64-bit hash and any count in 1..2^32-1, which tests check against serial_of().
class SerialDivisor {
 public:
  explicit SerialDivisor(const SerialRange& r)
      : d_(r.max >= r.min ? r.count() : 1), m_(~std::uint64_t{0} / d_) {}
  std::uint32_t mod(std::uint64_t h) const {
    __extension__ using U128 = unsigned __int128;
    const auto q = static_cast<std::uint64_t>((static_cast<U128>(h) * m_) >> 64);
    std::uint64_t r = h - q * d_;
    if (r >= d_) r -= d_;
    return static_cast<std::uint32_t>(r);
  }
  std::uint32_t divisor() const { return d_; }

 private:
  std::uint32_t d_;
  std::uint64_t m_;
};

bool is_prime(std::uint32_t n);
// Largest prime < n (0 when none) and smallest prime > n.
std::uint32_t prime_below(std::uint32_t n);
std::uint32_t prime_above(std::uint32_t n);

// Appends errors (inverted, too large) and warnings (count not prime, naming the nearest primes)
// for one range; `what` names it in the messages, e.g. "serials" or "parent.serials2".
void check_serial_range(std::string_view what, const SerialRange& r, std::vector<std::string>& errors,
                        std::vector<std::string>& warnings);

}  // namespace sticky::hsaf
