// The config's `redis:` section as the shared store's options (store/redis/shared_pins.h).
#pragma once

#include <string>

#include "config/config.h"
#include "store/redis_options.h"

namespace sticky::agent {

// Maps the config's redis section; false with `error` set when it cannot be used.
bool redis_options_from(const config::RedisSection& section, store::RedisOptions& out, std::string& error);

}  // namespace sticky::agent
