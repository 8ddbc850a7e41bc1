// Fuzz entry point: what arrives from Redis -- a msgpack StickyRecord as a GET/SCAN value or a
// pub/sub message body (both go through store::decode), and the key names built from records.
// Checked: a record that decodes re-encodes within kMaxEncodedSize and decodes to the same record;
// a record built from the input's bytes (within the field limits) encodes and round-trips; its
// Redis key ends `<cluster>:<backend>:<kind>:<lower-case hex key>`.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "base/bytes.h"
#include "fuzz_check.h"
#include "store/entry_codec.h"
#include "store/redis_key.h"

using namespace sticky;
using namespace sticky::store;

namespace {

void check_round_trip(const StickyRecord& rec, const char* what) {
  std::uint8_t buf[kMaxEncodedSize];
  const EncodeResult e = encode(rec, buf);
  FUZZ_CHECK(e.status == CodecStatus::Ok, what);
  FUZZ_CHECK(e.size <= kMaxEncodedSize, "encoded record above kMaxEncodedSize");
  const DecodeResult d = decode(Bytes(buf, e.size));
  FUZZ_CHECK(d.status == CodecStatus::Ok, "an encoded record does not decode");
  FUZZ_CHECK(d.record == rec, "an encoded record decodes to another record");
}

bool is_lower_hex(std::string_view s) {
  for (char c : s)
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  return true;
}

void check_key(const StickyRecord& rec) {
  const std::string key = redis_key_of("fuzz", rec);
  // Whatever namespace prefix comes first, the key ends with its four segments.
  const std::string segments = "fuzz:" + rec.backend + ":" + std::to_string(rec.kind) + ":";
  const std::size_t hex_len = 2 * rec.key.size();
  FUZZ_CHECK(key.size() >= segments.size() + hex_len, "key shorter than its segments");
  const std::string_view hex = std::string_view(key).substr(key.size() - hex_len);
  FUZZ_CHECK(std::string_view(key).substr(key.size() - hex_len - segments.size(), segments.size()) == segments,
             "key does not carry cluster, backend and kind");
  FUZZ_CHECK(is_lower_hex(hex), "key bytes are not lower-case hex");
  std::string reused = "previous content that must go";
  make_redis_key(reused, "fuzz", rec.backend, rec.kind, rec.key);
  FUZZ_CHECK(reused == key, "make_redis_key and redis_key_of disagree");
}

// Pieces of the input: a length byte then that many bytes (capped at what is left).
std::string_view take_piece(ByteReader& r, std::size_t limit) {
  if (r.empty()) return {};
  std::size_t n = r.take_u8();
  n = std::min({n, r.remaining(), limit});
  const Bytes b = r.take(n);
  return as_chars(b);
}

std::int64_t take_i64(ByteReader& r) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8 && !r.empty(); ++i) v = v << 8 | r.take_u8();
  return static_cast<std::int64_t>(v);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const Bytes in(data, size);
  const DecodeResult d = decode(in);
  if (d.status == CodecStatus::Ok) {
    check_round_trip(d.record, "a decoded record does not re-encode");
    check_key(d.record);
  }
  (void)valid_cluster_name(as_chars(in));

  // The other direction: a record from the input's bytes.
  ByteReader r(in);
  StickyRecord rec;
  rec.backend = take_piece(r, kMaxBackendLen);
  rec.kind = r.empty() ? 0 : r.take_u8();
  rec.key = take_piece(r, kMaxKeyLen);
  rec.server = take_piece(r, kMaxServerLen);
  rec.origin = take_piece(r, kMaxOriginLen);
  rec.created_ms = take_i64(r);
  rec.last_seen_ms = take_i64(r);
  rec.expires_ms = take_i64(r);
  rec.version = static_cast<std::uint64_t>(take_i64(r));
  check_round_trip(rec, "a record within the limits does not encode");
  check_key(rec);
  return 0;
}
