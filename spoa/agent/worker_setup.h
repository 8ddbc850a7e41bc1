// What every worker serves, set up once per worker before it starts: the echo, persist-req,
// persist-res and hsaf handlers, the worker's pin store (the table alone, or the table in front of
// Redis, with the subscriber on worker 0), and the once-a-second flush of its counters.
#pragma once

#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "io/worker.h"
#include "store/redis/shared_pins.h"

namespace sticky::agent {

struct WorkerRuntimes {
  PersistRuntime& persist;
  HsafRuntime& hsaf;
  store::SharedStore* shared = nullptr;  // null: pins stay in this agent
};

void setup_worker(io::Worker& w, const WorkerRuntimes& rt);

}  // namespace sticky::agent
