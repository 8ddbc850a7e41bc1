// EngineRegistry: open connections by HAProxy engine-id, and how they render for Prometheus.
#include <catch2/catch.hpp>

#include <string>

#include "metrics/engine_registry.h"

using sticky::metrics::EngineRegistry;

TEST_CASE("Connections are counted by engine-id and an engine disappears with its last connection",
          "[engine_registry]") {
  EngineRegistry r;
  r.add("6c1c8a28-old");
  r.add("6c1c8a28-old");
  r.add("9f0e51b7-new");
  CHECK(r.engines() == 2);
  CHECK(r.connections("6c1c8a28-old") == 2);
  r.remove("6c1c8a28-old");
  r.remove("6c1c8a28-old");
  CHECK(r.engines() == 1);  // the reloaded-away HAProxy has drained
  CHECK(r.connections("6c1c8a28-old") == 0);
  r.remove("never-added");  // harmless
  CHECK(r.engines() == 1);
  std::string out;
  r.render(out);
  CHECK(out.find("sticky_haproxy_engines 1\n") != std::string::npos);
  CHECK(out.find("sticky_haproxy_engine_connections{engine_id=\"9f0e51b7-new\"} 1\n") != std::string::npos);
  CHECK(out.find("old") == std::string::npos);
}

TEST_CASE("Engine-ids from the peer are cut, escaped and bounded in the rendering", "[engine_registry]") {
  EngineRegistry r;
  r.add(std::string(500, 'x'));
  CHECK(r.connections(std::string(EngineRegistry::kMaxIdBytes, 'x')) == 1);
  r.add("a\"b\\c\nd\x01");
  r.add("");
  std::string out;
  r.render(out);
  CHECK(out.find("{engine_id=\"" + std::string(EngineRegistry::kMaxIdBytes, 'x') + "\"} 1\n") != std::string::npos);
  CHECK(out.find("{engine_id=\"a\\\"b\\\\c\\nd\"} 1\n") != std::string::npos);
  CHECK(out.find("{engine_id=\"unknown\"} 1\n") != std::string::npos);

  EngineRegistry many;
  for (int i = 0; i < 40; ++i) many.add("engine-" + std::to_string(i));
  many.add("engine-7");  // two connections: rendered first
  std::string page;
  many.render(page);
  CHECK(page.find("sticky_haproxy_engines 40\n") != std::string::npos);
  CHECK(page.find("sticky_haproxy_engine_connections{engine_id=\"engine-7\"} 2\n") <
        page.find("sticky_haproxy_engine_connections{engine_id=\"engine-0\"} 1\n"));
  CHECK(page.find("{engine_id=\"other\"} 8\n") != std::string::npos);  // 40 - 32 rendered one by one
}
