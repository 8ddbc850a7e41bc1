"""The admin web page in a real browser (Debian's chromium, headless, driven over the DevTools
protocol): it loads from the agent, takes the token, shows a server's pins changing after real
traffic through HAProxy, and its drain button changes HAProxy's own state. A screenshot is kept
under the build dir (test-artifacts/) as the run's evidence."""
import collections
import os
import subprocess
import unittest

from admin_stack import Admin, artifact_dir, haproxy_status, start_admin_stack
from cdp import CHROMIUM, Browser
from harness import HAPROXY_BIN, Stack, runtime_api, wait_until
from persist_stack import Http
from shared_stack import redis_section


def haproxy_version():
    out = subprocess.run([HAPROXY_BIN, "-v"], capture_output=True, text=True).stdout
    return out.split()[2] if out.startswith("HAProxy version") or out.startswith("HA-Proxy version") else "unknown"


@unittest.skipUnless(CHROMIUM, "chromium is not installed (tests/install-deps.sh installs it)")
class AdminPageInChromium(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(prefix="sticky-admin-page-")
        self.browser = None
        try:
            self.redis = self.stack.start_redis()
            self.s = start_admin_stack(self.stack, replacements=[
                ("backends:\n", redis_section(self.redis.port, "page") +
                 "hsaf:\n  - name: edge\n    input: {mode: url, query: drop}\n"
                 "    tiers: [{min: 100, max: 500}]\n    regions: [{name: local, backend: app}]\n"
                 "backends:\n")])
            self.browser = Browser()
        except Exception:
            self.tearDown()
            raise
        self.h = Http(self.s["port"])

    def tearDown(self):
        if self.browser:
            self.browser.close()
        if getattr(self, "h", None):
            self.h.close()
        self.stack.close()

    def dom_server(self, name):
        """(state, pins) of a server row as the page shows it."""
        return self.browser.js(
            f"(() => {{ const r = document.getElementById('srv-app/{name}'); if (!r) return null;"
            f" return [r.querySelector('[data-role=state]').textContent,"
            f" Number(r.querySelector('[data-role=pins]').textContent)]; }})()")

    def test_page_shows_pins_and_drains_through_haproxy(self):
        b = self.browser
        b.open(f"http://127.0.0.1:{self.s['admin']}/")
        b.wait_js("document.readyState === 'complete' && !!document.getElementById('login-form')", what="page loaded")
        # A wrong token is refused by the API and the page says so.
        b.js("document.getElementById('token').value = 'wrong-token-0123456789';"
             "document.getElementById('login-button').click(); true")
        b.wait_js("document.getElementById('login-error').textContent === 'wrong token'", what="wrong token refused")
        b.js(f"document.getElementById('token').value = '{self.s['token']}';"
             "document.getElementById('login-button').click(); true")
        b.wait_js("window.__stickyAdmin.refreshes > 0 && !document.getElementById('app').hidden", what="signed in")
        before = {n: self.dom_server(n) for n in ("s1", "s2", "s3")}
        self.assertTrue(all(v is not None and v[0] == "UP" for v in before.values()), before)

        # Real traffic through HAProxy: 45 new clients pinned by the agent.
        homes = {}
        for i in range(1, 46):
            _, headers, _ = self.h.get("/", {"True-Client-IP": f"198.19.0.{i}"})
            homes[f"198.19.0.{i}"] = headers["x-server"]
        tally = collections.Counter(homes.values())
        busiest = tally.most_common(1)[0][0]
        want = before[busiest][1] + tally[busiest]
        b.wait_js(f"(() => {{ const r = document.getElementById('srv-app/{busiest}');"
                  f" return r && Number(r.querySelector('[data-role=pins]').textContent) === {want}; }})()",
                  timeout=10, what=f"the page showing {want} pins on {busiest}")
        for n in ("s1", "s2", "s3"):
            self.assertEqual(self.dom_server(n)[1], before[n][1] + tally[n], n)

        # The HSAF map is drawn: one canvas with a cell per serial.
        b.wait_js("(() => { const c = document.getElementById('map-0-0'); return c && c.width > 100; })()",
                  what="the HSAF map drawn")
        # The dry run for a maintenance of the busiest server names its pins.
        b.js(f"document.getElementById('dr-server').value = '{busiest}';"
             "document.getElementById('dr-change').value = 'maint';"
             "document.getElementById('dr-run').click(); true")
        text = b.wait_js("document.getElementById('dryrun').dataset.done && document.getElementById('dryrun').textContent",
                         what="dry run shown")
        self.assertIn(f"{want} of", text)

        # Press drain: HAProxy itself reports the server draining, and so does the page.
        b.js(f"document.querySelector('button[data-action=drain][data-server={busiest}]').click(); true")
        wait_until(lambda: haproxy_status(self.s["sock"], "app", busiest) == "DRAIN", timeout=10,
                   what="HAProxy draining the server")
        b.wait_js(f"(() => {{ const r = document.getElementById('srv-app/{busiest}');"
                  f" return r && r.querySelector('[data-role=state]').textContent === 'DRAIN'; }})()",
                  timeout=10, what="the page showing DRAIN")
        # The serial map follows: a drained peer gives up its serials (the legend says so).
        b.wait_js(f"document.getElementById('hsaf').textContent.includes('{busiest} drain')", timeout=20,
                  what="the HSAF map redrawn with the peer draining")
        action = b.js("window.__stickyAdmin.lastAction")
        self.assertEqual((action["action"], action["status"], action["body"]["ok"]), ("drain", 200, True), action)
        self.assertIn(f"web@127.0.0.1", self.s["agent"].output())
        shot = b.screenshot(os.path.join(artifact_dir(), f"admin-page-haproxy-{haproxy_version()}.png"))
        self.assertGreater(os.path.getsize(shot), 10000)
        # And ready undoes it, from the page too.
        b.js(f"document.querySelector('button[data-action=ready][data-server={busiest}]').click(); true")
        wait_until(lambda: haproxy_status(self.s["sock"], "app", busiest) == "UP", timeout=10, what="HAProxy: UP")
        # The config panel: generation 1, then the reload button reloads the file (generation 2)
        # and the pins shown stay what they were.
        b.wait_js("(() => { const g = document.getElementById('cfg-generation'); return g && g.textContent === '1'; })()",
                  what="the page showing config generation 1")
        pins_before = {n: self.dom_server(n)[1] for n in ("s1", "s2", "s3")}
        b.js("document.getElementById('reload-button').click(); true")
        b.wait_js("(() => { const g = document.getElementById('cfg-generation'); return g && g.textContent === '2'; })()",
                  timeout=10, what="the page showing config generation 2 after its reload button")
        action = b.js("window.__stickyAdmin.lastAction")
        self.assertEqual((action["action"], action["status"], action["body"]["outcome"]), ("reload", 200, "applied"))
        self.assertEqual(b.js("document.getElementById('cfg-outcome').textContent"), "applied")
        # Where the pins are shared, and the workers' links to it.
        self.assertEqual(b.js("document.getElementById('cfg-redis').textContent"), f"127.0.0.1:{self.redis.port}")
        self.assertRegex(b.js("document.getElementById('cfg-redis-links').textContent"), r"^\d+ of [1-9]\d*$")
        self.assertIsNone(b.js("document.getElementById('cfg-redis-pending')"))
        b.wait_js("window.__stickyAdmin.refreshes > 0", what="a refresh after the reload")
        self.assertEqual({n: self.dom_server(n)[1] for n in ("s1", "s2", "s3")}, pins_before)
        self.assertEqual(b.console_errors(), [])


if __name__ == "__main__":
    unittest.main()
