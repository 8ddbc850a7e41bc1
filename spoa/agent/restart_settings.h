// The settings a running agent cannot change live (listeners, threads, limits, the admin and
// metrics listeners, HAProxy's runtime API, adding or removing Redis) and which of them a new
// config changes: a reload applies everything else and lists these as waiting for a restart.
#pragma once

#include <string>
#include <vector>

#include "agent/cli.h"
#include "config/config.h"

namespace sticky::agent {

// Names ("agent.threads", "redis", ...) of the start-up settings `next` gives another value than
// `running` has. A setting the command line fixes (--listen, --threads...) is left out: the
// file's value is not the one in use, before or after.
std::vector<std::string> restart_needed(const config::Config& running, const config::Config& next,
                                        const CliOptions& cli);

// `next` with every start-up setting taken from `running`: the config that actually runs after a
// reload, against which the next reload is compared.
config::Config with_startup_settings(config::Config next, const config::Config& running);

}  // namespace sticky::agent
