// Versioned msgpack codec of StickyRecord: libmsgpack's packer to write, a bounded schema reader to read.
#include "store/entry_codec.h"

#include <msgpack.h>

#include <limits>

namespace sticky::store {

std::string_view codec_status_name(CodecStatus s) {
  switch (s) {
    case CodecStatus::Ok: return "ok";
    case CodecStatus::Empty: return "empty input";
    case CodecStatus::Truncated: return "truncated input";
    case CodecStatus::TrailingBytes: return "trailing bytes after the record";
    case CodecStatus::NotAMap: return "record is not a msgpack map";
    case CodecStatus::TooManyFields: return "too many fields";
    case CodecStatus::BadFieldName: return "field name is not a short string";
    case CodecStatus::WrongType: return "field has the wrong type or range";
    case CodecStatus::DuplicateField: return "duplicate field";
    case CodecStatus::MissingField: return "required field missing";
    case CodecStatus::UnsupportedFormat: return "unsupported format version";
    case CodecStatus::FieldTooLong: return "field too long";
    case CodecStatus::TooDeep: return "unknown field nests too deep";
    case CodecStatus::InvalidEncoding: return "invalid msgpack type byte";
    case CodecStatus::BufferTooSmall: return "output buffer too small";
  }
  return "unknown";
}

namespace {

int write_to_byte_writer(void* data, const char* buf, size_t len) {
  auto* w = static_cast<ByteWriter*>(data);
  w->put_bytes(buf, len);
  return w->ok() ? 0 : -1;
}

void pack_name(msgpack_packer* pk, std::string_view name) {
  msgpack_pack_str(pk, name.size());
  msgpack_pack_str_body(pk, name.data(), name.size());
}
void pack_str(msgpack_packer* pk, std::string_view name, std::string_view v) {
  pack_name(pk, name);
  msgpack_pack_str(pk, v.size());
  msgpack_pack_str_body(pk, v.data(), v.size());
}

// Field bits, in encode order; also used to detect duplicates and missing fields.
enum Field : std::uint32_t {
  kFv = 1u << 0, kBackend = 1u << 1, kKind = 1u << 2, kKey = 1u << 3, kServer = 1u << 4,
  kCreated = 1u << 5, kLastSeen = 1u << 6, kExpires = 1u << 7, kOrigin = 1u << 8, kVersion = 1u << 9,
};
constexpr std::uint32_t kAllFields = (1u << 10) - 1;
constexpr std::size_t kFieldCount = 10;

std::uint32_t field_of(std::string_view name) {
  if (name == "fv") return kFv;
  if (name == "b") return kBackend;
  if (name == "t") return kKind;
  if (name == "k") return kKey;
  if (name == "s") return kServer;
  if (name == "c") return kCreated;
  if (name == "l") return kLastSeen;
  if (name == "e") return kExpires;
  if (name == "o") return kOrigin;
  if (name == "n") return kVersion;
  return 0;
}

// Cursor over the input with a sticky status: the first failure wins and later reads return at once.
class Reader {
 public:
  explicit Reader(Bytes in) : r_(in) {}
  CodecStatus status() const { return status_; }
  bool ok() const { return status_ == CodecStatus::Ok; }
  bool empty() const { return r_.empty(); }
  void fail(CodecStatus s) {
    if (ok()) status_ = s;
  }

  bool need(std::size_t n) {
    if (!ok()) return false;
    if (r_.remaining() < n) {
      fail(CodecStatus::Truncated);
      return false;
    }
    return true;
  }
  std::uint8_t byte() { return need(1) ? r_.take_u8() : 0; }
  std::uint64_t be(std::size_t n) {
    if (!need(n)) return 0;
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | r_.take_u8();
    return v;
  }
  std::string_view bytes(std::uint64_t n) {
    if (!need(0) || n > r_.remaining()) {
      fail(CodecStatus::Truncated);
      return {};
    }
    return as_chars(r_.take(static_cast<std::size_t>(n)));
  }

  // Map header -> entry count; anything else is NotAMap.
  std::uint64_t map_header() {
    std::uint8_t t = byte();
    if (!ok()) return 0;
    if (t >= 0x80 && t <= 0x8f) return t & 0x0fu;
    if (t == 0xde) return be(2);
    if (t == 0xdf) return be(4);
    fail(CodecStatus::NotAMap);
    return 0;
  }

  // A str (and, when allow_bin, a bin) value; other types are WrongType.
  std::string_view string(bool allow_bin, std::size_t max_len) {
    std::uint8_t t = byte();
    if (!ok()) return {};
    std::uint64_t n = 0;
    if (t >= 0xa0 && t <= 0xbf) n = t & 0x1fu;
    else if (t == 0xd9 || (allow_bin && t == 0xc4)) n = be(1);
    else if (t == 0xda || (allow_bin && t == 0xc5)) n = be(2);
    else if (t == 0xdb || (allow_bin && t == 0xc6)) n = be(4);
    else {
      fail(CodecStatus::WrongType);
      return {};
    }
    if (ok() && n > max_len) {
      fail(CodecStatus::FieldTooLong);
      return {};
    }
    return bytes(n);
  }

  // Any msgpack integer, reported as magnitude + sign so both int64 and uint64 fields can check range.
  bool integer(std::uint64_t& magnitude, bool& negative) {
    std::uint8_t t = byte();
    if (!ok()) return false;
    negative = false;
    if (t <= 0x7f) { magnitude = t; return true; }
    if (t >= 0xe0) { negative = true; magnitude = 256u - t; return true; }
    std::int64_t s = 0;
    switch (t) {
      case 0xcc: magnitude = be(1); return ok();
      case 0xcd: magnitude = be(2); return ok();
      case 0xce: magnitude = be(4); return ok();
      case 0xcf: magnitude = be(8); return ok();
      case 0xd0: s = static_cast<std::int8_t>(be(1)); break;
      case 0xd1: s = static_cast<std::int16_t>(be(2)); break;
      case 0xd2: s = static_cast<std::int32_t>(be(4)); break;
      case 0xd3: s = static_cast<std::int64_t>(be(8)); break;
      default: fail(CodecStatus::WrongType); return false;
    }
    if (!ok()) return false;
    negative = s < 0;
    // Two's complement negation done in unsigned arithmetic so INT64_MIN does not overflow.
    magnitude = negative ? (~static_cast<std::uint64_t>(s) + 1u) : static_cast<std::uint64_t>(s);
    return true;
  }
  std::uint64_t unsigned_value() {
    std::uint64_t m = 0;
    bool neg = false;
    if (!integer(m, neg)) return 0;
    if (neg) fail(CodecStatus::WrongType);
    return m;
  }
  std::int64_t signed_value() {
    std::uint64_t m = 0;
    bool neg = false;
    if (!integer(m, neg)) return 0;
    constexpr std::uint64_t kMaxPos = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (!neg) {
      if (m > kMaxPos) fail(CodecStatus::WrongType);
      return ok() ? static_cast<std::int64_t>(m) : 0;
    }
    if (m > kMaxPos + 1) fail(CodecStatus::WrongType);
    if (!ok()) return 0;
    return m == kMaxPos + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(m);
  }

  // Skips one item of any type (an unknown field's value). Containers may nest kMaxSkipDepth deep;
  // a declared element count larger than the bytes left is Truncated before any work is done.
  void skip(std::size_t depth) {
    std::uint8_t t = byte();
    if (!ok()) return;
    if (t <= 0x7f || t >= 0xe0 || t == 0xc0 || t == 0xc2 || t == 0xc3) return;
    if (t == 0xc1) return fail(CodecStatus::InvalidEncoding);
    if (t >= 0xa0 && t <= 0xbf) { bytes(t & 0x1fu); return; }
    std::uint64_t items = 0;  // container elements to skip (map entries count twice)
    switch (t) {
      case 0xc4: case 0xd9: bytes(be(1)); return;
      case 0xc5: case 0xda: bytes(be(2)); return;
      case 0xc6: case 0xdb: bytes(be(4)); return;
      case 0xc7: bytes(be(1) + 1); return;
      case 0xc8: bytes(be(2) + 1); return;
      case 0xc9: bytes(be(4) + 1); return;
      case 0xca: bytes(4); return;
      case 0xcb: bytes(8); return;
      case 0xcc: case 0xd0: bytes(1); return;
      case 0xcd: case 0xd1: bytes(2); return;
      case 0xce: case 0xd2: bytes(4); return;
      case 0xcf: case 0xd3: bytes(8); return;
      case 0xd4: bytes(2); return;
      case 0xd5: bytes(3); return;
      case 0xd6: bytes(5); return;
      case 0xd7: bytes(9); return;
      case 0xd8: bytes(17); return;
      case 0xdc: items = be(2); break;
      case 0xdd: items = be(4); break;
      case 0xde: items = be(2) * 2; break;
      case 0xdf: items = be(4) * 2; break;
      default:
        if (t >= 0x80 && t <= 0x8f) items = (t & 0x0fu) * 2u;
        else items = t & 0x0fu;  // fixarray 0x90..0x9f
        break;
    }
    if (!ok()) return;
    if (depth >= kMaxSkipDepth) return fail(CodecStatus::TooDeep);
    if (items > r_.remaining()) return fail(CodecStatus::Truncated);
    for (std::uint64_t i = 0; i < items && ok(); ++i) skip(depth + 1);
  }

 private:
  ByteReader r_;
  CodecStatus status_ = CodecStatus::Ok;
};

}  // namespace

EncodeResult encode(const StickyRecord& rec, std::span<std::uint8_t> out) {
  if (rec.backend.size() > kMaxBackendLen || rec.key.size() > kMaxKeyLen ||
      rec.server.size() > kMaxServerLen || rec.origin.size() > kMaxOriginLen) {
    return {CodecStatus::FieldTooLong, 0};
  }
  ByteWriter w(out);
  msgpack_packer pk;
  msgpack_packer_init(&pk, &w, &write_to_byte_writer);
  msgpack_pack_map(&pk, kFieldCount);
  pack_name(&pk, "fv");
  msgpack_pack_uint64(&pk, kEntryFormatVersion);
  pack_str(&pk, "b", rec.backend);
  pack_name(&pk, "t");
  msgpack_pack_uint8(&pk, rec.kind);
  pack_name(&pk, "k");
  msgpack_pack_bin(&pk, rec.key.size());
  msgpack_pack_bin_body(&pk, rec.key.data(), rec.key.size());
  pack_str(&pk, "s", rec.server);
  pack_name(&pk, "c");
  msgpack_pack_int64(&pk, rec.created_ms);
  pack_name(&pk, "l");
  msgpack_pack_int64(&pk, rec.last_seen_ms);
  pack_name(&pk, "e");
  msgpack_pack_int64(&pk, rec.expires_ms);
  pack_str(&pk, "o", rec.origin);
  pack_name(&pk, "n");
  msgpack_pack_uint64(&pk, rec.version);
  if (!w.ok()) return {CodecStatus::BufferTooSmall, 0};
  return {CodecStatus::Ok, w.size()};
}

DecodeResult decode(Bytes in) {
  DecodeResult res;
  if (in.empty()) {
    res.status = CodecStatus::Empty;
    return res;
  }
  Reader r(in);
  std::uint64_t entries = r.map_header();
  if (r.ok() && entries > kMaxMapEntries) r.fail(CodecStatus::TooManyFields);
  std::uint32_t seen = 0;
  StickyRecord& rec = res.record;
  for (std::uint64_t i = 0; i < entries && r.ok(); ++i) {
    std::uint8_t t = r.byte();
    if (!r.ok()) break;
    if (t < 0xa0 || t > 0xbf) {  // field names are fixstr (at most 31 bytes)
      r.fail(CodecStatus::BadFieldName);
      break;
    }
    std::string_view name = r.bytes(t & 0x1fu);
    std::uint32_t f = field_of(name);
    if (f != 0 && (seen & f)) r.fail(CodecStatus::DuplicateField);
    if (!r.ok()) break;
    seen |= f;
    switch (f) {
      case kFv:
        if (r.unsigned_value() != kEntryFormatVersion && r.ok()) r.fail(CodecStatus::UnsupportedFormat);
        break;
      case kBackend: rec.backend = r.string(false, kMaxBackendLen); break;
      case kKind: {
        std::uint64_t k = r.unsigned_value();
        if (r.ok() && k > 0xff) r.fail(CodecStatus::WrongType);
        rec.kind = static_cast<std::uint8_t>(k);
        break;
      }
      case kKey: rec.key = r.string(true, kMaxKeyLen); break;
      case kServer: rec.server = r.string(false, kMaxServerLen); break;
      case kCreated: rec.created_ms = r.signed_value(); break;
      case kLastSeen: rec.last_seen_ms = r.signed_value(); break;
      case kExpires: rec.expires_ms = r.signed_value(); break;
      case kOrigin: rec.origin = r.string(false, kMaxOriginLen); break;
      case kVersion: rec.version = r.unsigned_value(); break;
      default: r.skip(0); break;  // a field from a later format: ignored on purpose
    }
  }
  if (r.ok() && !r.empty()) r.fail(CodecStatus::TrailingBytes);
  if (r.ok() && seen != kAllFields) r.fail(CodecStatus::MissingField);
  res.status = r.status();
  if (res.status != CodecStatus::Ok) res.record = StickyRecord{};
  return res;
}

}  // namespace sticky::store
