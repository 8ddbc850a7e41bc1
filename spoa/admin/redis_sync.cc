// hiredis' blocking API with timeouts (see redis_sync.h).
#include "admin/redis_sync.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <array>
#include <cstdlib>
#include <chrono>
#include <memory>
#include <vector>

#include "store/entry_codec.h"
#include "store/pin_store.h"
#include "store/redis_key.h"

namespace sticky::admin {

namespace {

struct ContextFree {
  void operator()(redisContext* c) const { redisFree(c); }
};
struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Context = std::unique_ptr<redisContext, ContextFree>;
using Reply = std::unique_ptr<redisReply, ReplyFree>;

timeval tv_of(int ms) {
  timeval tv{};
  tv.tv_sec = ms / 1000;
  tv.tv_usec = (ms % 1000) * 1000;
  return tv;
}


Context connect_to(const store::RedisEndpoint& e, const store::RedisOptions& o, std::string& error) {
  Context c(redisConnectWithTimeout(e.host.c_str(), e.port, tv_of(o.connect_timeout_ms)));
  if (!c || c->err) {
    error = "redis " + store::endpoint_text(e) + ": " + (c ? std::string(c->errstr) : std::string("out of memory"));
    return nullptr;
  }
  redisSetTimeout(c.get(), tv_of(o.command_timeout_ms));
  return c;
}

Reply command(redisContext* c, std::string& error, int argc, const char** argv, const std::size_t* lens) {
  Reply r(static_cast<redisReply*>(redisCommandArgv(c, argc, argv, lens)));
  if (!r) {
    error = std::string("redis: ") + (c->errstr[0] ? c->errstr : "no reply");
    return nullptr;
  }
  if (r->type == REDIS_REPLY_ERROR) {
    error = "redis: " + std::string(r->str, r->len);
    return nullptr;
  }
  return r;
}

bool authenticate(redisContext* c, const std::string& user, const std::string& password, std::string& error) {
  if (password.empty()) return true;
  const char* argv[3];
  std::size_t lens[3];
  int argc = 0;
  argv[argc] = "AUTH";
  lens[argc++] = 4;
  if (!user.empty()) {
    argv[argc] = user.data();
    lens[argc++] = user.size();
  }
  argv[argc] = password.data();
  lens[argc++] = password.size();
  return command(c, error, argc, argv, lens) != nullptr;
}

// The master: the configured server, or the first Sentinel's answer.
Context connect_master(const store::RedisOptions& o, std::string& error) {
  store::RedisEndpoint master = o.server;
  if (!o.sentinels.empty()) {
    bool found = false;
    for (const auto& s : o.sentinels) {
      Context sc = connect_to(s, o, error);
      if (!sc || !authenticate(sc.get(), o.sentinel_username, o.sentinel_password, error)) continue;
      const char* argv[] = {"SENTINEL", "get-master-addr-by-name", o.sentinel_master.c_str()};
      const std::size_t lens[] = {8, 23, o.sentinel_master.size()};
      Reply r = command(sc.get(), error, 3, argv, lens);
      if (r && r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_STRING &&
          r->element[1]->type == REDIS_REPLY_STRING) {
        master.host.assign(r->element[0]->str, r->element[0]->len);
        master.port = std::atoi(std::string(r->element[1]->str, r->element[1]->len).c_str());
        found = true;
        break;
      }
      if (error.empty()) error = "sentinel " + store::endpoint_text(s) + ": no master named '" + o.sentinel_master + "'";
    }
    if (!found) return nullptr;
    error.clear();
  }
  Context c = connect_to(master, o, error);
  if (c && !authenticate(c.get(), o.username, o.password, error)) return nullptr;
  return c;
}

// Publishes the tombstone of (backend, kind, key): receivers erase that pin, or every pin of the
// backend when the key is empty. Sets out.receivers; false with out.error on failure.
bool publish_tombstone(redisContext* c, const store::RedisOptions& o, std::string_view backend, std::uint8_t kind,
                       std::string_view key, std::int64_t now_ms, RedisSyncResult& out) {
  store::StickyRecord t;
  t.backend.assign(backend);
  t.kind = kind;
  t.key.assign(key);
  t.server.clear();  // the tombstone: receivers erase instead of pinning
  t.created_ms = now_ms;
  t.last_seen_ms = now_ms;
  t.expires_ms = now_ms;
  t.origin = o.node_id;
  t.version = 0;
  std::array<std::uint8_t, store::kMaxEncodedSize> buf{};
  const store::EncodeResult e = store::encode(t, buf);
  if (e.status != store::CodecStatus::Ok) {
    out.error = "tombstone: " + std::string(store::codec_status_name(e.status));
    return false;
  }
  const std::string channel = store::sticky_channel(o.cluster);
  const char* argv[] = {"PUBLISH", channel.data(), reinterpret_cast<const char*>(buf.data())};
  const std::size_t lens[] = {7, channel.size(), e.size};
  Reply r = command(c, out.error, 3, argv, lens);
  if (!r) return false;
  out.receivers = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
  return true;
}

}  // namespace

RedisSyncResult RedisSync::erase(std::string_view backend, std::uint8_t kind, std::string_view key,
                                 std::int64_t now_ms) {
  RedisSyncResult out;
  Context c = connect_master(options_, out.error);
  if (!c) return out;
  std::string rkey;
  store::make_redis_key(rkey, options_.cluster, backend, kind, key);
  {
    const char* argv[] = {"DEL", rkey.data()};
    const std::size_t lens[] = {3, rkey.size()};
    Reply r = command(c.get(), out.error, 2, argv, lens);
    if (!r) return out;
    out.deleted = r->type == REDIS_REPLY_INTEGER ? r->integer : 0;
  }
  if (!publish_tombstone(c.get(), options_, backend, kind, key, now_ms, out)) return out;
  out.ok = true;
  return out;
}

RedisSyncResult RedisSync::clear_backend(std::string_view backend, std::int64_t now_ms, std::int64_t max_ms) {
  RedisSyncResult out;
  Context c = connect_master(options_, out.error);
  if (!c) return out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(max_ms);
  const std::string pattern = store::backend_scan_pattern(options_.cluster, backend);
  std::string cursor = "0";
  do {
    if (std::chrono::steady_clock::now() > deadline) {
      out.error = "redis: clearing took longer than " + std::to_string(max_ms) + " ms (" +
                  std::to_string(out.deleted) + " keys deleted so far); call again to finish";
      return out;
    }
    const char* scan[] = {"SCAN", cursor.c_str(), "MATCH", pattern.c_str(), "COUNT", "1000"};
    const std::size_t scan_lens[] = {4, cursor.size(), 5, pattern.size(), 5, 4};
    Reply r = command(c.get(), out.error, 6, scan, scan_lens);
    if (!r) return out;
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 || r->element[0]->type != REDIS_REPLY_STRING ||
        r->element[1]->type != REDIS_REPLY_ARRAY) {
      out.error = "redis: unexpected SCAN reply";
      return out;
    }
    cursor.assign(r->element[0]->str, r->element[0]->len);
    // One UNLINK per batch, only for this backend's keys ("app:v2" also matches "app:*").
    std::vector<const char*> argv{"UNLINK"};
    std::vector<std::size_t> lens{6};
    const redisReply* keys = r->element[1];
    for (std::size_t i = 0; i < keys->elements; ++i) {
      const redisReply* k = keys->element[i];
      if (k->type != REDIS_REPLY_STRING) continue;
      if (store::key_backend(std::string_view(k->str, k->len), options_.cluster) != backend) continue;
      argv.push_back(k->str);
      lens.push_back(k->len);
    }
    if (argv.size() > 1) {
      Reply d = command(c.get(), out.error, static_cast<int>(argv.size()), argv.data(), lens.data());
      if (!d) return out;
      out.deleted += d->type == REDIS_REPLY_INTEGER ? d->integer : 0;
    }
  } while (cursor != "0");
  if (!publish_tombstone(c.get(), options_, backend, store::kMinPinKind, {}, now_ms, out)) return out;
  out.ok = true;
  return out;
}

RedisSyncResult RedisSync::get(std::string_view backend, std::uint8_t kind, std::string_view key) {
  RedisSyncResult out;
  Context c = connect_master(options_, out.error);
  if (!c) return out;
  std::string rkey;
  store::make_redis_key(rkey, options_.cluster, backend, kind, key);
  const char* argv[] = {"GET", rkey.data()};
  const std::size_t lens[] = {3, rkey.size()};
  Reply r = command(c.get(), out.error, 2, argv, lens);
  if (!r) return out;
  out.ok = true;
  if (r->type == REDIS_REPLY_STRING) {
    store::DecodeResult d = store::decode(as_bytes(std::string_view(r->str, r->len)));
    if (d.status == store::CodecStatus::Ok) out.record = std::move(d.record);
    else out.error = "stored value: " + std::string(store::codec_status_name(d.status));
  }
  return out;
}

}  // namespace sticky::admin
