// The agent's version, shown by --version and in logs.
#pragma once
#define STICKY_AGENT_VERSION "0.1.0"
