// ConfigReloader against real files: what a reload keeps (the table's pins, backend ids), what it
// adds and drops, what it refuses (and that a refusal changes nothing), what waits for a restart.
#include "agent/config_reload.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <unistd.h>

#include "agent/restart_settings.h"
#include "agent/startup.h"
#include "config/config_file.h"

using namespace sticky;

namespace {

constexpr std::int64_t kNow = 1'800'000'000'000;

constexpr const char* kStart = R"(agent:
  threads: 2
backends:
  - name: app
    ttl: 60s
    capacity: 5000
    servers: [{name: s1}, {name: s2}]
  - name: api
    ttl: 60s
    servers: [{name: a1}]
)";

// A config file in a directory of its own, rewritten by each step of a test.
struct ConfigFile {
  std::filesystem::path dir;
  std::filesystem::path path;
  ConfigFile() {
    dir = std::filesystem::temp_directory_path() / ("reload-test-" + std::to_string(::getpid()) + "-" +
                                                    std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    path = dir / "agent.yaml";
  }
  ~ConfigFile() { std::filesystem::remove_all(dir); }
  void write(const std::string& text) const { std::ofstream(path) << text; }
};

// The agent's runtimes built from the file as main() builds them, and a reloader over them.
struct Agent {
  ConfigFile file;
  agent::CliOptions cli;
  config::Config cfg;
  std::unique_ptr<agent::PersistRuntime> persist;
  std::unique_ptr<agent::HsafRuntime> hsaf;
  std::unique_ptr<health::HealthPoller> poller;
  std::unique_ptr<agent::ConfigReloader> reloader;

  explicit Agent(const std::string& text) {
    file.write(text);
    cli.config_path = file.path.string();
    config::LoadResult r = config::load_file(cli.config_path);
    REQUIRE(r.ok());
    cfg = r.config;
    std::vector<std::string> errors, warnings;
    persist = agent::PersistRuntime::build(cfg, errors);
    hsaf = agent::HsafRuntime::build(cfg, errors, warnings);
    REQUIRE(errors.empty());
    poller = std::make_unique<health::HealthPoller>(agent::health_options(cfg));
    persist->follow(*poller->view());
    reloader = std::make_unique<agent::ConfigReloader>(cli, cfg, agent::ConfigReloader::Targets{*persist, *hsaf, *poller, nullptr});
  }

  std::uint16_t id_of(const std::string& backend) const {
    const auto g = persist->current();
    const int i = g->find(backend);
    REQUIRE(i >= 0);
    return g->backend(i).engine->options().id;
  }
  // `n` pins of `backend` straight into the table, as decisions would leave them.
  void pin(const std::string& backend, int n) {
    const std::uint16_t id = id_of(backend);
    for (int i = 0; i < n; ++i) {
      const std::string key = backend + "-client-" + std::to_string(i);
      REQUIRE(persist->table().upsert({id, 1, key}, 0, kNow, 60'000).status == store::StickyStatus::Ok);
    }
  }
};

std::string replaced(std::string text, const std::string& from, const std::string& to) {
  const auto at = text.find(from);
  REQUIRE(at != std::string::npos);
  return text.replace(at, from.size(), to);
}

bool mentions(const std::vector<std::string>& items, const std::string& what) {
  for (const auto& s : items)
    if (s.find(what) != std::string::npos) return true;
  return false;
}

}  // namespace

TEST_CASE("a reload adding a backend keeps every pin and id, and gives the new backend its own partition",
          "[config_reload]") {
  Agent a(kStart);
  a.pin("app", 300);
  a.pin("api", 20);
  const std::uint16_t app_id = a.id_of("app");
  const std::uint16_t api_id = a.id_of("api");
  // The new backend comes first in the file: ids follow names, not positions.
  a.file.write(replaced(kStart, "backends:\n", "backends:\n  - name: web\n    capacity: 700\n    servers: [{name: w1}, {name: w2}]\n"));
  const agent::ReloadOutcome r = a.reloader->reload();
  REQUIRE(r.kind == agent::ReloadOutcome::Kind::Applied);
  CHECK(r.errors.empty());
  CHECK(r.generation == 2);
  CHECK(r.dropped_pins == 0);
  CHECK(mentions(r.changes, "backend 'web' added"));
  CHECK(r.restart_needed.empty());
  CHECK(a.persist->current()->generation() == 2);
  CHECK(a.id_of("app") == app_id);
  CHECK(a.id_of("api") == api_id);
  const std::uint16_t web_id = a.id_of("web");
  CHECK(web_id != app_id);
  CHECK(web_id != api_id);
  CHECK(a.persist->table().has_own_partition(web_id));
  CHECK(a.persist->table().capacity_for_backend(web_id) == 700);
  CHECK(a.persist->table().size_for_backend(app_id) == 300);
  CHECK(a.persist->table().size() == 320);
  // The new backend has its server view at once (the static servers of the file).
  const auto g = a.persist->current();
  const policy::BackendViewPtr view = g->backend(g->find("web")).view.get();
  REQUIRE(view);
  CHECK(view->servers->servers.size() == 2);
  const agent::ReloadStatus s = a.reloader->status();
  CHECK(s.generation == 2);
  CHECK(s.applied == 1);
  CHECK(s.refused == 0);
  CHECK(s.last_successful());
}

TEST_CASE("a reload removing a backend drops exactly its pins and counts them", "[config_reload]") {
  Agent a(kStart);
  a.pin("app", 50);
  a.pin("api", 17);
  const std::uint16_t api_id = a.id_of("api");
  a.file.write(replaced(kStart, "  - name: api\n    ttl: 60s\n    servers: [{name: a1}]\n", ""));
  const agent::ReloadOutcome r = a.reloader->reload();
  REQUIRE(r.kind == agent::ReloadOutcome::Kind::Applied);
  CHECK(r.dropped_pins == 17);
  CHECK(a.persist->reload_dropped() == 17);
  CHECK(a.persist->table().size_for_backend(api_id) == 0);
  CHECK(a.persist->table().size() == 50);
  CHECK(a.persist->current()->find("api") < 0);
  CHECK(mentions(r.changes, "backend 'api' removed"));
  // Added back, it gets a new id: a straggling write for the old one cannot land in it.
  a.file.write(kStart);
  REQUIRE(a.reloader->reload().kind == agent::ReloadOutcome::Kind::Applied);
  CHECK(a.id_of("api") != api_id);
  CHECK(a.reloader->status().generation == 3);
}

TEST_CASE("a bad config is refused whole with file and line, and the running generation is untouched",
          "[config_reload]") {
  Agent a(kStart);
  a.pin("app", 10);
  SECTION("YAML syntax error") { a.file.write(replaced(kStart, "    ttl: 60s\n    capacity", "    ttl: [60s\n    capacity")); }
  SECTION("unknown key") { a.file.write(replaced(kStart, "    ttl: 60s\n    capacity", "    ttl: 60s\n    colour: red\n    capacity")); }
  SECTION("bad CIDR in a new backend") {
    a.file.write(std::string(kStart) + "  - name: cdn\n    servers: [{name: c1}]\n    true_client_ip: {trusted: [\"10.0.0.0/33\"]}\n");
  }
  SECTION("missing cookie secret file") {
    a.file.write(std::string(kStart) + "  - name: shop\n    servers: [{name: h1}]\n    agent_cookie: {secrets: [/nonexistent/secret]}\n");
  }
  const agent::ReloadOutcome r = a.reloader->reload();
  CHECK(r.kind == agent::ReloadOutcome::Kind::Refused);
  REQUIRE_FALSE(r.errors.empty());
  CHECK(r.errors.front().find(a.file.path.string()) != std::string::npos);
  CHECK(r.generation == 1);
  CHECK(a.persist->current()->generation() == 1);
  CHECK(a.persist->current()->size() == 2);
  CHECK(a.persist->table().size() == 10);
  const agent::ReloadStatus s = a.reloader->status();
  CHECK(s.refused == 1);
  CHECK_FALSE(s.last_successful());
  CHECK(s.generation == 1);
  // Fixed, it applies.
  a.file.write(kStart);
  CHECK(a.reloader->reload().kind == agent::ReloadOutcome::Kind::Applied);
  CHECK(a.reloader->status().last_successful());
}

TEST_CASE("the YAML error names the line", "[config_reload]") {
  Agent a(kStart);
  a.file.write(replaced(kStart, "    ttl: 60s\n    capacity", "    ttl: 60s\n    colour: red\n    capacity"));
  const agent::ReloadOutcome r = a.reloader->reload();
  REQUIRE(r.kind == agent::ReloadOutcome::Kind::Refused);
  CHECK(mentions(r.errors, a.file.path.string() + ":6"));
}

TEST_CASE("start-up settings a reload cannot apply are listed, the rest is applied", "[config_reload]") {
  Agent a(kStart);
  std::string next = replaced(kStart, "  threads: 2\n", "  threads: 4\n  max_connections: 20\n");
  next = replaced(next, "    capacity: 5000\n", "    capacity: 9000\n");
  next = replaced(next, "    ttl: 60s\n    capacity", "    ttl: 90s\n    capacity");
  a.file.write(next);
  const agent::ReloadOutcome r = a.reloader->reload();
  REQUIRE(r.kind == agent::ReloadOutcome::Kind::Applied);
  CHECK(mentions(r.restart_needed, "agent.threads"));
  CHECK(mentions(r.restart_needed, "agent.max_connections"));
  CHECK(mentions(r.restart_needed, "backends.app.capacity"));
  CHECK(r.restart_needed.size() == 3);
  const auto g = a.persist->current();
  CHECK(g->backend(g->find("app")).engine->options().ttl_ms == 90'000);  // applied
  CHECK(a.persist->table().capacity_for_backend(a.id_of("app")) == 5000);  // kept until a restart
  // Still waiting after another reload of the same file; gone once the file says what runs.
  CHECK(a.reloader->reload().restart_needed.size() == 3);
  a.file.write(kStart);
  const agent::ReloadOutcome back = a.reloader->reload();
  CHECK(back.restart_needed.empty());
  CHECK(a.reloader->status().restart_needed.empty());
}

TEST_CASE("a command-line setting hides the file's value from the restart list", "[config_reload]") {
  config::Config running, next;
  next.agent.threads = 8;
  next.agent.metrics = "127.0.0.1:9999";
  agent::CliOptions cli;
  CHECK(agent::restart_needed(running, next, cli).size() == 2);
  cli.threads = 3;
  cli.metrics_address = "127.0.0.1:1";
  CHECK(agent::restart_needed(running, next, cli).empty());
  next.redis = config::RedisSection{};
  CHECK(agent::restart_needed(running, next, cli) == std::vector<std::string>{"redis"});
  // Other settings of a Redis already in use apply live (reconnecting); only adding or removing it waits.
  running.redis = config::RedisSection{};
  running.redis->address = "127.0.0.1:6379";
  next.redis->address = "127.0.0.1:6380";
  next.redis->command_timeout = config::Duration{300};
  CHECK(agent::restart_needed(running, next, cli).empty());
  CHECK(agent::with_startup_settings(next, running).redis->address == "127.0.0.1:6380");
  next.redis.reset();
  CHECK(agent::restart_needed(running, next, cli) == std::vector<std::string>{"redis"});
  CHECK(agent::with_startup_settings(next, running).redis->address == "127.0.0.1:6379");
}

TEST_CASE("without a config file there is nothing to reload", "[config_reload]") {
  config::Config cfg;
  std::vector<std::string> errors, warnings;
  auto persist = agent::PersistRuntime::build(cfg, errors);
  auto hsaf = agent::HsafRuntime::build(cfg, errors, warnings);
  health::HealthPoller poller(agent::health_options(cfg));
  agent::ConfigReloader reloader({}, cfg, {*persist, *hsaf, poller, nullptr});
  const agent::ReloadOutcome r = reloader.reload();
  CHECK(r.kind == agent::ReloadOutcome::Kind::NoFile);
  CHECK_FALSE(r.errors.empty());
  CHECK(reloader.status().applied == 0);
  CHECK(reloader.status().refused == 0);
  CHECK(reloader.status().last_successful());
}
