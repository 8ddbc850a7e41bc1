// HELLO handling (SPOE.txt 3.2.4-3.2.6), tolerant of every HAProxy from 2.6 to 3.x.
#include "spop/hello.h"

#include <algorithm>

#include "spop/frame.h"
#include "spop/typed_data.h"

namespace sticky::spop {

static std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool list_contains(std::string_view list, std::string_view item) {
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    if (trim(list.substr(0, comma)) == item) return true;
    if (comma == std::string_view::npos) break;
    list.remove_prefix(comma + 1);
  }
  return false;
}

HelloResult parse_haproxy_hello(Bytes payload, HaproxyHello& out) {
  ByteReader r(payload);
  out = HaproxyHello{};
  while (!r.empty()) {
    std::string_view key;
    TypedValue v;
    if (take_name(r, key) != DecodeStatus::Ok || take_typed(r, v) != DecodeStatus::Ok)
      return {Status::Invalid, "malformed KV list in HAPROXY-HELLO"};
    if (key == "supported-versions" && v.is_text()) {
      out.supported_versions = v.bytes;
      out.has_versions = true;
    } else if (key == "max-frame-size" && v.is_integer()) {
      out.max_frame_size = v.u;
      out.has_max_frame_size = true;
    } else if (key == "capabilities" && v.is_text()) {
      out.capabilities = v.bytes;
      out.has_capabilities = true;
    } else if (key == "engine-id" && v.is_text()) {
      out.engine_id = v.bytes;
    } else if (key == "healthcheck" && v.type == DataType::Bool) {
      out.healthcheck = v.b;
    }
  }
  return {};
}

HelloResult negotiate(const HaproxyHello& hello, std::uint32_t agent_max_frame_size,
                      Negotiated& out) {
  if (!hello.has_versions) return {Status::NoVersion, "HAPROXY-HELLO has no supported-versions"};
  if (!list_contains(hello.supported_versions, "2.0"))
    return {Status::BadVersion, "HAProxy offers no SPOP version we speak (2.0)"};
  if (!hello.has_max_frame_size)
    return {Status::NoFrameSize, "HAPROXY-HELLO has no max-frame-size"};
  if (hello.max_frame_size < kMinFrameSize)
    return {Status::BadFrameSize, "HAProxy's max-frame-size is below 256"};
  // HAProxy 2.6-3.0 (legacy engine) and 3.1+ (mux) always encode the item, an empty string when
  // no capability is on, and so do both health-check probes: a HELLO without it is not HAProxy.
  if (!hello.has_capabilities)
    return {Status::NoCapabilities, "HAPROXY-HELLO has no capabilities"};
  const std::uint64_t mine = std::max<std::uint64_t>(agent_max_frame_size, kMinFrameSize);
  out.max_frame_size = static_cast<std::uint32_t>(std::min(mine, hello.max_frame_size));
  out.pipelining = list_contains(hello.capabilities, "pipelining");
  return {};
}

bool write_agent_hello(ByteWriter& w, const Negotiated& n) {
  const std::size_t at = begin_frame(w, FrameType::AgentHello, 0, 0);
  put_name(w, "version");
  put_typed(w, TypedValue::string("2.0"));
  put_name(w, "max-frame-size");
  put_typed(w, TypedValue::uint32(n.max_frame_size));
  put_name(w, "capabilities");
  put_typed(w, TypedValue::string("pipelining"));
  return finish_frame(w, at, n.max_frame_size);
}

}  // namespace sticky::spop
