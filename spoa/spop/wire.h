// SPOP 2.0 wire constants, numbered exactly as HAProxy's doc/SPOE.txt (section 3) numbers them.
#pragma once

#include <cstdint>
#include <string_view>

namespace sticky::spop {

enum class FrameType : std::uint8_t {
  Unset = 0,  // continuation fragment (legacy HAProxy only); we never accept fragments
  HaproxyHello = 1,
  HaproxyDisconnect = 2,
  Notify = 3,
  AgentHello = 101,
  AgentDisconnect = 102,
  Ack = 103,
};

inline constexpr std::uint32_t kFlagFin = 0x00000001;
inline constexpr std::uint32_t kFlagAbort = 0x00000002;

// Type ids live in the low nibble; the high nibble carries flags (BOOL's value is flag bit 4).
enum class DataType : std::uint8_t {
  Null = 0,
  Bool = 1,
  Int32 = 2,
  Uint32 = 3,
  Int64 = 4,
  Uint64 = 5,
  Ipv4 = 6,
  Ipv6 = 7,
  String = 8,
  Binary = 9,
};
inline constexpr std::uint8_t kDataTypeMask = 0x0F;
inline constexpr std::uint8_t kDataFlagTrue = 0x10;

enum class ActionType : std::uint8_t { SetVar = 1, UnsetVar = 2 };

enum class VarScope : std::uint8_t { Proc = 0, Sess = 1, Txn = 2, Req = 3, Res = 4 };

// Status codes carried in DISCONNECT frames. The numbers are the protocol's; do not renumber.
enum class Status : std::uint32_t {
  Normal = 0,
  Io = 1,
  Timeout = 2,
  TooBig = 3,
  Invalid = 4,
  NoVersion = 5,
  NoFrameSize = 6,
  NoCapabilities = 7,
  BadVersion = 8,
  BadFrameSize = 9,
  FragNotSupported = 10,
  InterlacedFrames = 11,
  FrameIdNotFound = 12,
  Resource = 13,
  Unknown = 99,
};

// Human text sent in AGENT-DISCONNECT "message" and used in logs.
std::string_view status_reason(Status s);

// The protocol's floor for max-frame-size, and HAProxy's default (tune.bufsize 16384 - 4).
inline constexpr std::uint32_t kMinFrameSize = 256;
inline constexpr std::uint32_t kDefaultMaxFrameSize = 16380;
// Smallest legal frame body: type(1) + flags(4) + stream-id(1) + frame-id(1).
inline constexpr std::uint32_t kMinFrameBody = 7;

}  // namespace sticky::spop
