"""Redis faults under steady load (issue 12): kill -9 then a restart, and `DEBUG SLEEP 2` (alive,
answering nothing). Half the clients are new on every request (each a Redis lookup bounded by the
20 ms lookup deadline), half return. No request may fail, decisions keep flowing while Redis is
away (counted as degraded: lookups timed out or answered at once as unavailable), and the writes
queued meanwhile reach Redis afterwards. Figures: tests/bench/faults/fault_suite.py."""
import unittest

import fault_scenarios as fs


class RedisFaultsUnderLoad(unittest.TestCase):
    def check(self, r):
        fs.check_served(self, r)
        self.assertGreater(r["decided_during"], 50, "decisions stopped while Redis was away")
        self.assertGreater(r["degraded"], 0, "lookups skipped or timed out were not counted")
        self.assertIsNotNone(r["recovered_s"], "the agent did not reconnect and empty its queue")
        self.assertEqual(r["queue_depth_end"], 0)
        self.assertEqual(r["redis"]["dropped"], 0)

    def test_kill9_and_restart(self):
        r = fs.redis_fault("kill", pre=2.0, post=3.0, down=2.0)
        self.check(r)
        self.assertGreater(r["redis"]["lookup_unavailable"], 0, "lookups while Redis was down were not counted")
        self.assertGreater(r["redis"]["queued"], 0)
        self.assertGreater(r["redis"]["flushed"], 0, "nothing queued during the outage was written afterwards")
        self.assertGreater(r["keys_in_redis_end"], 0)

    def test_debug_sleep_2(self):
        r = fs.redis_fault("sleep", pre=2.0, post=3.0, down=2.0)
        self.check(r)
        self.assertGreater(r["redis"]["lookup_timeouts"] + r["redis"]["lookup_unavailable"], 0)


if __name__ == "__main__":
    unittest.main()
