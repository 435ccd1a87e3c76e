"""The token-renewer's /healthz endpoint (HEALTH_ADDR) and its idleness
between renewals."""

import signal
import socket
import time
import unittest

from harness import wait_for
from renewer_base import (LOGIN, RENEW, RenewerTest, context_switches,
                          free_port, get)


class RenewerHealthTest(RenewerTest):
    def start_with_health(self, **env):
        port = free_port()
        p = self.start(HEALTH_ADDR="127.0.0.1:%d" % port, **env)
        url = "http://127.0.0.1:%d" % port
        self.assertTrue(wait_for(lambda: get(url + "/healthz")[0]
                                 is not None, timeout=5),
                        "health endpoint not listening")
        return p, url

    def test_ok_while_renewing(self):
        self.login()
        p, url = self.start_with_health()
        self.assertTrue(wait_for(lambda: get(url + "/healthz")[0] == 200))
        self.assertEqual(get(url + "/healthz"), (200, "ok\n"))
        self.assertEqual(get(url + "/healthz", "HEAD")[0], 200)
        self.assertEqual(get(url + "/metrics")[0], 404)
        self.assertEqual(get(url + "/healthz", "POST")[0], 405)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertNoLog(r, r"^health endpoint")

    def test_ipv6_literal_and_every_address(self):
        try:
            with socket.socket(socket.AF_INET6) as s:
                s.bind(("::1", 0))
        except OSError:
            self.skipTest("no IPv6 loopback on this machine")
        self.login()
        port = free_port()
        p = self.start(HEALTH_ADDR="[::1]:%d" % port)
        self.assertTrue(wait_for(lambda: get(
            "http://[::1]:%d/healthz" % port)[0] == 200))
        self.assertIsNone(get("http://127.0.0.1:%d/healthz" % port)[0])
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        port = free_port()
        p = self.start(HEALTH_ADDR=":%d" % port)
        self.assertTrue(wait_for(lambda: get(
            "http://127.0.0.1:%d/healthz" % port)[0] == 200))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)

    def test_unhealthy_once_max_ttl_ends_the_token(self):
        self.short_env(ttl=3, max_ttl=8)
        self.login()
        p, url = self.start_with_health()
        self.assertTrue(wait_for(lambda: get(url + "/healthz")[0] == 200))
        answers = []
        self.assertTrue(wait_for(lambda: answers.append(
            get(url + "/healthz")) or answers[-1][0] == 503, timeout=10))
        r = self.finish(p, timeout=15)
        self.assertEqual(r.code, 1, r)
        self.assertRegex(answers[-1][1], r"^unhealthy: token reaches its "
                                         r"max TTL and VAULT_REAUTH is off")
        self.assertLog(r, r"^token expired$")

    def test_unhealthy_without_token_until_login_succeeds(self):
        env = self.short_env(ttl=60)
        env.vault.inject(LOGIN, status=503,
                         body={"errors": ["Vault is sealed"]}, count=1)
        p, url = self.start_with_health(VAULT_REAUTH="true")
        status, body = get(url + "/healthz")
        self.assertEqual(status, 503)
        self.assertRegex(body, r"^unhealthy: (starting|no valid token)")
        self.assertTrue(wait_for(lambda: get(url + "/healthz")[0] == 200,
                                 timeout=10))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(env.vault.count(None, LOGIN), 2)

    def test_malformed_addresses_refused(self):
        self.login()
        for addr, why in (("8080", "not host:port"),
                          ("127.0.0.1:99999", "port must be"),
                          ("127.0.0.1:http", "port must be"),
                          ("no.such.host.invalid:8080", "resolve")):
            r = self.finish(self.start(HEALTH_ADDR=addr))
            self.assertEqual(r.code, 1, r)
            self.assertLog(r, r"^invalid configuration: HEALTH_ADDR: "
                              r".*" + why)
        self.assertEqual(self.env.vault.count(None, RENEW), 0)

    def test_address_in_use_refused(self):
        self.login()
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            s.listen()
            addr = "127.0.0.1:%d" % s.getsockname()[1]
            r = self.finish(self.start(HEALTH_ADDR=addr))
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"HEALTH_ADDR: cannot serve on")


class RenewerIdleTest(RenewerTest):
    def test_idle_between_renewals(self):
        # A 60 s token is next renewed after about 42 s; in between, the
        # process (health thread included) must sleep in the kernel.
        self.short_env(ttl=60)
        self.login()
        port = free_port()
        p = self.start(HEALTH_ADDR="127.0.0.1:%d" % port)
        self.wait_requests(RENEW, 1)
        self.assertTrue(wait_for(lambda: get(
            "http://127.0.0.1:%d/healthz" % port)[0] == 200))
        time.sleep(0.5)
        before = context_switches(p.pid)
        time.sleep(3)
        after = context_switches(p.pid)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertGreater(before, 0, "could not read /proc")
        self.assertLessEqual(after - before, 5,
                             "%d context switches in 3 s of idleness"
                             % (after - before))
        self.assertEqual(self.env.vault.count(None, RENEW), 1)


if __name__ == "__main__":
    unittest.main()
