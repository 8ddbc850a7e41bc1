// Byte views and a bounded writer over a caller-owned buffer: the codec never allocates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <string_view>

namespace sticky {

using Bytes = std::span<const std::uint8_t>;

inline std::string_view as_chars(Bytes b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
inline Bytes as_bytes(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

// Copies n bytes. Most SPOP writes are names and values of 2 to 16 bytes: two overlapping
// fixed-size moves do those without the call and size dispatch of memcpy (profiled: 12 memcpy
// calls per ACK were 6% of the agent's instructions).
inline void copy_bytes(std::uint8_t* d, const std::uint8_t* s, std::size_t n) {
  if (n >= 8 && n <= 16) {
    std::uint64_t a, b;
    std::memcpy(&a, s, 8);
    std::memcpy(&b, s + n - 8, 8);
    std::memcpy(d, &a, 8);
    std::memcpy(d + n - 8, &b, 8);
  } else if (n >= 4 && n < 8) {
    std::uint32_t a, b;
    std::memcpy(&a, s, 4);
    std::memcpy(&b, s + n - 4, 4);
    std::memcpy(d, &a, 4);
    std::memcpy(d + n - 4, &b, 4);
  } else if (n > 16) {
    std::memcpy(d, s, n);
  } else if (n > 0) {  // 1 to 3 bytes
    d[0] = s[0];
    d[n / 2] = s[n / 2];
    d[n - 1] = s[n - 1];
  }
}

// Appends into a fixed span. Overflow is sticky: once a write does not fit, ok() stays false
// and nothing more is written, so callers check once at the end instead of after every put.
class ByteWriter {
 public:
  explicit ByteWriter(std::span<std::uint8_t> out) : out_(out) {}

  void put_u8(std::uint8_t v) {
    if (!reserve(1)) return;
    out_[pos_++] = v;
  }
  void put_u32_be(std::uint32_t v) {
    if (!reserve(4)) return;
    out_[pos_++] = static_cast<std::uint8_t>(v >> 24);
    out_[pos_++] = static_cast<std::uint8_t>(v >> 16);
    out_[pos_++] = static_cast<std::uint8_t>(v >> 8);
    out_[pos_++] = static_cast<std::uint8_t>(v);
  }
  void put_bytes(const void* p, std::size_t n) {
    if (!reserve(n)) return;
    copy_bytes(out_.data() + pos_, static_cast<const std::uint8_t*>(p), n);
    pos_ += n;
  }
  void put_bytes(std::string_view s) { put_bytes(s.data(), s.size()); }

  // Overwrites 4 bytes already written (used to back-fill a frame length).
  void patch_u32_be(std::size_t at, std::uint32_t v) {
    if (!ok_ || at + 4 > pos_) return;
    out_[at] = static_cast<std::uint8_t>(v >> 24);
    out_[at + 1] = static_cast<std::uint8_t>(v >> 16);
    out_[at + 2] = static_cast<std::uint8_t>(v >> 8);
    out_[at + 3] = static_cast<std::uint8_t>(v);
  }

  bool ok() const { return ok_; }
  std::size_t size() const { return pos_; }
  std::size_t remaining() const { return out_.size() - pos_; }
  std::span<std::uint8_t> written() const { return out_.first(pos_); }

 private:
  bool reserve(std::size_t n) {
    if (!ok_ || n > out_.size() - pos_) {
      ok_ = false;
      return false;
    }
    return true;
  }
  std::span<std::uint8_t> out_;
  std::size_t pos_ = 0;
  bool ok_ = true;
};

// Reads forward through a span; every read is bounds-checked by the caller through remaining().
class ByteReader {
 public:
  explicit ByteReader(Bytes in) : in_(in) {}
  std::size_t remaining() const { return in_.size() - pos_; }
  bool empty() const { return pos_ == in_.size(); }
  std::size_t position() const { return pos_; }
  std::uint8_t peek() const { return in_[pos_]; }
  std::uint8_t take_u8() { return in_[pos_++]; }
  std::uint32_t take_u32_be() {
    std::uint32_t v = (std::uint32_t{in_[pos_]} << 24) | (std::uint32_t{in_[pos_ + 1]} << 16) |
                      (std::uint32_t{in_[pos_ + 2]} << 8) | std::uint32_t{in_[pos_ + 3]};
    pos_ += 4;
    return v;
  }
  Bytes take(std::size_t n) {
    Bytes b = in_.subspan(pos_, n);
    pos_ += n;
    return b;
  }
  Bytes rest() const { return in_.subspan(pos_); }

 private:
  Bytes in_;
  std::size_t pos_ = 0;
};

}  // namespace sticky
