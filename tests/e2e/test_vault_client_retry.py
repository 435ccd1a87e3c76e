"""The Vault client's retries, backoff, Retry-After, timeouts, rate limit,
redirects and address forms, measured from the Vault double's request
log (api-reference.md C3 and C4)."""

import time

import harness
from doubles.vault_double import VaultDouble
from vault_client_base import ClientTest

LOGIN = r"^/v1/auth/kubernetes/login$"
SLACK = 0.35  # scheduling and TLS set-up on a loaded machine


class RetryTest(ClientTest):
    def login(self, **env):
        env.setdefault("VAULT_FORCE_LOGIN", "true")
        return self.env.run("authenticator", **env)

    def fail_login(self, status, count=1, headers=None, errors=("boom",)):
        self.env.vault.inject(LOGIN, status=status, count=count,
                              headers=headers,
                              body={"errors": list(errors)})

    def gaps(self):
        t = [r["time"] for r in self.logins()]
        return [b - a for a, b in zip(t, t[1:])]

    def test_retried_statuses(self):
        for status in (500, 502, 503, 429, 412):
            with self.subTest(status=status):
                self.env.vault.reset_counters()
                self.fail_login(status)
                r = self.login(VAULT_MAX_RETRIES="1")
                self.assertEqual(r.code, 0, r)
                self.assertEqual(len(self.logins()), 2)

    def test_statuses_not_retried(self):
        for status in (501, 400, 403, 404, 405):
            with self.subTest(status=status):
                self.env.vault.reset_counters()
                self.fail_login(status, errors=("first", "second"))
                r = self.login(VAULT_MAX_RETRIES="2")
                self.assertEqual(r.code, 1, r)
                self.assertEqual(len(self.logins()), 1)
                self.assertLog(r, r"PUT https://127\.0\.0\.1:%d/v1/auth/"
                                  r"kubernetes/login: %d: first; second$"
                               % (self.env.vault.port, status))
                self.env.vault.clear_faults()

    def test_default_two_retries_with_linear_jitter_backoff(self):
        self.fail_login(500, count=None)
        r = self.login(VAULT_MAX_RETRIES=None)
        self.assertEqual(r.code, 1, r)
        self.assertEqual(len(self.logins()), 3)
        g = self.gaps()
        self.assertTrue(1.0 <= g[0] <= 1.5 + SLACK, g)
        self.assertTrue(2.0 <= g[1] <= 3.0 + SLACK, g)
        self.assertLog(r, r"/v1/auth/kubernetes/login: 500: boom$")

    def test_max_retries_counts(self):
        self.fail_login(503, count=None)
        r = self.login(VAULT_MAX_RETRIES="0")
        self.assertEqual(r.code, 1, r)
        self.assertEqual(len(self.logins()), 1)
        self.env.vault.reset_counters()
        r = self.login(VAULT_MAX_RETRIES="1")
        self.assertEqual(len(self.logins()), 2)

    def test_max_retries_malformed(self):
        for bad in ("-1", "two", "4294967296"):
            r = self.login(VAULT_MAX_RETRIES=bad)
            self.assertEqual(r.code, 1, r)
            self.assertLog(r, r"VAULT_MAX_RETRIES")
        self.assertEqual(self.reqs(), [])

    def test_retry_after_seconds_on_429(self):
        self.fail_login(429, headers={"Retry-After": "2"})
        r = self.login(VAULT_MAX_RETRIES="1")
        self.assertEqual(r.code, 0, r)
        g = self.gaps()
        self.assertTrue(2.0 <= g[0] <= 2.0 + SLACK, g)

    def test_retry_after_http_date_on_503(self):
        when = time.strftime("%a, %d %b %Y %H:%M:%S GMT",
                             time.gmtime(time.time() + 3))
        self.fail_login(503, headers={"Retry-After": when})
        r = self.login(VAULT_MAX_RETRIES="1")
        self.assertEqual(r.code, 0, r)
        g = self.gaps()
        self.assertTrue(1.5 <= g[0] <= 3.0 + SLACK, g)

    def test_retry_after_ignored_on_500(self):
        self.fail_login(500, headers={"Retry-After": "5"})
        r = self.login(VAULT_MAX_RETRIES="1")
        self.assertEqual(r.code, 0, r)
        self.assertTrue(self.gaps()[0] <= 1.5 + SLACK, self.gaps())

    def test_network_error_retried(self):
        self.env.vault.inject(LOGIN, action="close")
        r = self.login(VAULT_MAX_RETRIES="1")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(len(self.logins()), 2)

    def test_client_timeout_with_delayed_answer(self):
        self.env.vault.inject(LOGIN, delay=4, count=None)
        t0 = time.monotonic()
        r = self.login(VAULT_CLIENT_TIMEOUT="1500ms", VAULT_MAX_RETRIES="3")
        took = time.monotonic() - t0
        self.assertEqual(r.code, 1, r)
        self.assertLess(took, 1.5 + 1.0, r)
        self.assertEqual(len(self.logins()), 1)
        self.assertLog(r, r"/v1/auth/kubernetes/login: .*timed out")

    def test_client_timeout_bounds_retries_and_backoff(self):
        self.fail_login(500, count=None)
        t0 = time.monotonic()
        r = self.login(VAULT_CLIENT_TIMEOUT="2", VAULT_MAX_RETRIES="10")
        took = time.monotonic() - t0
        self.assertEqual(r.code, 1, r)
        self.assertLess(took, 2.0 + 1.0, r)
        self.assertLessEqual(len(self.logins()), 2)

    def test_client_timeout_forms(self):
        for ok in ("30", "30s", "1m30s", "1d", "0", "-5"):
            with self.subTest(value=ok):
                r = self.login(VAULT_CLIENT_TIMEOUT=ok,
                               VAULT_FORCE_LOGIN="true")
                self.assertEqual(r.code, 0, r)
        r = self.login(VAULT_CLIENT_TIMEOUT="soon")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_CLIENT_TIMEOUT")


class RateLimitTest(ClientTest):
    def run_sync(self, **env):
        for i in range(6):
            self.env.put("secret/rl/s%d" % i, {"k": "value-%06d" % i})
        self.assertEqual(self.env.run("authenticator").code, 0)
        self.env.vault.reset_counters()
        return self.env.run("synchronizer", VAULT_SECRETS="secret/rl/",
                            **env)

    def test_rate_limit_spaces_requests(self):
        r = self.run_sync(VAULT_RATE_LIMIT="4:1")
        self.assertEqual(r.code, 0, r)
        t = [q["time"] for q in self.reqs()]
        self.assertGreaterEqual(len(t), 7)
        gaps = [b - a for a, b in zip(t, t[1:])]
        # 4 per second with a burst of 1: one request each 250 ms.
        self.assertGreaterEqual(min(gaps), 0.2, gaps)
        self.assertGreaterEqual(t[-1] - t[0], 0.25 * (len(t) - 1) - 0.1)

    def test_burst_lets_requests_through(self):
        r = self.run_sync(VAULT_RATE_LIMIT="1:100")
        self.assertEqual(r.code, 0, r)
        t = [q["time"] for q in self.reqs()]
        self.assertLess(t[-1] - t[0], 0.9, t)

    def test_rate_limit_malformed(self):
        r = self.env.run("authenticator", VAULT_RATE_LIMIT="fast")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"VAULT_RATE_LIMIT was provided but incorrectly "
                          r"formatted")
        self.assertEqual(self.reqs(), [])


class RedirectTest(ClientTest):
    """A standby double answers 307 and points at the active one."""

    def standby(self, location, status=307):
        c = harness.certs()
        s = VaultDouble(tls=(c["cert"], c["key"])).start()
        self.addCleanup(s.stop)
        s.inject(LOGIN, status=status, count=None,
                 headers={"Location": location})
        return s

    def active_login_url(self):
        return self.env.vault.url + "/v1/auth/kubernetes/login"

    def test_307_followed_once_keeping_method_body_namespace(self):
        s = self.standby(self.active_login_url())
        r = self.env.run("authenticator", VAULT_ADDR=s.url,
                         VAULT_NAMESPACE="team-a/")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(s.count("PUT", LOGIN), 1)
        got = self.logins()
        self.assertEqual(len(got), 1)
        self.assertEqual(got[0]["method"], "PUT")
        self.assertEqual(got[0]["headers"]["x-vault-namespace"], "team-a/")
        self.assertEqual(got[0]["headers"]["content-type"],
                         "application/json")
        # The body came along: the active node accepted the JWT login.
        self.assertTrue(self.env.token().startswith("hvs."))

    def test_307_keeps_the_token(self):
        # Every request of a synchronizer run goes to a standby first.
        from urllib.parse import urlencode
        self.env.put("secret/k8s/app", {"k": "value-222222"})
        token = self.login()
        self.env.run("synchronizer", VAULT_SECRETS="secret/k8s/app")
        seen = [(q["path"], q["query"]) for q in self.reqs()
                if q["path"] != "/v1/auth/kubernetes/login"]
        self.assertTrue(seen)
        c = harness.certs()
        s = VaultDouble(tls=(c["cert"], c["key"])).start()
        self.addCleanup(s.stop)
        for path, query in seen:
            loc = self.env.vault.url + path
            if query:
                loc += "?" + urlencode(query)
            s.inject("^%s$" % path, status=307, count=None,
                     headers={"Location": loc})
        self.env.vault.reset_counters()
        self.env.kube.delete_secret(harness.NAMESPACE, "app")
        r = self.env.run("synchronizer", VAULT_ADDR=s.url,
                         VAULT_SECRETS="secret/k8s/app")
        self.assertEqual(r.code, 0, r)
        self.assertEqual(s.count(), len(seen))
        self.assertEqual(len(self.reqs()), len(seen))
        for q in self.reqs():
            self.assertEqual(q["headers"].get("x-vault-token"), token)
        self.assertEqual(self.env.secret_data("app"), {"k": b"value-222222"})

    def test_301_and_302_followed(self):
        for status in (301, 302):
            with self.subTest(status=status):
                self.env.vault.reset_counters()
                s = self.standby(self.active_login_url(), status=status)
                r = self.env.run("authenticator", VAULT_ADDR=s.url,
                                 VAULT_FORCE_LOGIN="true")
                self.assertEqual(r.code, 0, r)
                self.assertEqual(self.logins()[0]["method"], "PUT")

    def test_308_not_followed(self):
        s = self.standby(self.active_login_url(), status=308)
        r = self.env.run("authenticator", VAULT_ADDR=s.url)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r": 308: redirect to .* not followed: only 301, "
                          r"302 and 307")
        self.assertEqual(self.logins(), [])

    def test_second_redirect_refused(self):
        s2 = self.standby(self.active_login_url())
        s1 = self.standby(s2.url + "/v1/auth/kubernetes/login")
        r = self.env.run("authenticator", VAULT_ADDR=s1.url)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"only one redirect is followed")
        self.assertEqual(s2.count("PUT", LOGIN), 1)
        self.assertEqual(self.logins(), [])

    def test_https_to_http_refused(self):
        plain = VaultDouble().start()
        self.addCleanup(plain.stop)
        s = self.standby(plain.url + "/v1/auth/kubernetes/login")
        r = self.env.run("authenticator", VAULT_ADDR=s.url)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"would cause protocol downgrade")
        self.assertEqual(plain.count(), 0)

    def test_redirects_disabled(self):
        s = self.standby(self.active_login_url())
        r = self.env.run("authenticator", VAULT_ADDR=s.url,
                         VAULT_DISABLE_REDIRECTS="true")
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r": 307: redirect to .* not followed: "
                          r"VAULT_DISABLE_REDIRECTS is set")
        self.assertEqual(self.logins(), [])

    def test_relative_location(self):
        # Resolved against the URL that answered: same standby, whose
        # second answer is the real one.
        c = harness.certs()
        s = VaultDouble(tls=(c["cert"], c["key"])).start()
        self.addCleanup(s.stop)
        s.inject(LOGIN, status=307, count=1,
                 headers={"Location": "/v1/auth/kubernetes/login"})
        r = self.env.run("authenticator", VAULT_ADDR=s.url)
        self.assertEqual(s.count("PUT", LOGIN), 2)
        # The standby has no such auth mount: its 404 is the answer.
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"PUT %s/v1/auth/kubernetes/login: 404" % s.url)


class AddressTest(ClientTest):
    def test_trailing_slash(self):
        for addr in (self.env.vault.url + "/", self.env.vault.url + "//"):
            with self.subTest(addr=addr):
                self.env.vault.reset_counters()
                r = self.env.run("authenticator", VAULT_ADDR=addr,
                                 VAULT_FORCE_LOGIN="true")
                self.assertEqual(r.code, 0, r)
                self.assertEqual([q["path"] for q in self.reqs()],
                                 ["/v1/auth/kubernetes/login"])


class PrefixTest(ClientTest):
    """Vault behind a reverse proxy under /vault."""

    vault_kw = {"path_prefix": "/vault"}

    def test_path_prefix_kept_without_double_slash(self):
        for suffix in ("/vault", "/vault/", "/vault//"):
            with self.subTest(suffix=suffix):
                self.env.vault.reset_counters()
                r = self.env.run("authenticator",
                                 VAULT_ADDR=self.env.vault.url + suffix,
                                 VAULT_FORCE_LOGIN="true")
                self.assertEqual(r.code, 0, r)
                self.assertEqual([q["path"] for q in self.reqs()],
                                 ["/vault/v1/auth/kubernetes/login"])

    def test_prefix_through_synchronizer_and_lists(self):
        self.env.put("secret/app/one", {"k": "value-111111"})
        addr = self.env.vault.url + "/vault/"
        self.assertEqual(self.env.run("authenticator",
                                      VAULT_ADDR=addr).code, 0)
        r = self.env.run("synchronizer", VAULT_ADDR=addr,
                         VAULT_SECRETS="secret/app/")
        self.assertEqual(r.code, 0, r)
        paths = [q["path"] for q in self.reqs()]
        self.assertTrue(all(p.startswith("/vault/v1/") for p in paths),
                        paths)
        self.assertFalse(any("//" in p for p in paths), paths)
        self.assertIsNotNone(self.env.secret("one"))

    def test_missing_prefix_is_404(self):
        r = self.env.run("authenticator", VAULT_ADDR=self.env.vault.url)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"/v1/auth/kubernetes/login: 404")
