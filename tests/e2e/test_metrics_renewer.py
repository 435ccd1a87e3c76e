"""The token-renewer's /metrics (METRICS_ADDR), parsed strictly and
checked against the requests the Vault double received."""

import signal

from harness import wait_for
from renewer_base import RENEW, RenewerTest
from test_metrics import P, parse, select
from test_sync_sidecar import free_port, get


class RenewerMetricsTest(RenewerTest):
    def start_with_metrics(self, **env):
        port = free_port()
        self.url = "http://127.0.0.1:%d/metrics" % port
        self.env.vault.reset_counters()
        p = self.start(METRICS_ADDR="127.0.0.1:%d" % port, **env)
        self.assertTrue(wait_for(lambda: get(self.url)[0] is not None,
                                 timeout=5), "metrics not served")
        return p

    def scrape(self):
        status, body = get(self.url)
        self.assertEqual(status, 200, body)
        return parse(body)

    def test_renewals_counted(self):
        # A 60 s lease: renewed at once, next renewal 40 s later, so the
        # counts are still when scraped.
        self.short_env(ttl=60)
        self.login()
        self.env.vault.inject(RENEW, status=503,
                              body={"errors": ["Vault is sealed"]}, count=1)
        p = self.start_with_metrics()
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            "PUT", RENEW) >= 2, timeout=10))
        self.assertTrue(wait_for(lambda: select(
            self.scrape()[2], P + "renewals_total") == 1, timeout=5))
        types, helps, m = self.scrape()
        self.assertEqual(types[P + "renewals_total"], "counter")
        self.assertNotIn(P + "sync_cycles_total", types)
        self.assertEqual(select(m, P + "renewals_failed_total"), 1)
        self.assertEqual(select(m, P + "requests_total", server="vault"),
                         self.env.vault.count())
        self.assertEqual(select(m, P + "requests_total", server="vault",
                                method="PUT", code="503"), 1)
        self.assertEqual(select(m, P + "requests_total", server="vault",
                                method="PUT", code="200"), 1)
        self.assertEqual(select(m, P + "requests_total",
                                server="kubernetes"), 0)
        ttl = select(m, P + "token_ttl_seconds")
        self.assertTrue(50 <= ttl <= 60, ttl)
        self.assertGreater(select(m, P + "last_renewal_timestamp_seconds"),
                           1.7e9)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)

    def test_beside_healthz(self):
        self.login()
        port = free_port()
        addr = "127.0.0.1:%d" % port
        p = self.start(METRICS_ADDR=addr, HEALTH_ADDR=addr)
        url = "http://%s" % addr
        self.assertTrue(wait_for(lambda: get(url + "/healthz")[0] == 200,
                                 timeout=10))
        status, body = get(url + "/metrics")
        self.assertEqual(status, 200)
        parse(body)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)

    def test_malformed_address_refused(self):
        self.login()
        r = self.finish(self.start(METRICS_ADDR="9090"))
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^invalid configuration: METRICS_ADDR: "
                          r"\"9090\" is not host:port$")
        self.assertEqual(self.env.vault.count(None, RENEW), 0)
