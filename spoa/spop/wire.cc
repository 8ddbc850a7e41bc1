// Reason strings for SPOP status codes.
#include "spop/wire.h"

namespace sticky::spop {

std::string_view status_reason(Status s) {
  switch (s) {
    case Status::Normal: return "normal";
    case Status::Io: return "I/O error";
    case Status::Timeout: return "a timeout occurred";
    case Status::TooBig: return "frame is too big";
    case Status::Invalid: return "invalid frame received";
    case Status::NoVersion: return "version value not found";
    case Status::NoFrameSize: return "max-frame-size value not found";
    case Status::NoCapabilities: return "capabilities value not found";
    case Status::BadVersion: return "unsupported version";
    case Status::BadFrameSize: return "max-frame-size too big or too small";
    case Status::FragNotSupported: return "fragmentation not supported";
    case Status::InterlacedFrames: return "invalid interlaced frames";
    case Status::FrameIdNotFound: return "frame-id not found";
    case Status::Resource: return "resource allocation error";
    case Status::Unknown: return "an unknown error occurred";
  }
  return "an unknown error occurred";
}

}  // namespace sticky::spop
