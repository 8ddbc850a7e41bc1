"""Hot reload of the agent config (SIGHUP and POST /api/v1/reload) behind a real HAProxy: applied
between requests under traffic with every pin kept (same server, same creation time); a bad config
refused whole with FILE:LINE while the old one keeps serving; a removed backend's pins dropped and
counted; cookie secrets rotated; a new trusted edge believed only after the reload; Redis
connections kept; settings only a restart applies listed; the admin call guarded by its token."""
import base64
import re
import signal
import time
import unittest

import steady_load
from admin_stack import Admin, write_token
from harness import Stack, free_port, settled, wait_port, wait_until
from persist_stack import Http, get
from reload_stack import (APPLIED, EDGES, REFUSED, ReloadStack, insert_backend, learn_backend, line_of)
from shared_stack import redis_cli, redis_key, redis_section
from stable_hash import cookie_key_id

LATE_SHARE = 0.02  # answers HAProxy gave alone after the 50 ms SPOE timeout (a loaded 2-core box)
MINUTE_MS = 60 * 1000


def ask(port, client, path="/", source=None, cookie=None):
    """One request as True-Client-IP `client` (None: no header), decided by the agent (asked again
    while it was late); the response headers."""
    headers = {"True-Client-IP": client} if client else {}
    if cookie:
        headers["Cookie"] = f"STKY={cookie}"
    status, h, _ = get(port, path, headers, source=source)
    assert status == 200, (status, h)
    return h


def cookie_of(h):
    m = re.search(r"STKY=([^;]+)", h.get("set-cookie", ""))
    return m.group(1) if m else None


def key_id(cookie):
    """The key id a cookie says it was sealed with (low nibble of its first byte, policy/cookie_codec.h)."""
    return base64.urlsafe_b64decode(cookie + "=" * (-len(cookie) % 4))[0] & 0x0F


class ReloadUnderTraffic(unittest.TestCase):
    """Its own stack: the first reload of a fresh agent, under load."""

    def test_sighup_with_a_new_ttl_and_a_new_backend_keeps_every_client_on_its_server(self):
        with Stack(prefix="sticky-reload-load-") as stack:
            r = ReloadStack(stack, [insert_backend(ttl="30m")])
            c = r.config()
            self.assertEqual((c["generation"], c["source"], c["restart_needed"]), (1, r.path, []), c)
            self.assertEqual(c["last_reload"]["outcome"], "none", c)
            m = r.metrics()
            self.assertEqual((m["sticky_config_generation"], m["sticky_config_last_reload_successful"],
                              m[APPLIED], m[REFUSED], m["sticky_config_restart_needed"]), (1, 1, 0, 0, 0))
            # app_learn is not in the agent config yet: HAProxy balances it alone.
            for _ in range(3):
                _, h, _ = get(r.port, "/learn/x", {"True-Client-IP": "198.51.100.200"})
                self.assertNotIn("x-sticky-reason", h)

            clients = [f"198.51.100.{i}" for i in range(1, 41)]
            load = steady_load.Load(r.port, threads=4, rate=100, duration=8.0,
                                    client_of=steady_load.returning(len(clients)))
            try:
                def all_pinned():
                    found = {}
                    for client in clients:
                        status, e = r.lookup(client)
                        if status != 200:
                            return None
                        found[client] = (e["server"], e["created_ms"])
                    return found
                pins = wait_until(all_pinned, timeout=6, interval=0.2, what="all 40 load clients pinned")
                time.sleep(1.0)
                r.write([insert_backend(ttl="20m"), learn_backend()])
                reload_at = time.monotonic()
                r.agent.p.send_signal(signal.SIGHUP)
                wait_until(lambda: r.config()["generation"] == 2, timeout=5, what="generation 2")
                time.sleep(max(0.0, 2.5 - (time.monotonic() - reload_at)))
            finally:
                records = load.finish()

            self.assertEqual(steady_load.failed(records), [])
            before = [x for x in records if x[0] < reload_at]
            after = [x for x in records if x[0] >= reload_at]
            self.assertGreater(len(before), 100)
            self.assertGreater(len(after), 100)
            late = steady_load.undecided(records)
            self.assertLessEqual(set(late), {"1"}, "answers without the agent other than its late ones")
            self.assertLessEqual(sum(late.values()), max(3, len(records) * LATE_SHARE), late)
            # Every answer the agent decided sent the client to the server it was pinned to first.
            for client, (server, _) in pins.items():
                served = {x[4] for x in records if x[3] == client and x[5]}
                self.assertEqual(served, {server}, client)
            # The table was kept: same server, same creation time; touched since, with the new TTL.
            for client, (server, created) in pins.items():
                status, e = r.lookup(client)
                self.assertEqual((status, e["server"], e["created_ms"]), (200, server, created), client)
                self.assertAlmostEqual(e["expires_ms"] - e["last_seen_ms"], 20 * MINUTE_MS, delta=2000)

            c = r.config()
            self.assertEqual((c["generation"], c["restart_needed"]), (2, []), c)
            self.assertEqual((c["last_reload"]["outcome"], c["last_reload"]["errors"]), ("applied", []), c)
            self.assertLess(abs(c["last_reload"]["at"] - time.time()), 30, c)
            m = r.metrics()
            self.assertEqual((m["sticky_config_generation"], m[APPLIED], m[REFUSED],
                              m["sticky_config_last_reload_successful"], m["sticky_config_restart_needed"]),
                             (2, 1, 0, 1, 0))
            self.assertAlmostEqual(m["sticky_config_last_reload_timestamp_seconds"], time.time(), delta=30)
            self.assertTrue(r.log_lines(r"config reload: generation 2 applied"), r.agent.output()[-2000:])

            # The added backend has its own pins now (a worker that met the name before the reload
            # as unknown must not keep ignoring it).
            status, b = r.admin.get("/api/v1/backends")
            self.assertEqual([x["name"] for x in b["backends"]], ["app_insert", "app_learn"], b)
            first = ask(r.port, "198.51.100.200", "/learn/x")
            self.assertEqual(first["x-sticky-reason"], "new")
            again = ask(r.port, "198.51.100.200", "/learn/y")
            self.assertEqual((again["x-sticky-reason"], again["x-server"]), ("client-ip", first["x-server"]))
            status, e = r.lookup("198.51.100.200", backend="app_learn")
            self.assertEqual((status, e["server"]), (200, first["x-server"]), e)
            # The same client on app_insert is another pin (a partition per backend).
            self.assertEqual(r.lookup("198.51.100.200")[0], 404)


class ReloadScenarios(unittest.TestCase):
    """One stack for the other scenarios; each test starts from the base config (reloaded)."""

    @classmethod
    def setUpClass(cls):
        cls.stack = Stack(prefix="sticky-reload-")
        try:
            cls.r = ReloadStack(cls.stack, [insert_backend(), learn_backend()])
        except Exception:
            cls.stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.stack.close()

    def setUp(self):
        self.r.write_file("edges.txt", EDGES)
        self.r.write(self.base())
        self.r.applied(self)

    def base(self):
        return [insert_backend(), learn_backend()]

    def pin(self, prefix, n, path="/", backend="app_insert"):
        """n True-Client-IP clients pinned: {client: (server, created_ms)}."""
        out = {}
        for i in range(1, n + 1):
            client = f"{prefix}.{i}"
            h = ask(self.r.port, client, path)
            status, e = self.r.lookup(client, backend)
            self.assertEqual((status, e["server"]), (200, h["x-server"]), e)
            out[client] = (e["server"], e["created_ms"])
        return out

    def assert_kept(self, pins, backend="app_insert", path="/"):
        for client, (server, created) in pins.items():
            h = ask(self.r.port, client, path)
            self.assertEqual((h["x-server"], h["x-sticky-reason"]), (server, "client-ip"), client)
            status, e = self.r.lookup(client, backend)
            self.assertEqual((status, e["server"], e["created_ms"]), (200, server, created), client)

    def ttl_ms(self, client, backend="app_insert"):
        ask(self.r.port, client, "/learn/t" if backend == "app_learn" else "/")
        status, e = self.r.lookup(client, backend)
        self.assertEqual(status, 200, e)
        return e["expires_ms"] - e["last_seen_ms"]

    # -- 2. a bad config is refused whole -----------------------------------------------------------

    def test_a_bad_config_is_refused_with_file_and_line_and_the_old_one_keeps_serving(self):
        pins = self.pin("198.18.20", 6)
        good = self.r.text(self.base())
        # Each bad config also shortens the TTL: refused whole means that change is not applied either.
        short = good.replace("ttl: 30m", "ttl: 5m", 1)
        cases = [
            ("sighup", "YAML syntax", short.replace("    capacity: 100000\n", "    capacity: [100000\n", 1),
             "capacity: [100000", None),
            ("admin", "unknown key", short.replace("    capacity: 100000\n", "    capacty: 100000\n", 1),
             "capacty:", "unknown key 'capacty'"),
            ("sighup", "bad CIDR", short.replace("      trusted_file: edges.txt\n",
                                                 "      trusted_file: edges.txt\n      trusted: [\"10.0.0.0/33\"]\n", 1),
             "10.0.0.0/33", "10.0.0.0/33"),
            ("admin", "missing secret file", short.replace("[cookie-a.key]", "[cookie-a.key, cookie-gone.key]", 1),
             "cookie-gone.key", "cookie-gone.key"),
            ("admin", "bad line in a trusted_file", short, None, "not-a-cidr"),
        ]
        generation = self.r.config()["generation"]
        for how, what, text, line_needle, reason in cases:
            with self.subTest(what):
                refused0 = self.r.metrics()[REFUSED]
                logged0 = len(self.r.log_lines(r"config reload refused"))
                self.r.write_text(text)
                if what == "bad line in a trusted_file":
                    self.r.write_file("edges.txt", EDGES + "not-a-cidr\n")
                if how == "admin":
                    status, body = self.r.reload()
                    self.assertEqual(status, 422, body)
                    self.assertEqual((body["outcome"], body["generation"]), ("refused", generation), body)
                    errors = body["errors"]
                else:
                    errors = self.r.sighup("refused")["last_reload"]["errors"]
                self.assertTrue(errors, what)
                if line_needle:
                    where = f"{self.r.path}:{line_of(text, line_needle)}:"
                    if what == "YAML syntax":
                        # The parser names the line it stopped on: that one or a later one.
                        m = re.match(re.escape(self.r.path) + r":(\d+): ", errors[0])
                        self.assertIsNotNone(m, errors)
                        self.assertGreaterEqual(int(m.group(1)), line_of(text, line_needle), errors)
                    else:
                        hit = [e for e in errors if e.startswith(where)]
                        self.assertTrue(hit, (where, errors))
                        self.assertIn(reason, hit[0])
                else:
                    where = self.r.stack.path("edges.txt") + ":2:"
                    self.assertTrue([e for e in errors if e.startswith(where) and reason in e], (where, errors))
                c = self.r.config()
                self.assertEqual((c["generation"], c["last_reload"]["outcome"]), (generation, "refused"), c)
                self.assertEqual(c["last_reload"]["errors"], errors)
                m = self.r.metrics()
                self.assertEqual((m[REFUSED], m["sticky_config_last_reload_successful"],
                                  m["sticky_config_generation"]), (refused0 + 1, 0, generation))
                # The old config still serves: same pins, the old TTL.
                self.assert_kept(pins)
                self.assertAlmostEqual(self.ttl_ms("198.18.20.1"), 30 * MINUTE_MS, delta=2000)
                wait_until(lambda: len(self.r.log_lines(r"config reload refused")) == logged0 + 1, timeout=2,
                           what="one 'config reload refused' log line")
                self.r.write_file("edges.txt", EDGES)
        # A good config again: applied, and the last reload is successful again.
        self.r.write_text(short)
        self.r.agent.p.send_signal(signal.SIGHUP)
        wait_until(lambda: self.r.config()["generation"] == generation + 1, timeout=5, what="the good reload")
        m = self.r.metrics()
        self.assertEqual(m["sticky_config_last_reload_successful"], 1)
        self.assertEqual(self.r.config()["last_reload"]["outcome"], "applied")
        self.assertAlmostEqual(self.ttl_ms("198.18.20.1"), 5 * MINUTE_MS, delta=2000)
        self.assert_kept(pins)

    # -- 3. a removed backend --------------------------------------------------------------------

    def test_removing_a_backend_drops_exactly_its_pins(self):
        learn_pins = self.pin("198.18.30", 12, "/learn/p", "app_learn")
        insert_pins = self.pin("198.18.31", 8)
        status, b = self.r.admin.get("/api/v1/backends/app_learn")
        self.assertEqual(status, 200, b)
        had = b["entries"]
        self.assertGreaterEqual(had, 12)
        dropped0 = self.r.metrics()["sticky_reload_dropped_pins_total"]
        entries0 = self.r.admin.backend("app_insert")["entries"]

        self.r.write([insert_backend()])
        body = self.r.applied(self)
        self.assertEqual(body["dropped_pins"], had, body)
        self.assertTrue([ch for ch in body["changes"] if "app_learn" in ch], body)
        m = self.r.metrics()
        self.assertEqual(m["sticky_reload_dropped_pins_total"] - dropped0, had)
        self.assertEqual(self.r.admin.get("/api/v1/backends/app_learn")[0], 404)
        _, h, _ = get(self.r.port, "/learn/p", {"True-Client-IP": "198.18.30.1"})
        self.assertNotIn("x-sticky-reason", h)  # HAProxy balances it alone again
        # The other backend kept everything.
        self.assertEqual(self.r.admin.backend("app_insert")["entries"], entries0)
        self.assert_kept(insert_pins)
        # Added back, the backend starts empty: its pins were dropped, not hidden.
        self.r.write(self.base())
        self.assertEqual(self.r.applied(self)["dropped_pins"], 0)
        self.assertEqual(self.r.admin.backend("app_learn")["entries"], 0)
        for client in list(learn_pins)[:3]:
            self.assertEqual(self.r.lookup(client, "app_learn")[0], 404, client)
            self.assertEqual(ask(self.r.port, client, "/learn/p")["x-sticky-reason"], "new")

    # -- 4. cookie secrets rotated -------------------------------------------------------------------

    def rejected(self):
        def read():
            m = self.r.metrics()
            return {k: v for k, v in m.items() if k.startswith("sticky_agent_cookie_rejected_total")}
        return settled(read, quiet=1.2, what="cookie rejection counters")

    def test_cookie_secret_rotation(self):
        # Cookie clients without a True-Client-IP header, each from its own /24: first visits.
        old = {}
        for i in range(6):
            h = ask(self.r.port, None, source=f"127.0.{60 + i}.1")
            old[cookie_of(h)] = h["x-server"]
        self.assertNotIn(None, old)
        # The new secret deliberately shares the old one's key id (the harder case, 1 rotation in 16):
        # only the MAC tells the two keys' cookies apart.
        self.r.new_secret_sharing_id("cookie-b.key", "cookie-a.key")
        self.r.write([insert_backend(secret_files=("cookie-b.key", "cookie-a.key")), learn_backend()])
        self.r.applied(self)
        # Cookies issued before still route their clients (from other subnets: only the cookie can).
        for n, (ck, server) in enumerate(old.items()):
            h = ask(self.r.port, None, source=f"127.0.{120 + n}.9", cookie=ck)
            self.assertEqual((h["x-server"], h["x-sticky-reason"]), (server, "cookie"), ck)
        # New clients get cookies made with the new key.
        new = {}
        for i in range(4):
            h = ask(self.r.port, None, source=f"127.0.{70 + i}.1")
            new[cookie_of(h)] = h["x-server"]
        self.assertNotIn(None, new)
        with open(self.r.stack.path("cookie-a.key")) as f:
            shared_id = cookie_key_id(f.read())
        self.assertEqual({key_id(ck) for ck in old} | {key_id(ck) for ck in new}, {shared_id})

        # The old secret dropped: its cookies are refused (counted) and their clients placed again
        # with a fresh cookie; the new cookies keep working.
        self.r.write([insert_backend(secret_files=("cookie-b.key",)), learn_backend()])
        self.r.applied(self)
        rejected0 = self.rejected()
        for n, (ck, server) in enumerate(old.items()):
            h = ask(self.r.port, None, source=f"127.0.{140 + n}.9", cookie=ck)
            self.assertNotEqual(h["x-sticky-reason"], "cookie", ck)
            fresh = cookie_of(h)
            self.assertIsNotNone(fresh, h)
            h2 = ask(self.r.port, None, source=f"127.0.{160 + n}.9", cookie=fresh)
            self.assertEqual((h2["x-server"], h2["x-sticky-reason"]), (h["x-server"], "cookie"))
        for n, (ck, server) in enumerate(new.items()):
            h = ask(self.r.port, None, source=f"127.0.{180 + n}.9", cookie=ck)
            self.assertEqual((h["x-server"], h["x-sticky-reason"]), (server, "cookie"), ck)
        rejected1 = self.rejected()
        delta = {k: rejected1[k] - rejected0.get(k, 0) for k in rejected1}
        # Their id is still known (the new key has it), so they fail as forged, not as unknown.
        self.assertEqual(delta['sticky_agent_cookie_rejected_total{status="bad_mac"}'], len(old), delta)
        self.assertEqual(sum(delta.values()), len(old), delta)

    # -- 5. a trusted edge added ----------------------------------------------------------------------

    def test_a_true_client_ip_edge_added_by_reload_is_believed_only_after_it(self):
        edge, other = "127.0.55.1", "127.0.56.1"
        for client in ("203.0.113.77", "203.0.113.78"):
            h = ask(self.r.port, client, source=edge)
            self.assertIn(h["x-sticky-reason"], ("new", "subnet"))
            self.assertEqual(self.r.lookup(client)[0], 404)
        # Only the file changes: the reload re-reads the files the config names.
        self.r.write_file("edges.txt", EDGES + "127.0.55.0/24\n")
        self.r.applied(self)
        h = ask(self.r.port, "203.0.113.77", source=edge)
        self.assertEqual(h["x-sticky-reason"], "new")
        status, e = self.r.lookup("203.0.113.77")
        self.assertEqual((status, e["server"]), (200, h["x-server"]), e)
        again = ask(self.r.port, "203.0.113.77", source=edge)
        self.assertEqual((again["x-sticky-reason"], again["x-server"]), ("client-ip", h["x-server"]))
        # Another untrusted edge is still not believed.
        h = ask(self.r.port, "203.0.113.79", source=other)
        self.assertNotEqual(h["x-sticky-reason"], "client-ip")
        self.assertEqual(self.r.lookup("203.0.113.79")[0], 404)

    # -- restart-only settings ------------------------------------------------------------------------

    def test_settings_only_a_restart_applies_are_listed_and_the_rest_applied(self):
        pins = self.pin("198.18.40", 5)
        self.r.write([insert_backend(ttl="10m", capacity=200000), learn_backend()],
                     poll_interval="300ms", max_connections=5000, log_level="debug")
        body = self.r.applied(self)
        needed = body["restart_needed"]
        for name in ("capacity", "poll_interval", "max_connections"):
            self.assertTrue([x for x in needed if name in x], (name, needed))
        self.assertFalse([x for x in needed if "log_level" in x or "ttl" in x], needed)
        self.assertEqual(self.r.config()["restart_needed"], needed)
        self.assertEqual(self.r.metrics()["sticky_config_restart_needed"], len(needed))
        # Logged too, with the names.
        logged = "\n".join(self.r.log_lines(r"restart"))
        for name in ("capacity", "poll_interval", "max_connections"):
            self.assertIn(name, logged, self.r.agent.output()[-2000:])
        self.assertAlmostEqual(self.ttl_ms("198.18.40.1"), 10 * MINUTE_MS, delta=2000)
        self.assert_kept(pins)
        # Back to the running values: nothing waits for a restart any more.
        self.r.write(self.base())
        self.assertEqual(self.r.applied(self)["restart_needed"], [])
        self.assertEqual(self.r.metrics()["sticky_config_restart_needed"], 0)

    # -- 7. the admin call needs its token -------------------------------------------------------------

    def test_reload_without_the_right_token_is_refused_and_reloads_nothing(self):
        generation = self.r.config()["generation"]
        m0 = self.r.metrics()
        self.r.write([insert_backend(ttl="7m"), learn_backend()])
        status, body = self.r.reload(token="")
        self.assertEqual(status, 401, body)
        status, body = self.r.reload(token=self.r.admin.token + "x")
        self.assertEqual((status, body["error"]), (401, "wrong token"), body)
        status, _, _ = self.r.admin.raw("POST", "/api/v1/reload")
        self.assertEqual(status, 401)
        self.assertEqual(self.r.config()["generation"], generation)
        m = self.r.metrics()
        self.assertEqual((m[APPLIED], m[REFUSED]), (m0[APPLIED], m0[REFUSED]))
        self.assertAlmostEqual(self.ttl_ms("198.18.50.1"), 30 * MINUTE_MS, delta=2000)
        self.assertEqual(self.r.applied(self)["generation"], generation + 1)
        self.assertAlmostEqual(self.ttl_ms("198.18.50.1"), 7 * MINUTE_MS, delta=2000)


class ReloadWithRedis(unittest.TestCase):
    """6. Real redis-servers: a reload keeps the agent's connections when the settings are the same,
    and moves every connection to a new Redis when they change, with the writes still waiting."""

    def test_same_settings_keep_the_connections_and_new_ones_move_them(self):
        with Stack(prefix="sticky-reload-redis-") as stack:
            redis = stack.start_redis()
            section = redis_section(redis.port, "r1")
            r = ReloadStack(stack, [insert_backend()], redis=section)

            def ids(port):
                # Every connection but redis-cli's own (the one running CLIENT LIST).
                return {l.split()[0] for l in redis_cli(port, "CLIENT", "LIST").splitlines()
                        if "cmd=client" not in l}

            def in_redis(port, client):
                return wait_until(lambda: redis_cli(port, "EXISTS", redis_key(client, "app_insert")) == "1",
                                  timeout=5, what=f"{client} written to the Redis on {port}")

            pins = {}
            for i in range(1, 6):
                client = f"198.18.60.{i}"
                pins[client] = ask(r.port, client)["x-server"]
                in_redis(redis.port, client)
            connects = settled(lambda: r.metrics()["sticky_redis_connects_total"], quiet=1.0, what="redis connects")
            clients0 = ids(redis.port)
            self.assertTrue(clients0)

            # Redis settings unchanged: same connections.
            r.write([insert_backend(ttl="12m")], redis=section)
            body = r.applied(self)
            self.assertEqual(body["restart_needed"], [], body)
            self.assertEqual(settled(lambda: r.metrics()["sticky_redis_connects_total"], quiet=1.0), connects)
            self.assertEqual(ids(redis.port), clients0)
            ask(r.port, "198.18.61.1")
            in_redis(redis.port, "198.18.61.1")

            # Only the lookup deadline changed: the workers' clients are made again, the subscriber
            # (no lookups) stays subscribed: no new warm-up pass over Redis.
            scans = settled(lambda: r.metrics()["sticky_redis_warmup_scans_total"], quiet=1.2, what="warm-ups")
            r.write([insert_backend(ttl="12m")], redis=section.replace("lookup_deadline: 20ms", "lookup_deadline: 30ms"))
            self.assertEqual(r.applied(self)["restart_needed"], [])
            workers = settled(lambda: r.metrics()["sticky_redis_connected"], quiet=1.2, what="workers connected")
            wait_until(lambda: r.metrics()["sticky_redis_connects_total"] >= connects + workers, timeout=5,
                       what="each worker connected again")
            self.assertEqual(r.metrics().get("sticky_redis_settings_pending"), 0)
            self.assertEqual(settled(lambda: r.metrics()["sticky_redis_warmup_scans_total"], quiet=1.2), scans)

            # The first Redis dies: new clients are placed anyway, their writes wait in the queues.
            redis.stop(signal.SIGKILL)
            waiting = [f"198.18.62.{i}" for i in range(1, 5)]
            for client in waiting:
                pins[client] = ask(r.port, client)["x-server"]
            wait_until(lambda: r.metrics().get("sticky_redis_queue_depth", 0) >= len(waiting), timeout=5,
                       what="the writes queued while Redis is down")

            # A reload names another Redis: applied live (nothing waits for a restart), every
            # connection is made again there within about a second, and the queued writes land in it.
            redis2 = stack.start_redis("redis2")
            r.write([insert_backend(ttl="14m")], redis=redis_section(redis2.port, "r1"))
            body = r.applied(self)
            self.assertEqual(body["restart_needed"], [], body)
            self.assertIn("redis: new settings, reconnecting", body["changes"])
            self.assertEqual(r.metrics()["sticky_config_restart_needed"], 0)
            for client in waiting:
                in_redis(redis2.port, client)
            wait_until(lambda: len(ids(redis2.port)) >= len(clients0), timeout=5,
                       what="as many agent connections on the new Redis as on the old one")
            wait_until(lambda: r.metrics().get("sticky_redis_queue_depth") == 0, timeout=5, what="the queues drained")
            # The table was kept: every client stays on its server; new pins go to the new Redis
            # with the new TTL.
            for client, server in pins.items():
                h = ask(r.port, client)
                self.assertEqual((h["x-server"], h["x-sticky-reason"]), (server, "client-ip"), client)
            ask(r.port, "198.18.61.2")
            in_redis(redis2.port, "198.18.61.2")
            status, e = r.lookup("198.18.61.2")
            self.assertAlmostEqual(e["expires_ms"] - e["last_seen_ms"], 14 * MINUTE_MS, delta=2000)
            pttl = int(redis_cli(redis2.port, "PTTL", redis_key("198.18.61.2", "app_insert")))
            self.assertAlmostEqual(pttl, 14 * MINUTE_MS, delta=5000)


    def test_settings_that_never_connect_leave_the_running_connection_in_use(self):
        with Stack(prefix="sticky-reload-redis-dead-") as stack:
            redis = stack.start_redis()
            section = redis_section(redis.port, "r1")
            r = ReloadStack(stack, [insert_backend()], redis=section)
            ask(r.port, "198.18.63.1")
            wait_until(lambda: redis_cli(redis.port, "EXISTS", redis_key("198.18.63.1", "app_insert")) == "1",
                       timeout=5, what="the first pin in Redis")
            workers = settled(lambda: r.metrics()["sticky_redis_connected"], quiet=1.2, what="workers connected")
            self.assertGreaterEqual(workers, 1)

            self.assertEqual(r.config()["redis"], {
                "servers": f"127.0.0.1:{redis.port}", "cluster": "it", "node_id": "r1", "workers": workers,
                "workers_connected": workers, "workers_on_previous_settings": 0, "queue_depth": 0})

            # A port nothing listens on: the reload applies, no worker can switch, the old
            # connections keep serving, and the metric and the admin API say how many workers wait.
            dead = free_port()
            r.write([insert_backend()], redis=redis_section(dead, "r1"))
            self.assertEqual(r.applied(self)["restart_needed"], [])
            wait_until(lambda: r.metrics().get("sticky_redis_settings_pending") == workers, timeout=5,
                       what="every worker waiting for the new settings to connect")
            self.assertEqual(r.metrics()["sticky_redis_connected"], workers)
            redis_now = r.config()["redis"]
            self.assertEqual((redis_now["servers"], redis_now["workers_connected"],
                              redis_now["workers_on_previous_settings"]), (f"127.0.0.1:{dead}", workers, workers))
            ask(r.port, "198.18.63.2")
            wait_until(lambda: redis_cli(redis.port, "EXISTS", redis_key("198.18.63.2", "app_insert")) == "1",
                       timeout=5, what="a new pin written through the running connection")

            # Back to settings that connect: nothing waits any more.
            r.write([insert_backend()], redis=section)
            r.applied(self)
            wait_until(lambda: r.metrics().get("sticky_redis_settings_pending") == 0, timeout=5,
                       what="no worker waiting")
            self.assertEqual(settled(lambda: r.metrics()["sticky_redis_connected"], quiet=1.2), workers)


class ReloadWithoutConfigFile(unittest.TestCase):
    def test_an_agent_started_without_a_config_file_answers_409_and_survives_sighup(self):
        with Stack(prefix="sticky-reload-noconf-") as stack:
            token, token_path = write_token(stack)
            admin_port = free_port()
            agent = stack.start_agent("--admin", f"127.0.0.1:{admin_port}", "--admin-token-file", token_path)
            wait_port(admin_port)
            admin = Admin(admin_port, token)
            status, body = admin.call("POST", "/api/v1/reload")
            self.assertEqual(status, 409, body)
            self.assertTrue(body["error"], body)
            agent.p.send_signal(signal.SIGHUP)
            time.sleep(0.5)
            self.assertTrue(agent.alive(), agent.output())
            self.assertEqual(admin.get("/api/v1/config")[0], 200)


if __name__ == "__main__":
    unittest.main()
