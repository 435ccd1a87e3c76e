"""The token-renewer against the doubles, with TTLs of a few seconds."""

import os
import signal
import stat
import time

from harness import E2ETest, Env, Result, wait_for


class RenewerTest(E2ETest):
    def setUp(self):
        super().setUp()
        self.procs = []

    def start(self, **env):
        p = self.env.spawn("token-renewer", **env)
        self.procs.append(p)
        self.addCleanup(self.kill, p)
        return p

    @staticmethod
    def kill(p):
        if p.poll() is None:
            p.kill()
            p.wait()

    def finish(self, p, sig=None, timeout=20):
        if sig is not None:
            p.send_signal(sig)
        out, err = p.communicate(timeout=timeout)
        self.env.check_hygiene(out + err)
        return Result(p.returncode, out, err)

    def short_env(self, ttl=3, max_ttl=0):
        env = Env(role_ttl=ttl, role_max_ttl=max_ttl)
        self.addCleanup(env.close)
        self.env = env
        return env

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
        self.assertTrue(wait_for(lambda: self.env.vault.count(
            None, r"renew-self") >= 1))
        r = self.finish(p, signal.SIGTERM)
        self.assertEqual(r.code, 0, r)
        self.assertLog(r, r"^logged in to vault again")
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


if __name__ == "__main__":
    import unittest
    unittest.main()
