// sticky-agent: command line, wiring of the layers, and nothing else.
#include <cstdio>
#include <memory>
#include <string>

#include "agent/cli.h"
#include "agent/echo_handler.h"
#include "agent/version.h"
#include "base/log.h"
#include "io/metrics_http.h"
#include "io/server.h"
#include "metrics/exporter.h"

using namespace sticky;

int main(int argc, char** argv) {
  agent::CliOptions cli;
  std::string error;
  if (!agent::parse_cli(argc, argv, cli, error)) {
    std::fprintf(stderr, "sticky-agent: %s\n", error.c_str());
    return 2;
  }
  if (cli.help) {
    std::fputs(agent::usage_text(), stdout);
    return 0;
  }
  if (cli.version) {
    std::printf("sticky-agent %s (SPOP 2.0)\n", STICKY_AGENT_VERSION);
    return 0;
  }
  log::threshold().store(static_cast<int>(cli.log_level));

  io::ServerOptions options;
  options.listen = cli.listen;
  if (options.listen.empty()) {
    io::ListenAddress a;
    io::parse_listen_address("127.0.0.1:12345", a, error);
    options.listen.push_back(a);
  }
  options.threads = cli.threads > 0 ? cli.threads : 0;

  io::Server server(options);
  if (!server.open(error)) {
    STICKY_LOG(Error, "cannot listen: %s", error.c_str());
    return 1;
  }
  server.setup_workers([](io::Worker& w) {
    auto echo = std::make_shared<agent::EchoHandler>(w.index());
    w.handlers().add("echo", echo.get());
    w.own(echo);
  });

  std::unique_ptr<io::MetricsHttp> metrics_http;
  if (!cli.metrics_address.empty()) {
    io::ListenAddress ma;
    io::parse_listen_address(cli.metrics_address, ma, error);
    metrics_http = std::make_unique<io::MetricsHttp>(ma, [&server] {
      std::vector<const metrics::Shard*> shards;
      for (const auto& w : server.workers()) shards.push_back(&w->metrics());
      return metrics::render_prometheus(shards, {});
    });
    if (!metrics_http->start(error)) {
      STICKY_LOG(Error, "cannot serve metrics: %s", error.c_str());
      return 1;
    }
  }
  for (std::size_t i = 0; i < options.listen.size(); ++i) {
    const auto& a = options.listen[i];
    if (a.kind == io::ListenAddress::Kind::Unix)
      STICKY_LOG(Info, "listening on unix:%s", a.path.c_str());
    else
      STICKY_LOG(Info, "listening on %s (port %u)", a.text.c_str(), server.bound_ports()[i]);
  }
  STICKY_LOG(Info, "sticky-agent %s ready", STICKY_AGENT_VERSION);
  server.run();
  return 0;
}
