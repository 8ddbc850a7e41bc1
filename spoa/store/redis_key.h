// Redis key and channel names for sticky records: `sticky:<cluster>:<backend>:<kind>:<hex key>`, channel
// `sticky:<cluster>`. The fixed `sticky:` prefix lets one ACL (`~sticky:* &sticky:*`, redis/redis.conf)
// serve every cluster name; kAclKeyPattern/kAclChannelPattern are what that ACL must allow.
//
// Key bytes are always lower-case hex, so raw IPv4/IPv6 bytes and cookie values alike give printable,
// glob-safe keys, and the last two segments never contain ':' -- a key parses unambiguously from the
// right even when a backend name contains ':' (HAProxy allows it). The cluster name must pass
// valid_cluster_name() because it is also used as a SCAN MATCH prefix and a channel name.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "store/sticky_record.h"

namespace sticky::store {

inline constexpr std::string_view kKeyPrefix = "sticky:";
inline constexpr std::string_view kAclKeyPattern = "~sticky:*";
inline constexpr std::string_view kAclChannelPattern = "&sticky:*";

// [A-Za-z0-9._-]{1,64}: no glob characters, no ':' separator.
bool valid_cluster_name(std::string_view cluster);

// Replaces `out` with the key (reusing its capacity, so a caller-owned string makes this allocation-free).
void make_redis_key(std::string& out, std::string_view cluster, std::string_view backend, std::uint8_t kind,
                    std::string_view key);
std::string redis_key_of(std::string_view cluster, const StickyRecord& record);

// The pub/sub channel every agent of the cluster publishes its writes to.
std::string sticky_channel(std::string_view cluster);
// The SCAN MATCH pattern covering every record of the cluster.
std::string scan_pattern(std::string_view cluster);
// The SCAN MATCH pattern covering a backend's records. It also matches a backend whose name
// extends this one after a ':' ("app" matches "app:v2"): filter with key_backend().
std::string backend_scan_pattern(std::string_view cluster, std::string_view backend);
// The backend segment of a record key of `cluster`, read from the right (see above); empty when
// `redis_key` is not one.
std::string_view key_backend(std::string_view redis_key, std::string_view cluster);

}  // namespace sticky::store
