// Decoding and encoding of SPOP typed data and bare names, bounds-checked against the frame end.
#include "spop/typed_data.h"

#include "spop/varint.h"

namespace sticky::spop {

std::string_view decode_status_name(DecodeStatus s) {
  switch (s) {
    case DecodeStatus::Ok: return "ok";
    case DecodeStatus::Truncated: return "value runs past the end of the frame";
    case DecodeStatus::BadVarint: return "malformed variable-length integer";
    case DecodeStatus::UnknownType: return "unknown data type";
  }
  return "?";
}

static DecodeStatus from_varint(VarintStatus s) {
  return s == VarintStatus::Truncated ? DecodeStatus::Truncated : DecodeStatus::BadVarint;
}

DecodeStatus take_name(ByteReader& r, std::string_view& out) {
  std::uint64_t len = 0;
  if (auto s = take_varint(r, len); s != VarintStatus::Ok) return from_varint(s);
  if (len > r.remaining()) return DecodeStatus::Truncated;
  out = as_chars(r.take(static_cast<std::size_t>(len)));
  return DecodeStatus::Ok;
}

DecodeStatus take_typed(ByteReader& r, TypedValue& out) {
  if (r.empty()) return DecodeStatus::Truncated;
  const std::uint8_t tb = r.take_u8();
  const std::uint8_t id = tb & kDataTypeMask;
  out = TypedValue{};
  switch (id) {
    case static_cast<std::uint8_t>(DataType::Null):
      out.type = DataType::Null;
      return DecodeStatus::Ok;
    case static_cast<std::uint8_t>(DataType::Bool):
      out.type = DataType::Bool;
      out.b = (tb & kDataFlagTrue) != 0;
      return DecodeStatus::Ok;
    case static_cast<std::uint8_t>(DataType::Int32):
    case static_cast<std::uint8_t>(DataType::Uint32):
    case static_cast<std::uint8_t>(DataType::Int64):
    case static_cast<std::uint8_t>(DataType::Uint64): {
      out.type = static_cast<DataType>(id);
      if (auto s = take_varint(r, out.u); s != VarintStatus::Ok) return from_varint(s);
      return DecodeStatus::Ok;
    }
    case static_cast<std::uint8_t>(DataType::Ipv4):
    case static_cast<std::uint8_t>(DataType::Ipv6): {
      const std::size_t n = id == static_cast<std::uint8_t>(DataType::Ipv4) ? 4 : 16;
      if (r.remaining() < n) return DecodeStatus::Truncated;
      out.type = static_cast<DataType>(id);
      out.bytes = as_chars(r.take(n));
      return DecodeStatus::Ok;
    }
    case static_cast<std::uint8_t>(DataType::String):
    case static_cast<std::uint8_t>(DataType::Binary): {
      out.type = static_cast<DataType>(id);
      return take_name(r, out.bytes);
    }
    default:
      return DecodeStatus::UnknownType;
  }
}

void put_name(ByteWriter& w, std::string_view name) {
  put_varint(w, name.size());
  w.put_bytes(name);
}

void put_typed(ByteWriter& w, const TypedValue& v) {
  switch (v.type) {
    case DataType::Null:
      w.put_u8(0);
      return;
    case DataType::Bool:
      w.put_u8(static_cast<std::uint8_t>(DataType::Bool) | (v.b ? kDataFlagTrue : 0));
      return;
    case DataType::Int32:
    case DataType::Uint32:
    case DataType::Int64:
    case DataType::Uint64:
      w.put_u8(static_cast<std::uint8_t>(v.type));
      put_varint(w, v.u);
      return;
    case DataType::Ipv4:
    case DataType::Ipv6:
      w.put_u8(static_cast<std::uint8_t>(v.type));
      w.put_bytes(v.bytes);
      return;
    case DataType::String:
    case DataType::Binary:
      w.put_u8(static_cast<std::uint8_t>(v.type));
      put_name(w, v.bytes);
      return;
  }
}

}  // namespace sticky::spop
