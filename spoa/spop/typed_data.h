// SPOP typed data: one value as it travels in KV lists, message arguments and set-var actions.
// Strings, binaries and addresses are views into the frame they were decoded from: they are
// valid only while that frame's bytes are.
#pragma once

#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "spop/wire.h"

namespace sticky::spop {

struct TypedValue {
  DataType type = DataType::Null;
  bool b = false;            // Bool
  std::uint64_t u = 0;       // Int32/Int64 hold the two's complement bits; Uint32/Uint64 the value
  std::string_view bytes;    // String/Binary content, or the 4/16 raw bytes of Ipv4/Ipv6

  static TypedValue null() { return {}; }
  static TypedValue boolean(bool v) { return {DataType::Bool, v, 0, {}}; }
  static TypedValue int64(std::int64_t v) {
    return {DataType::Int64, false, static_cast<std::uint64_t>(v), {}};
  }
  static TypedValue uint32(std::uint32_t v) { return {DataType::Uint32, false, v, {}}; }
  static TypedValue string(std::string_view s) { return {DataType::String, false, 0, s}; }
  static TypedValue binary(std::string_view s) { return {DataType::Binary, false, 0, s}; }
  static TypedValue ipv4(std::string_view raw4) { return {DataType::Ipv4, false, 0, raw4}; }
  static TypedValue ipv6(std::string_view raw16) { return {DataType::Ipv6, false, 0, raw16}; }

  bool is_integer() const {
    return type == DataType::Int32 || type == DataType::Uint32 || type == DataType::Int64 ||
           type == DataType::Uint64;
  }
  bool is_text() const { return type == DataType::String || type == DataType::Binary; }
  std::int64_t as_int64() const { return static_cast<std::int64_t>(u); }
};

enum class DecodeStatus : std::uint8_t {
  Ok,
  Truncated,     // a length or value runs past the end of its container
  BadVarint,     // an integer or length encoding longer than 64 bits
  UnknownType,   // a type id in the reserved range 10..15
};

std::string_view decode_status_name(DecodeStatus s);

// Decodes one typed value. On error the reader position is unspecified.
DecodeStatus take_typed(ByteReader& r, TypedValue& out);

// Decodes a bare length-prefixed name (KV keys, message, argument and variable names).
DecodeStatus take_name(ByteReader& r, std::string_view& out);

// Skips one typed value without materialising it.
inline DecodeStatus skip_typed(ByteReader& r) {
  TypedValue ignored;
  return take_typed(r, ignored);
}

void put_typed(ByteWriter& w, const TypedValue& v);
void put_name(ByteWriter& w, std::string_view name);

}  // namespace sticky::spop
