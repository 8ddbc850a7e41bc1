// The process-wide receiver of the shared sticky store: applies other agents' writes as they are
// published, and (re)loads every stored record with a background SCAN after each (re)subscribe so
// nothing missed during a restart or an outage stays missing.
//
// Two connections (RESP2 allows only pub/sub commands on a subscribed one): `sub_` SUBSCRIBEs to
// `<cluster>:sticky`; `data_` runs SCAN MATCH <cluster>:* COUNT <batch>, then MGET + PTTL per batch,
// one batch in flight at a time so the loop it shares with a worker never runs long.
#pragma once

#include <ev.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "store/redis/managed_link.h"
#include "store/redis_counters.h"
#include "store/redis_options.h"
#include "store/sticky_record.h"

struct redisReply;

namespace sticky::store {

class RedisSubscriber {
 public:
  // Records from pub/sub (own-origin ones skipped) and from warm-up (all, own ones included: after a
  // restart this node's table is empty too). Receivers should keep the highest `version`.
  using RecordFn = std::function<void(const StickyRecord&)>;

  RedisSubscriber(struct ev_loop* loop, const RedisOptions& options, RedisCounters& counters, RecordFn on_record);
  ~RedisSubscriber();
  RedisSubscriber(const RedisSubscriber&) = delete;
  RedisSubscriber& operator=(const RedisSubscriber&) = delete;

  void start();
  void stop();

  bool subscribed() const { return subscribed_; }
  bool warmup_running() const { return scan_running_; }
  std::uint64_t warmups_completed() const { return counters_.warmup_scans; }

 private:
  void on_sub_ready();
  void on_message(const redisReply* reply);
  void deliver(const StickyRecord& record, bool from_pubsub);
  void maybe_start_scan();
  void scan_step();
  void fetch_batch(std::vector<std::string> keys);
  void finish_batch();
  void abort_scan();

  RedisOptions options_;
  RedisCounters& counters_;
  RecordFn on_record_;
  ManagedLink sub_;
  ManagedLink data_;
  std::string channel_;
  std::string pattern_;
  std::string batch_text_;
  bool subscribed_ = false;
  bool scan_wanted_ = false;   // a (re)subscribe happened and its catch-up pass has not completed
  bool scan_running_ = false;
  std::uint64_t scan_generation_ = 0;  // callbacks of an aborted pass recognise themselves by this
  std::string cursor_ = "0";
  std::size_t scanned_ = 0;
  // The batch in flight: keys, their values (MGET) and TTLs (PTTL), filled in by reply order.
  std::vector<std::string> batch_keys_;
  std::vector<std::string> batch_values_;
  std::vector<bool> batch_present_;
  std::vector<long long> batch_ttls_;
  std::size_t batch_ttls_seen_ = 0;
};

}  // namespace sticky::store
