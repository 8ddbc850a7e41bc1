// Reading the messages of a NOTIFY frame. Each message is decoded and validated in one pass
// into a caller-provided argument array, so handlers get random access without allocation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/bytes.h"
#include "spop/typed_data.h"

namespace sticky::spop {

struct Arg {
  std::string_view name;  // empty for unnamed arguments
  TypedValue value;
};

// A message has at most 255 arguments: NB-ARGS is one byte on the wire.
inline constexpr std::size_t kMaxArgs = 255;

struct Message {
  std::string_view name;
  std::span<const Arg> args;

  // First argument with this name, or nullptr.
  const Arg* find(std::string_view arg_name) const {
    for (const Arg& a : args)
      if (a.name == arg_name) return &a;
    return nullptr;
  }
};

// Iterates the LIST-OF-MESSAGES of a NOTIFY payload (it runs to the end: there is no count).
class MessageReader {
 public:
  explicit MessageReader(Bytes payload) : r_(payload) {}

  // Decodes the next message into `out`, its arguments into `scratch` (which must hold
  // kMaxArgs). Returns false at the end or on error; error() tells which.
  bool next(Message& out, std::span<Arg> scratch);
  DecodeStatus error() const { return error_; }

 private:
  ByteReader r_;
  DecodeStatus error_ = DecodeStatus::Ok;
};

}  // namespace sticky::spop
