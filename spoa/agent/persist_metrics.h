// Prometheus lines for persistence: decisions by reason, identity rejections, table state.
#pragma once

#include <string>

#include "agent/persist_runtime.h"

namespace sticky::agent {

void render_persist_metrics(PersistRuntime& runtime, std::string& out);

}  // namespace sticky::agent
