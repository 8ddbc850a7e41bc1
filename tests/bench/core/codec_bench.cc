// Codec throughput on one core: split a NOTIFY, decode its messages, run the echo handler,
// encode the ACK. Prints frames per second (median of rounds); never fails on speed.
#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <vector>

#include "agent/echo_handler.h"
#include "spop/ack.h"
#include "spop/frame.h"
#include "spop/notify.h"
#include "spop/typed_data.h"
#include "spop/varint.h"

using namespace sticky;

namespace {

class NullSink : public model::ReplySink {
 public:
  void reply_ready(model::Reply&) override { ++done; }
  unsigned long done = 0;
};

// A NOTIFY like the persistence message HAProxy sends: 7 arguments of the usual kinds.
std::vector<std::uint8_t> make_notify(std::uint64_t sid) {
  std::vector<std::uint8_t> buf(1024);
  ByteWriter w(buf);
  const std::size_t at = spop::begin_frame(w, spop::FrameType::Notify, sid, 1);
  spop::put_name(w, "echo");
  w.put_u8(7);
  const std::uint8_t ip[4] = {192, 0, 2, 7};
  spop::put_name(w, "path");
  spop::put_typed(w, spop::TypedValue::string("/catalog/item/12345?color=blue"));
  spop::put_name(w, "src");
  spop::put_typed(w, spop::TypedValue::ipv4(std::string_view(reinterpret_cast<const char*>(ip), 4)));
  spop::put_name(w, "tcip");
  spop::put_typed(w, spop::TypedValue::string("203.0.113.45"));
  spop::put_name(w, "cookie");
  spop::put_typed(w, spop::TypedValue::string("AbCdEfGhIjKlMnOpQrStUvWxYz0123456789-_AbCd"));
  spop::put_name(w, "be");
  spop::put_typed(w, spop::TypedValue::string("app"));
  spop::put_name(w, "host");
  spop::put_typed(w, spop::TypedValue::string("www.example.com"));
  spop::put_name(w, "port");
  spop::put_typed(w, spop::TypedValue::int64(443));
  spop::finish_frame(w, at, 16380);
  buf.resize(w.size());
  return buf;
}

}  // namespace

int main() {
  const std::size_t kFrames = 2'000'000;
  auto frame = make_notify(123456);
  std::array<spop::Arg, spop::kMaxArgs> scratch;
  std::vector<std::uint8_t> out(64 * 1024);
  agent::EchoHandler handler(0);
  NullSink sink;
  model::Reply reply;
  std::vector<double> rates;
  std::size_t bytes_out = 0;
  for (int round = 0; round < 7; ++round) {
    const auto t0 = std::chrono::steady_clock::now();
    for (std::size_t i = 0; i < kFrames; ++i) {
      const spop::SplitResult r = spop::split_frame(frame, 16380);
      reply.reset(&sink, 1, r.frame.stream_id, r.frame.frame_id);
      spop::MessageReader reader(r.frame.payload);
      spop::Message msg;
      while (reader.next(msg, scratch)) handler.on_message(msg, reply);
      ByteWriter w(out);
      spop::write_ack(w, reply.stream_id(), reply.frame_id(), reply.actions().items(), 16380);
      bytes_out += w.size();
      reply.release();
    }
    const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    rates.push_back(static_cast<double>(kFrames) / s);
  }
  std::sort(rates.begin(), rates.end());
  std::printf("codec: NOTIFY(7 args) decode + echo handler + ACK encode, one core\n");
  std::printf("  frames/s median %.0f  (min %.0f, max %.0f, 7 rounds of %zu)\n", rates[3], rates[0],
              rates[6], kFrames);
  std::printf("  ns/frame median %.1f   target >= 2,000,000 frames/s: %s\n", 1e9 / rates[3],
              rates[3] >= 2e6 ? "met" : "NOT met");
  std::printf("  (checksum %zu bytes written, %lu replies)\n", bytes_out, sink.done);
  return 0;
}
