// Prometheus lines for the policies: persistence decisions, identity rejections, table state, HSAF routes.
#pragma once

#include <string>

#include "agent/hsaf_runtime.h"
#include "agent/persist_runtime.h"
#include "agent/shared_store.h"

namespace sticky::agent {

void render_persist_metrics(PersistRuntime& runtime, std::string& out);
void render_hsaf_metrics(const HsafRuntime& runtime, std::string& out);
void render_redis_metrics(const SharedStore& shared, std::string& out);

}  // namespace sticky::agent
