// Versioned msgpack encoding of one StickyRecord: the Redis value and the pub/sub message body.
//
// Format 1 is a msgpack map with short string keys, written in this order (decoding accepts any order
// and skips unknown keys, so a later format can add fields without breaking older agents):
//   "fv" uint  format version (1)     "b" str  backend         "t" uint kind
//   "k"  bin   key bytes              "s" str  server          "c" int  created ms
//   "l"  int   last seen ms           "e" int  expires ms      "o" str  origin node id
//   "n"  uint  record version
// The decoder is hand-written over ByteReader instead of libmsgpack's unpacker: that unpacker sizes its
// zone from the declared container length (a 5-byte input can ask for hundreds of megabytes), while
// this one never allocates beyond the record's own strings and rejects anything outside the schema.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string_view>

#include "base/bytes.h"
#include "store/sticky_record.h"

namespace sticky::store {

inline constexpr std::uint64_t kEntryFormatVersion = 1;
inline constexpr std::size_t kMaxBackendLen = 255;
inline constexpr std::size_t kMaxKeyLen = 255;
inline constexpr std::size_t kMaxServerLen = 255;
inline constexpr std::size_t kMaxOriginLen = 64;
inline constexpr std::size_t kMaxMapEntries = 32;  // room for later fields, small enough to bound work
inline constexpr std::size_t kMaxSkipDepth = 4;    // nesting allowed inside an unknown field's value
// Upper bound of encode()'s output for any record within the field limits above.
inline constexpr std::size_t kMaxEncodedSize = 128 + kMaxBackendLen + kMaxKeyLen + kMaxServerLen + kMaxOriginLen;

enum class CodecStatus : std::uint8_t {
  Ok = 0,
  Empty,              // zero bytes
  Truncated,          // input ends inside an item
  TrailingBytes,      // bytes after the top-level map
  NotAMap,            // top-level item is not a map
  TooManyFields,      // map has more than kMaxMapEntries entries
  BadFieldName,       // a map key is not a short string
  WrongType,          // a known field has the wrong msgpack type or is out of range
  DuplicateField,     // a known field appears twice
  MissingField,       // a required field is absent
  UnsupportedFormat,  // "fv" is not a format this build reads
  FieldTooLong,       // a string exceeds its limit (decode) or the record does (encode)
  TooDeep,            // an unknown field's value nests deeper than kMaxSkipDepth
  InvalidEncoding,    // a reserved msgpack type byte (0xc1)
  BufferTooSmall,     // encode: the output span cannot hold the record
};

std::string_view codec_status_name(CodecStatus s);

struct EncodeResult {
  CodecStatus status = CodecStatus::Ok;
  std::size_t size = 0;  // bytes written when status is Ok
};

// Writes the record into `out` (no allocation). Fails with FieldTooLong or BufferTooSmall.
EncodeResult encode(const StickyRecord& record, std::span<std::uint8_t> out);

struct DecodeResult {
  CodecStatus status = CodecStatus::Ok;
  StickyRecord record;  // meaningful only when status is Ok
};

// Parses exactly one record from `in`; any input gives a status, never a crash or a read past the end.
DecodeResult decode(Bytes in);

}  // namespace sticky::store
