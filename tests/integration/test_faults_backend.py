"""An application server killed (SIGKILL) under steady load from a returning set of clients
(issue 12): no request fails (HAProxy redispatches, the shipped `retry-on` covers the one in
flight), every client of the dead server moves to a live one, and nobody else's pin changes
(counted).
Figures: tests/bench/faults/fault_suite.py."""
import sys
import unittest

import fault_scenarios as fs


class BackendKilledUnderLoad(unittest.TestCase):
    def test_its_clients_move_and_nobody_elses_pin_changes(self):
        r = fs.backend_kill(pre=3.0, post=4.0)
        sys.stderr.write(f"\nFAULT {r['fault']}: {r}\n")
        self.assertTrue(r["agent_alive"])
        self.assertEqual(r["failed"], 0, r["failures"])
        self.assertIsNotNone(r["marked_down_s"], "HAProxy never marked the server DOWN")
        self.assertGreater(r["clients"], 60)
        self.assertGreater(r["on_victim"], 5)
        self.assertEqual(r["victims_not_moved"], [], "clients of the dead server still sent to it")
        self.assertNotIn("s1", r["victims_final"])
        self.assertEqual(r["others_changed"], {}, "pins of clients on live servers changed")
        self.assertEqual(r["slow_after_down"], 0, "requests still sent to the dead server after it was DOWN")


if __name__ == "__main__":
    unittest.main()
