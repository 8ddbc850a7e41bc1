// A move re-sent after a command timeout must not overwrite a newer move (issue 12). Provoked for
// real: the client talks to Redis through a proxy that holds replies back, so its SET deadline
// passes although Redis executed the command; another agent then moves the pin further; the queued
// retry must leave that newer move in place.
#include <catch2/catch.hpp>
#include <ev.h>

#include <string>

#include "delay_proxy.h"
#include "proxied_client.h"
#include "redis_process.h"
#include "store/entry_codec.h"
#include "store/redis/move_script.h"
#include "store/redis/redis_client.h"
#include "store/redis_key.h"
#include "test_records.h"

using namespace sticky;
using namespace sticky::store;
using sticky::test::DelayProxy;
using sticky::test::Loop;
using sticky::test::RedisProcess;

namespace {
std::string encoded(const StickyRecord& r) {
  std::string out(kMaxEncodedSize, '\0');
  EncodeResult e = encode(r, std::span<std::uint8_t>(reinterpret_cast<std::uint8_t*>(out.data()), out.size()));
  out.resize(e.status == CodecStatus::Ok ? e.size : 0);
  return out;
}

StickyRecord stored(const RedisProcess& redis, const StickyRecord& r) {
  const std::string v = redis.cmd({"GET", redis_key_of("t", r)});
  DecodeResult d = decode(as_bytes(std::string_view(v)));
  return d.status == CodecStatus::Ok ? d.record : StickyRecord{};
}

StickyRecord moved(StickyRecord r, std::string server, std::uint64_t version, std::string origin) {
  r.server = std::move(server);
  r.version = version;
  r.origin = std::move(origin);
  return r;
}
}  // namespace

TEST_CASE("A move retried after its reply timed out does not overwrite a newer move", "[redis_move]") {
  REQUIRE_REDIS();
  test::ProxiedClient pc([](RedisOptions& o) {
    o.command_timeout_ms = 100;
    o.stall_timeout_ms = 5000;  // the link stays up: the retry comes from the queue, not a reconnect
  });
  RedisProcess& redis = pc.redis;
  DelayProxy& proxy = *pc.proxy;
  Loop& l = pc.l;
  RedisCounters& c = pc.c;
  RedisClient& a = *pc.client;

  const StickyRecord v1 = test::record(1, "A", "s1");
  a.write_new(v1, nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 1; }, 2000));

  // The script is known to this Redis (as after the first move): the EVALSHA runs at once.
  REQUIRE(redis.cmd({"SCRIPT", "LOAD", std::string(kMoveScript)}) == std::string(kMoveScriptSha1));
  // A moves the client to s2 (version 2); Redis runs it, but the reply is 400 ms late.
  proxy.set_delay_ms(400);
  a.write_move(moved(v1, "s2", 2, "A"));
  REQUIRE(test::run_until(l.loop, [&] { return stored(redis, v1).version == 2; }, 2000));
  // Meanwhile agent B moves it further, to s3 (version 3).
  const StickyRecord v3 = moved(v1, "s3", 3, "B");
  REQUIRE(redis.cmd({"SET", redis_key_of("t", v3), encoded(v3), "PX", "60000"}) == "OK");
  // A's deadline passes: the move is queued for a retry.
  REQUIRE(test::run_until(l.loop, [&] { return c.timeouts >= 1 && a.queue_depth() == 1; }, 2000));
  proxy.set_delay_ms(0);
  test::run_for(l.loop, 500);  // the late reply arrives and is ignored
  CHECK(c.late_replies >= 1);

  // The next successful write flushes the queue: the retried move meets the newer one.
  a.write_new(test::record(2, "A", "s1"), nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return a.queue_depth() == 0 && c.moves_superseded == 1; }, 3000));
  const StickyRecord now = stored(redis, v1);
  CHECK(now.server == "s3");
  CHECK(now.version == 3);
  CHECK(now.origin == "B");
}

TEST_CASE("A move over an older version is written and published; EVALSHA falls back to EVAL once",
          "[redis_move]") {
  REQUIRE_REDIS();
  RedisProcess redis;
  REQUIRE(redis.start());
  Loop l;
  RedisCounters c;
  RedisClient a(l.loop, test::options_for(redis.port(), "A"), c);
  a.start();
  REQUIRE(test::run_until(l.loop, [&] { return a.connected(); }, 3000));
  const StickyRecord v1 = test::record(7, "A", "s1");
  a.write_new(v1, nullptr);
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 1; }, 2000));
  CHECK(redis.cmd({"SCRIPT", "EXISTS", std::string(kMoveScriptSha1)}) == "0");

  // A fresh Redis does not know the script: NOSCRIPT, then EVAL (which caches it).
  a.write_move(moved(v1, "s2", 2, "A"));
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 2; }, 2000));
  CHECK(stored(redis, v1).server == "s2");
  CHECK(redis.cmd({"SCRIPT", "EXISTS", std::string(kMoveScriptSha1)}) == "1");
  const std::uint64_t errors = c.errors;
  a.write_move(moved(v1, "s3", 3, "A"));
  REQUIRE(test::run_until(l.loop, [&] { return c.published == 3; }, 2000));
  CHECK(stored(redis, v1).server == "s3");
  CHECK(c.errors == errors);  // no NOSCRIPT this time
  // The TTL went with it.
  CHECK(std::stoll(redis.cmd({"PTTL", redis_key_of("t", v1)})) > 50000);

  // An equal version already stored from elsewhere is not overwritten: the caller gets it.
  const StickyRecord other = moved(v1, "s1", 4, "B");
  REQUIRE(redis.cmd({"SET", redis_key_of("t", other), encoded(other), "PX", "60000"}) == "OK");
  std::optional<StickyRecord> winner;
  a.write_move(moved(v1, "s2", 4, "A"), [&](const StickyRecord& w) { winner = w; });
  const bool answered = test::run_until(l.loop, [&] { return winner.has_value(); }, 2000);
  INFO("published " << c.published << " malformed " << c.malformed << " errors " << c.errors << " stored origin "
                    << stored(redis, v1).origin << " version " << stored(redis, v1).version);
  REQUIRE(answered);
  CHECK(winner->origin == "B");
  CHECK(winner->server == "s1");
  CHECK(winner->expires_ms > test::wall_ms() + 50000);
  CHECK(c.moves_superseded == 1);
  CHECK(stored(redis, v1).origin == "B");
}
