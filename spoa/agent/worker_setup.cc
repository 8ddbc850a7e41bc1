// One worker's handlers, pin store and counter flush (see worker_setup.h).
#include "agent/worker_setup.h"

#include <functional>
#include <memory>
#include <random>

#include <ev.h>

#include "agent/echo_handler.h"
#include "agent/hsaf_handler.h"
#include "agent/persist_handler.h"

namespace sticky::agent {

namespace {

// Each worker hands its plain counters to the shared totals once a second, so the request path
// never touches a shared cache line for metrics.
struct CounterFlush {
  ev_timer timer{};
  std::function<void()> flush;
  struct ev_loop* loop = nullptr;
  ~CounterFlush() {
    if (loop) ev_timer_stop(loop, &timer);
  }
  static void fire(struct ev_loop*, ev_timer* w, int) { static_cast<CounterFlush*>(w->data)->flush(); }
};

}  // namespace

void setup_worker(io::Worker& w, const WorkerRuntimes& rt) {
  struct ev_loop* loop = w.loop();
  // Owned first so it is destroyed first: its pending lookups complete while handlers live.
  std::shared_ptr<store::SharedPins> shared_pins;
  std::shared_ptr<store::PinStore> pins;
  if (rt.shared) {
    shared_pins = std::make_shared<store::SharedPins>(*rt.shared, loop, w.index());
    w.own(shared_pins);
    shared_pins->start();
    if (w.index() == 0) rt.shared->start_subscriber(loop);
    pins = shared_pins;
  } else {
    pins = std::make_shared<store::LocalPins>(rt.persist.table());
    w.own(pins);
  }

  auto echo = std::make_shared<EchoHandler>(w.index());
  w.handlers().add("echo", echo.get());
  w.own(echo);

  auto state = std::make_shared<PersistWorkerState>(
      rt.persist, [loop] { return static_cast<std::int64_t>(ev_now(loop) * 1000.0); });
  state->pins = pins.get();
  auto req = std::make_shared<PersistRequestHandler>(*state);
  auto res = std::make_shared<PersistResponseHandler>(*state);
  w.handlers().add("persist-req", req.get());
  w.handlers().add("persist-res", res.get());
  auto hsaf = std::make_shared<HsafHandler>(rt.hsaf, std::random_device{}() ^ (static_cast<std::uint64_t>(w.index()) << 32));
  w.handlers().add("hsaf", hsaf.get());

  auto flush = std::make_shared<CounterFlush>();
  flush->flush = [s = state.get(), h = hsaf.get(), sp = shared_pins.get()] {
    s->publish_counters();
    h->publish_counters();
    if (sp) sp->publish_counters();
  };
  flush->loop = loop;
  ev_timer_init(&flush->timer, &CounterFlush::fire, 1.0, 1.0);
  flush->timer.data = flush.get();
  ev_timer_start(loop, &flush->timer);
  w.own(flush);
  w.own(req);
  w.own(res);
  w.own(state);
  w.own(hsaf);
}

}  // namespace sticky::agent
