"""The token-renewer against the doubles, with TTLs of a few seconds."""

import os
import signal
import stat
import time

from harness import wait_for
from renewer_base import LOGIN, RENEW, RenewerTest


class RenewerBasicsTest(RenewerTest):
    def test_renews_until_sigterm(self):
        env = self.short_env(ttl=3)
        token = self.login()
        p = self.start()
        time.sleep(5)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLogFormat(r)
        self.assertLog(r, r"^start renewer loop$")
        self.assertLog(r, r"^signal received - stop execution$")
        renewed = sum(1 for l in r.lines if l == "token renewed")
        self.assertGreaterEqual(renewed, 2, r)
        self.assertLessEqual(renewed, 5, r)
        info = env.vault.token(token)
        self.assertIsNotNone(info, "token expired although renewed")

    def test_sigint_stops(self):
        self.login()
        p = self.start()
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            None, r"renew-self") >= 1))
        r = self.finish(p, signal.SIGINT)
        self.assertEqual(r.code, 0, r)

    def test_revoke_on_exit(self):
        token = self.login()
        p = self.start(VAULT_REVOKE_ON_EXIT="true")
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            None, r"renew-self") >= 1))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertIsNone(self.env.vault.token(token))

    def test_missing_token_without_reauth_fails(self):
        p = self.start()
        r = self.finish(p)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"no vault token in .*VAULT_REAUTH")

    def test_missing_token_with_reauth_logs_in(self):
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(lambda: os.path.exists(
            self.env.token_path)))
        self.wait_requests(LOGIN, 1)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        # The login's own lease schedules the first renewal (3600 s role).
        self.assertLog(r, r"^logged in to vault again and stored the new "
                          r"token at .*; next renewal in (2[4-9]\d\d)s$")
        self.assertEqual(self.env.vault.count(None, RENEW), 0)
        mode = stat.S_IMODE(os.stat(self.env.token_path).st_mode)
        self.assertEqual(mode, 0o640)

    def test_revoked_token_without_reauth_exits_1(self):
        token = self.login()
        self.env.vault.revoke_token(token)
        p = self.start()
        r = self.finish(p)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^token renewal failed: .*403")

    def test_revoked_token_with_reauth_logs_in_again(self):
        token = self.login()
        self.env.vault.revoke_token(token)
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(
            lambda: self.env.token().strip() != token, timeout=10))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(self.env.vault.token(self.env.token().strip()))

    def test_max_ttl_with_reauth_logs_in_before_expiry(self):
        env = self.short_env(ttl=3, max_ttl=5)
        token = self.login()
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(
            lambda: env.token().strip() != token, timeout=12))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^token reaches its max TTL in \d+s; logging in")

    def test_max_ttl_without_reauth_exits_1_at_expiry(self):
        self.short_env(ttl=2, max_ttl=4)
        self.login()
        p = self.start()
        r = self.finish(p, timeout=15)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r"^token reaches its max TTL .* VAULT_REAUTH is off")
        self.assertLog(r, r"^token expired$")

    def test_transient_failure_retried(self):
        self.login()
        self.env.vault.inject(r"renew-self", status=503,
                              body={"errors": ["Vault is sealed"]}, count=2)
        p = self.start()
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            None, r"renew-self") >= 3, timeout=15))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^token renewal failed, retrying in \d+ms: .*503")
        self.assertLog(r, r"^token renewed$")

    def test_bad_ttl_is_a_config_error(self):
        self.login()
        p = self.start(VAULT_TTL="soon")
        r = self.finish(p)
        self.assertEqual(r.code, 1, r)
        self.assertLog(r, r'VAULT_TTL: "soon" is not a duration')

    def test_ttl_bare_seconds_sent_as_increment(self):
        self.login()
        p = self.start(VAULT_TTL="120")
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            None, r"renew-self") >= 1))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)


class RenewerTimingTest(RenewerTest):
    """When renewals and logins happen, by the double's request log."""

    def test_renews_at_two_thirds_of_the_lease_with_jitter(self):
        # Lifetime watcher: sleep = 2/3 lease + 1/3 grace, grace in
        # [10%, 20%) of the lease, so each interval is 70% to 73.3% of a
        # 6 s lease (4.2 s to 4.4 s); the bounds leave room for a loaded
        # machine on both sides.
        self.short_env(ttl=6)
        self.login()
        started = time.time()
        p = self.start()
        self.wait_requests(RENEW, 3, timeout=20)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        times = self.request_times(RENEW)
        self.assertLess(times[0] - started, 2.0, "no renewal at start")
        gaps = [b - a for a, b in zip(times, times[1:])]
        for gap in gaps:
            self.assertGreater(gap, 3.6, gaps)
            self.assertLess(gap, 5.5, gaps)
        self.assertEqual(self.env.vault.count(None, LOGIN), 1)

    def test_periodic_token_renewed_past_its_period(self):
        env = self.short_env(ttl=60, period=2)
        token = self.login()
        p = self.start()
        time.sleep(6.5)
        info = env.vault.token(token)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertIsNotNone(info, "periodic token died")
        self.assertEqual(info["period"], 2)
        self.assertGreaterEqual(info["renew_count"], 3)
        self.assertEqual(env.vault.count(None, LOGIN), 1)
        self.assertNoLog(r, r"max TTL|logged in")

    def test_non_renewable_without_reauth_kept_until_expiry(self):
        env = self.short_env(ttl=4, renewable=False)
        self.login()
        started = time.time()
        p = self.start()
        r = self.finish(p, timeout=15)
        elapsed = time.time() - started
        self.assertEqual(r.code, 1, r)
        self.assertGreater(elapsed, 2.5, "exited before the token expired")
        lines = [l for l in r.lines if "not renewable" in l]
        self.assertEqual(len(lines), 1, r)
        self.assertRegex(lines[0], r"^token is not renewable and "
                                   r"VAULT_REAUTH is off; keeping it "
                                   r"until it expires in [0-4]s$")
        self.assertLog(r, r"^token expired$")
        # lookup-self told it the token cannot be renewed.
        self.assertEqual(env.vault.count(None, RENEW), 0)

    def test_non_renewable_with_reauth_logs_in_before_expiry(self):
        env = self.short_env(ttl=4, renewable=False)
        token = self.login()
        expires = env.vault.token(token)["expire_time"]
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(
            lambda: env.token() != token, timeout=10))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        logins = self.request_times(LOGIN)
        self.assertEqual(len(logins), 2, r)
        self.assertLess(logins[1], expires, "logged in after expiry")
        self.assertLog(r, r"^token is not renewable; logging in again in "
                          r"\ds, before it expires in \ds$")
        self.assertEqual(env.vault.count(None, RENEW), 0)


class RenewerStartupTest(RenewerTest):
    """No token churn: a good token in the file is kept at start-up."""

    def test_valid_token_reused_with_reauth(self):
        token = self.login()
        p = self.start(VAULT_REAUTH="true")
        self.wait_requests(RENEW, 1)
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count(None, LOGIN), 1)
        self.assertEqual(self.env.token(), token)
        self.assertEqual(self.env.vault.count(None, r"lookup-self"), 1)

    def test_restarts_mint_no_new_token(self):
        token = self.login()
        for _ in range(3):
            p = self.start(VAULT_REAUTH="true")
            self.wait_requests(RENEW, self.env.vault.count(None, RENEW) + 1)
            r = self.finish(p, signal.SIGTERM)
            self.assertEqual(r.code, 0, r)
        self.assertEqual(self.env.vault.count(None, LOGIN), 1)
        self.assertEqual(self.env.token(), token)

    def test_short_lived_non_renewable_token_replaced_at_start(self):
        # 30 s left is below the one-minute floor of login_token_fit.
        env = self.short_env(ttl=30, renewable=False)
        token = self.login()
        p = self.start(VAULT_REAUTH="true")
        self.assertTrue(wait_for(lambda: env.token() != token, timeout=5))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertEqual(env.vault.count(None, LOGIN), 2)


if __name__ == "__main__":
    import unittest
    unittest.main()
