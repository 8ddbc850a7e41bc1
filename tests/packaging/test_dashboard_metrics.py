"""Every metric docker/grafana/sticky-agent-dashboard.json queries, with every label it filters or
groups by and every label value it selects, exists in the /metrics output of a real agent (with
Redis sharing and the fast-path table on, so their metrics are exported) against a real
redis-server on loopback. A renamed metric then breaks this test, not a dashboard in production."""
import json
import os
import re
import sys
import unittest

from packaging_env import SOURCE_DIR

sys.path.insert(0, os.path.join(SOURCE_DIR, "tests", "integration"))
from harness import Http, Stack, free_port, wait_port, wait_until  # noqa: E402

DASHBOARD = os.path.join(SOURCE_DIR, "docker", "grafana", "sticky-agent-dashboard.json")
SELECTOR = re.compile(r"\b(sticky_[a-z0-9_]+)\s*(\{[^}]*\})?")
MATCHER = re.compile(r'([a-z_]+)\s*(=~|!=|!~|=)\s*"([^"]*)"')
GROUPING = re.compile(r"\b(?:by|without)\s*\(([^)]*)\)\s*\(\s*(?:rate|irate|increase)?\(?\s*(sticky_[a-z0-9_]+)")
SAMPLE = re.compile(r"^(sticky_[a-z0-9_]+)(?:\{([^}]*)\})? \S+$")


def dashboard_queries():
    with open(DASHBOARD) as f:
        dash = json.load(f)
    exprs = []

    def walk(panels):
        for p in panels:
            walk(p.get("panels", []))
            for t in p.get("targets", []):
                exprs.append((p["title"], t["expr"]))
    walk(dash["panels"])
    return exprs


def exported(text):
    """{metric name: {label: {values}}} from Prometheus text."""
    out = {}
    for line in text.splitlines():
        m = SAMPLE.match(line)
        if not m:
            continue
        labels = out.setdefault(m.group(1), {})
        for name, _, value in MATCHER.findall(m.group(2) or ""):
            labels.setdefault(name, set()).add(value)
    return out


class DashboardMetrics(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(prefix="sticky-dash-")
        try:
            redis = cls.stack.start_redis()
            metrics_port = free_port()
            config = cls.stack.write("agent.yaml", f"""
agent:
  metrics: 127.0.0.1:{metrics_port}
haproxy:
  runtime_api: unix:{cls.stack.path("no-haproxy.sock")}
  poll_interval: 1s
redis:
  address: 127.0.0.1:{redis.port}
  cluster: dash
  node_id: dash1
backends:
  - name: app
    haproxy_table: app
    servers: [{{name: s1, weight: 1}}, {{name: s2, weight: 1}}]
""")
            cls.stack.start_agent("--config", config)
            wait_port(metrics_port)

            def scrape():
                h = Http(metrics_port, timeout=5)
                try:
                    return h.get("/metrics")[2].decode()
                finally:
                    h.close()
            # Scraped once the agent's Redis links are up, so what is exported is the connected set.
            connected = re.compile(r"(?m)^sticky_redis_connects_total [1-9]")
            cls.metrics = wait_until(lambda: (lambda t: t if connected.search(t) else None)(scrape()),
                                     timeout=15, interval=0.2, what="agent metrics with Redis connected")
        except BaseException:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def test_dashboard_has_the_panels_asked_for(self):
        titles = " | ".join(t for t, _ in dashboard_queries()).lower()
        for topic in ("decisions by reason", "moves", "redis links", "redis lookups", "queue", "table size",
                      "table churn", "fast path"):
            self.assertIn(topic, titles)

    def test_every_queried_metric_label_and_value_is_exported(self):
        have = exported(self.metrics)
        self.assertIn("sticky_redis_queue_depth", have)  # the scrape is from an agent with Redis on
        queries = dashboard_queries()
        self.assertGreaterEqual(len(queries), 25)
        checked = set()
        for title, expr in queries:
            names = SELECTOR.findall(expr)
            self.assertTrue(names, f"{title}: no sticky_ metric in {expr}")
            for name, selector in names:
                with self.subTest(panel=title, metric=name):
                    self.assertIn(name, have, f"{title}: {name} is not in the agent's /metrics")
                    for label, op, value in MATCHER.findall(selector or ""):
                        if label == "instance":  # added by Prometheus when it scrapes
                            continue
                        self.assertIn(label, have[name], f"{title}: {name} has no label {label}")
                        if op == "=":
                            self.assertIn(value, have[name][label], f"{title}: {name}{{{label}}} never is {value!r}")
                    checked.add(name)
            for labels, name in GROUPING.findall(expr):
                for label in (x.strip() for x in labels.split(",") if x.strip()):
                    with self.subTest(panel=title, metric=name, by=label):
                        self.assertIn(label, have.get(name, {}), f"{title}: grouped by {label}, which {name} lacks")
        self.assertGreaterEqual(len(checked), 30, sorted(checked))


if __name__ == "__main__":
    unittest.main()
