// The built-in "echo" message: proves the whole path (HAProxy -> agent -> HAProxy variables)
// without any policy. It answers with the agent's identity and echoes its first argument.
#pragma once

#include <cstdio>
#include <string>

#include "model/handler.h"

namespace sticky::agent {

class EchoHandler final : public model::MessageHandler {
 public:
  explicit EchoHandler(int worker_index)
      : identity_("sticky-agent/" + std::to_string(worker_index)) {}

  // Sets txn.<prefix>.agent = "sticky-agent/<worker>" and txn.<prefix>.echo = the first
  // argument rendered as text (strings as is, integers in decimal, addresses dotted).
  void on_message(const spop::Message& msg, model::Reply& reply) override {
    reply.actions().set_string("agent", identity_);
    if (msg.args.empty()) return;
    const spop::TypedValue& v = msg.args[0].value;
    char buf[64];
    switch (v.type) {
      case spop::DataType::String:
      case spop::DataType::Binary:
        reply.actions().set_string("echo", v.bytes);
        return;
      case spop::DataType::Int32:
      case spop::DataType::Int64:
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v.as_int64()));
        break;
      case spop::DataType::Uint32:
      case spop::DataType::Uint64:
        std::snprintf(buf, sizeof buf, "%llu", static_cast<unsigned long long>(v.u));
        break;
      case spop::DataType::Ipv4: {
        const auto* b = reinterpret_cast<const unsigned char*>(v.bytes.data());
        std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", b[0], b[1], b[2], b[3]);
        break;
      }
      case spop::DataType::Bool:
        std::snprintf(buf, sizeof buf, "%s", v.b ? "true" : "false");
        break;
      default:
        std::snprintf(buf, sizeof buf, "%s", v.type == spop::DataType::Null ? "null" : "ipv6");
        break;
    }
    reply.actions().set_string("echo", buf);
  }

 private:
  std::string identity_;
};

}  // namespace sticky::agent
