// Frame splitting and frame headers. The splitter finds one complete frame at the head of a
// byte stream without copying; the caller owns the buffer and the socket.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "base/bytes.h"
#include "spop/wire.h"

namespace sticky::spop {

struct Frame {
  FrameType type = FrameType::Unset;
  std::uint32_t flags = 0;
  std::uint64_t stream_id = 0;
  std::uint64_t frame_id = 0;
  Bytes payload;  // view into the input buffer

  bool fin() const { return (flags & kFlagFin) != 0; }
  bool abort() const { return (flags & kFlagAbort) != 0; }
};

enum class SplitKind : std::uint8_t { NeedMore, Frame, Error };

struct SplitResult {
  SplitKind kind = SplitKind::NeedMore;
  std::size_t consumed = 0;      // bytes to drop from the head of the input (Frame only)
  Frame frame;                   // valid for Frame
  Status error = Status::Normal; // valid for Error: the status to send in AGENT-DISCONNECT
  std::string_view detail;       // valid for Error: static text for logs and the DISCONNECT message
};

// Looks at the head of `in`. The 4-byte length is checked against max_frame_size and the
// protocol minimum before anything else, so a hostile length never makes the caller wait for or
// buffer more than one legal frame.
SplitResult split_frame(Bytes in, std::uint32_t max_frame_size);

// Starts a frame in w: reserves the length and writes type, flags (FIN) and ids. Returns the
// offset of the length field, to pass to finish_frame once the payload is written.
std::size_t begin_frame(ByteWriter& w, FrameType type, std::uint64_t stream_id,
                        std::uint64_t frame_id);
// Back-fills the length. Returns false if the writer overflowed or the body exceeds max_body.
bool finish_frame(ByteWriter& w, std::size_t length_at, std::uint32_t max_body);

}  // namespace sticky::spop
